"""intake.archive and intake.zips: atomic archive, dedup, zip safety (real temporary directories)."""

from __future__ import annotations

import zipfile

import pytest

from onec_pipeline import intake

from .helpers import CLASSIFIER, write_import


def test_archive_dir_upload_moves_atomically_and_dedups(tmp_path):
    incoming, archive = tmp_path / "in", tmp_path / "archive"
    write_import(incoming / "u1" / "import.xml")
    (incoming / "u1" / ".ready").touch()
    [upload] = intake.scan_incoming(incoming)
    result = intake.archive_upload(upload, archive)
    assert not (incoming / "u1").exists()
    assert (result.path / "import.xml").is_file() and not (result.path / ".ready").exists()
    assert intake.read_manifest(result.path).key == result.key
    assert intake.list_archived(archive) == [result.key]
    assert not [p for p in archive.iterdir() if p.name.startswith(".tmp-")]
    # the same content again is recognised as a duplicate and discarded from incoming
    write_import(incoming / "u1-again" / "import.xml")
    [again] = intake.scan_incoming(incoming)
    dup = intake.archive_upload(again, archive)
    assert dup.duplicate and dup.key == result.key and not (incoming / "u1-again").exists()
    assert intake.list_archived(archive) == [result.key]


def test_the_same_bytes_again_are_a_duplicate_without_the_gate(tmp_path, monkeypatch):
    """An archived twin (same names, sizes and sha256; keyed by its export time) passed the gate when it was
    archived: its copy is recognised by hashing alone. Other content, or a twin keyed by its arrival time
    (no export time), goes through the gate as ever."""
    incoming, archive = tmp_path / "in", tmp_path / "archive"
    write_import(incoming / "u1" / "import.xml")
    first = intake.archive_path(incoming / "u1", archive, keep_source=True)
    proven: list[str] = []
    real_check = intake.gate.check_files
    monkeypatch.setattr(intake.gate, "check_files", lambda root: proven.append(root.name) or real_check(root))
    again = intake.archive_path(incoming / "u1", archive, keep_source=True)
    assert again.duplicate and again.key == first.key and proven == []
    assert again.manifest.archived_at == first.manifest.archived_at  # the archived manifest, not a new one
    assert not [p for p in archive.iterdir() if p.name.startswith(".tmp-")]
    # one byte more: new content, proven by the gate
    (incoming / "u1" / "import.xml").write_bytes((incoming / "u1" / "import.xml").read_bytes() + b"\n")
    other = intake.archive_path(incoming / "u1", archive, keep_source=True)
    assert not other.duplicate and other.key != first.key and len(proven) == 1
    # a file without an export time: keyed by its arrival, never taken for a twin
    (incoming / "plain").mkdir()
    (incoming / "plain" / "notes.txt").write_text("no CommerceML here")
    plain = intake.archive_path(incoming / "plain", archive, keep_source=True)
    replain = intake.archive_path(incoming / "plain", archive, keep_source=True)
    assert plain.manifest.exported_at is None and len(proven) == 3 and replain.key == plain.key


def test_archive_loose_files_with_import_files(tmp_path):
    incoming, archive = tmp_path / "in", tmp_path / "archive"
    write_import(incoming / "import.xml")
    (incoming / "import_files").mkdir()
    (incoming / "import_files" / "p.jpg").write_bytes(b"jpg")
    (incoming / ".ready").touch()
    [upload] = intake.scan_incoming(incoming)
    result = intake.archive_upload(upload, archive)
    assert sorted(f.name for f in result.manifest.files) == ["import.xml", "import_files/p.jpg"]
    assert list(incoming.iterdir()) == []


def test_archive_path_keep_source_copies(tmp_path):
    src = tmp_path / "src"
    write_import(src / "import.xml")
    result = intake.archive_path(src, tmp_path / "archive", keep_source=True)
    assert (src / "import.xml").is_file() and (result.path / "import.xml").is_file()


def test_zip_upload_extracted_and_kept(tmp_path):
    incoming, archive = tmp_path / "in", tmp_path / "archive"
    incoming.mkdir()
    with zipfile.ZipFile(incoming / "pkg.zip", "w") as zf:
        zf.writestr("goods/1/import.xml", CLASSIFIER.format(when="2026-11-21T08:00:00", name="z"))
    [upload] = intake.scan_incoming(incoming)
    result = intake.archive_upload(upload, archive)
    assert result.key.startswith("20261121T080000-")
    assert (result.path / "goods" / "1" / "import.xml").is_file()
    assert (archive / f"{result.key}.zip").is_file() and not (incoming / "pkg.zip").exists()


@pytest.mark.parametrize("member", ["../evil.xml", "/etc/evil.xml", "a/../../evil.xml", "C:/evil.xml"])
def test_hostile_zip_refused(tmp_path, member):
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(member, "<a/>")
    with pytest.raises(intake.IntakeError):
        intake.archive_zip(z, tmp_path / "archive")
    assert not (tmp_path / "evil.xml").exists()
    assert intake.list_archived(tmp_path / "archive") == []
    assert z.exists()  # a refused upload stays where it was


def test_zip_bomb_refused(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(intake.IntakeError, match="ratio"):
        intake.archive_zip(z, tmp_path / "archive")


def test_the_gate_names_the_first_refused_file_in_name_order(tmp_path):
    """Files are proven side by side; a refusal still names the first refused file by name, whichever
    thread finished first (the big good file, the small broken ones)."""
    root = tmp_path / "up"
    write_import(root / "a_import.xml")
    body = (root / "a_import.xml").read_text(encoding="utf-8")
    (root / "b_offers.xml").write_text(body[: len(body) // 2], encoding="utf-8")  # truncated
    (root / "c_prices.xml").write_text(body.replace("</Каталог>", "</Катало>"), encoding="utf-8")
    (root / "z_big.xml").write_text(body.replace("<Товары>", "<Товары>" + " " * 5_000_000), encoding="utf-8")
    with pytest.raises(intake.IntakeError) as refused:
        intake.gate.check_files(root)
    assert refused.value.file == "b_offers.xml" and "incomplete file" in str(refused.value)
    (root / "b_offers.xml").unlink()
    with pytest.raises(intake.IntakeError) as refused:
        intake.gate.check_files(root)
    assert refused.value.file == "c_prices.xml" and "malformed XML" in str(refused.value)
    (root / "c_prices.xml").unlink()
    assert intake.gate.check_files(root) == {
        "a_import.xml": "КоммерческаяИнформация",
        "z_big.xml": "КоммерческаяИнформация",
    }
