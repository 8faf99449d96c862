"""intake.scan: the incoming directory's layout and completeness (real temporary directories)."""

from __future__ import annotations

import os
import time
import zipfile

from onec_pipeline import intake

from .helpers import CLASSIFIER, write_import

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
