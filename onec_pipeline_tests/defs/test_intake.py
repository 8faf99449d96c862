"""intake: completeness, keys, atomic archive, zip safety, retention (real temporary directories)."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from onec_pipeline import intake

CLASSIFIER = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="{when}">
  <Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование>
    <Группы><Группа><Ид>g1</Ид><Наименование>{name}</Наименование></Группа></Группы>
  </Классификатор>
  <Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора>
    <Наименование>Каталог</Наименование>
    <Товары><Товар><Ид>p1</Ид><Наименование>{name}</Наименование><Группы><Ид>g1</Ид></Группы></Товар></Товары>
  </Каталог>
</КоммерческаяИнформация>
"""


def write_import(path: Path, when: str = "2026-11-20T10:15:00", name: str = "Товар") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CLASSIFIER.format(when=when, name=name), encoding="utf-8")
    return path


def age(path: Path, seconds: float) -> None:
    """Set every file's mtime ``seconds`` into the past."""
    t = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (t, t))


# ------------------------------------------------------------------------------------ tail check


def test_xml_complete_only_with_closing_root_tag(tmp_path):
    full = write_import(tmp_path / "import.xml")
    assert intake.xml_is_complete(full)
    text = full.read_bytes()
    half = tmp_path / "half.xml"
    half.write_bytes(text[: len(text) // 2])
    assert not intake.xml_is_complete(half)
    cut = tmp_path / "cut.xml"
    cut.write_bytes(text.rstrip()[:-3])  # "</КоммерческаяИнформа"
    assert not intake.xml_is_complete(cut)


def test_xml_complete_windows_1251_and_bom(tmp_path):
    body = (
        '<?xml version="1.0" encoding="windows-1251"?>\n<КоммерческаяИнформация>\n</КоммерческаяИнформация>\n'
    )
    cp = tmp_path / "cp.xml"
    cp.write_bytes(body.encode("cp1251"))
    assert intake.xml_is_complete(cp)
    bom = tmp_path / "bom.xml"
    bom.write_bytes(b"\xef\xbb\xbf" + body.replace("windows-1251", "UTF-8").encode())
    assert intake.xml_is_complete(bom)
    other = tmp_path / "other.xml"
    other.write_bytes(b'<?xml version="1.0"?><a><b></b>')  # ends with a tag, not the root's
    assert not intake.xml_is_complete(other)


def test_tail_check_reads_bounded_bytes_of_large_file(tmp_path):
    big = tmp_path / "big.xml"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0'?>\n<Root>\n")
        fh.write("<x>" + "y" * 5_000_000 + "</x>\n")
        fh.write("</Root>\n")
    assert intake.xml_is_complete(big)


# ------------------------------------------------------------------------------ scanning layout


def test_scan_layout_subdirs_loose_files_and_zips(tmp_path):
    incoming = tmp_path / "in"
    write_import(incoming / "a" / "import.xml")
    write_import(incoming / "b" / "goods" / "1" / "import.xml")
    write_import(incoming / "import.xml")
    (incoming / "import_files" / "ab").mkdir(parents=True)
    (incoming / "import_files" / "ab" / "pic.jpg").write_bytes(b"jpg")
    with zipfile.ZipFile(incoming / "pkg.zip", "w") as zf:
        zf.writestr("import.xml", CLASSIFIER.format(when="2026-11-20T10:15:00", name="z"))
    (incoming / ".hidden").mkdir()
    (incoming / ".hidden" / "x.xml").write_text("<a/>")
    uploads = {u.name: u for u in intake.scan_incoming(incoming)}
    assert set(uploads) == {"a", "b", intake.LOOSE_UPLOAD_NAME, "pkg.zip"}
    assert uploads["b"].kind == "dir" and [f.rel for f in uploads["b"].files] == ["goods/1/import.xml"]
    assert uploads["."].kind == "loose"
    assert sorted(f.rel for f in uploads["."].files) == ["import.xml", "import_files/ab/pic.jpg"]
    assert uploads["pkg.zip"].kind == "zip"


# ---------------------------------------------------------------------------------- completeness


def test_settling_requires_age_and_a_stable_second_look(tmp_path):
    up_dir = tmp_path / "in" / "u1"
    write_import(up_dir / "import.xml")
    [upload] = intake.scan_incoming(tmp_path / "in")
    now = upload.newest_mtime + 5
    first = intake.check_complete(upload, now=now, settle_seconds=30, previous_fingerprint=None)
    assert not first.complete and "settling" in first.reason
    later = upload.newest_mtime + 31
    unseen = intake.check_complete(upload, now=later, settle_seconds=30, previous_fingerprint=None)
    assert not unseen.complete  # never seen before: could be a copy preserving old mtimes
    seen = intake.check_complete(
        upload, now=later, settle_seconds=30, previous_fingerprint=upload.fingerprint
    )
    assert seen.complete


def test_half_written_xml_is_not_complete_even_when_old(tmp_path):
    up_dir = tmp_path / "in" / "u1"
    f = write_import(up_dir / "import.xml")
    f.write_bytes(f.read_bytes()[:-40])
    [upload] = intake.scan_incoming(tmp_path / "in")
    verdict = intake.check_complete(
        upload, now=upload.newest_mtime + 1000, settle_seconds=0, previous_fingerprint=None
    )
    assert not verdict.complete and "closing root tag" in verdict.reason


def test_ready_marker_completes_immediately(tmp_path):
    up_dir = tmp_path / "in" / "u1"
    write_import(up_dir / "import.xml")
    (up_dir / ".ready").touch()
    [upload] = intake.scan_incoming(tmp_path / "in")
    assert upload.marker is not None
    verdict = intake.check_complete(
        upload, now=upload.newest_mtime, settle_seconds=3600, previous_fingerprint=None
    )
    assert verdict.complete and verdict.reason == "marker"


def test_fingerprint_changes_with_size_or_mtime(tmp_path):
    up_dir = tmp_path / "in" / "u1"
    f = write_import(up_dir / "import.xml")
    [a] = intake.scan_incoming(tmp_path / "in")
    os.utime(f, (time.time() + 5, time.time() + 5))
    [b] = intake.scan_incoming(tmp_path / "in")
    with f.open("a") as fh:
        fh.write(" ")
    [c] = intake.scan_incoming(tmp_path / "in")
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3


# ---------------------------------------------------------------------------------- keys, archive


def test_key_from_export_time_and_content(tmp_path):
    d1 = tmp_path / "d1"
    write_import(d1 / "import.xml", when="2026-11-20T10:15:00", name="A")
    key1, manifest = intake.compute_key(d1)
    assert key1.startswith("20261120T101500-") and intake.KEY_RE.match(key1)
    assert manifest.exported_at == "2026-11-20T10:15:00"
    assert manifest.full_entities  # СодержитТолькоИзменения="false" on the catalog
    [mf] = manifest.files
    assert mf.name == "import.xml" and mf.sha256 == intake.sha256_file(d1 / "import.xml")
    d2 = tmp_path / "d2"
    write_import(d2 / "import.xml", when="2026-11-20T10:15:00", name="B")  # same name, new content
    key2, _ = intake.compute_key(d2)
    assert key2 != key1 and key2[:15] == key1[:15]
    d3 = tmp_path / "d3"
    shutil.copytree(d1, d3)
    assert intake.compute_key(d3)[0] == key1  # same content, same key


def test_key_falls_back_to_newest_mtime(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "notes.txt").write_text("not xml")
    when = datetime(2025, 1, 2, 3, 4, 5)
    os.utime(d / "notes.txt", (when.timestamp(), when.timestamp()))
    key, manifest = intake.compute_key(d)
    assert key.startswith("20250102T030405-") and manifest.exported_at is None


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


# ------------------------------------------------------------------------------------- retention


def _key(dt: datetime, h: str = "0badc0de") -> str:
    return f"{dt:%Y%m%dT%H%M%S}-{h}"


def test_retention_never_removes_newest_full_export():
    now = datetime(2026, 11, 22, 12, 0)
    old_full = _key(now - timedelta(days=200), "aaaaaaaa")
    older_full = _key(now - timedelta(days=300), "bbbbbbbb")
    old_delta = _key(now - timedelta(days=100), "cccccccc")
    recent = _key(now - timedelta(days=5), "dddddddd")
    items = [
        intake.RetentionItem(older_full, True),
        intake.RetentionItem(old_full, True),
        intake.RetentionItem(old_delta, False),
        intake.RetentionItem(recent, False),
        intake.RetentionItem("not-a-key", False),
    ]
    assert intake.select_for_retention(items, now=now, retention_days=90) == [older_full, old_delta]
    # a newer full export inside the window releases the old one
    newer_full = _key(now - timedelta(days=1), "eeeeeeee")
    items.append(intake.RetentionItem(newer_full, True))
    assert intake.select_for_retention(items, now=now, retention_days=90) == [older_full, old_full, old_delta]


def test_remove_archived_deletes_dir_and_zip(tmp_path):
    key = _key(datetime(2020, 1, 1))
    (tmp_path / key).mkdir()
    (tmp_path / key / "import.xml").write_text("<a/>")
    (tmp_path / f"{key}.zip").write_bytes(b"PK")
    intake.remove_archived(tmp_path, key)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        intake.remove_archived(tmp_path, "../etc")
