"""Quarantine moves an upload whole, with its reason, and finds it again by its incoming name."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from onec_pipeline import intake
from onec_pipeline.intake.quarantine import RECORD_NAME

WHEN = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def _only(incoming):
    (upload,) = intake.scan_incoming(incoming)
    return upload


def test_a_directory_upload_moves_whole_with_its_record(tmp_path):
    incoming, quarantine = tmp_path / "in", tmp_path / "q"
    (incoming / "pkg" / "goods").mkdir(parents=True)
    (incoming / "pkg" / "goods" / "a.xml").write_bytes(b"<x")
    (incoming / "pkg" / ".ready").write_text("")
    record = intake.quarantine_upload(
        _only(incoming), quarantine, "goods/a.xml: truncated", file="goods/a.xml", line=3, now=WHEN
    )
    assert not (incoming / "pkg").exists()
    moved = quarantine / "20261201T100000-pkg"
    assert record.path == str(moved)
    assert (moved / "goods" / "a.xml").read_bytes() == b"<x"
    assert (moved / ".ready").exists()
    saved = json.loads((moved / RECORD_NAME).read_text("utf-8"))
    assert (
        saved["reason"] == "goods/a.xml: truncated" and saved["file"] == "goods/a.xml" and saved["line"] == 3
    )
    assert intake.find_quarantined(quarantine, "pkg") == record
    assert intake.find_quarantined(quarantine, "other") is None


def test_a_zip_takes_its_marker_and_loose_files_keep_their_subfolders(tmp_path):
    incoming, quarantine = tmp_path / "in", tmp_path / "q"
    (incoming / "import_files" / "ab").mkdir(parents=True)
    (incoming / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    (incoming / "bad.zip.ready").write_text("")
    (incoming / "import.xml").write_bytes(b"<a/>")
    (incoming / "import_files" / "ab" / "p.jpg").write_bytes(b"\xff\xd8")
    uploads = {u.name: u for u in intake.scan_incoming(incoming)}
    zipped = intake.quarantine_upload(uploads["bad.zip"], quarantine, "encrypted zip", now=WHEN)
    loose = intake.quarantine_upload(uploads["."], quarantine, "no", now=WHEN)
    assert sorted(os.listdir(zipped.path)) == [RECORD_NAME, "bad.zip", "bad.zip.ready"]
    assert (quarantine / "20261201T100000-loose" / "import_files" / "ab" / "p.jpg").exists()
    assert loose.name == "." and not (incoming / "import.xml").exists()
    assert not (incoming / "bad.zip").exists() and not (incoming / "bad.zip.ready").exists()


def test_names_that_are_not_utf8_are_recorded_printably_and_twice_is_two_records(tmp_path):
    incoming, quarantine = tmp_path / "in", tmp_path / "q"
    raw = os.fsdecode(b"caf\xe9-upload")  # latin-1 bytes: not valid UTF-8
    (incoming / raw).mkdir(parents=True)
    (incoming / raw / "a.xml").write_bytes(b"<a/>")
    first = intake.quarantine_upload(_only(incoming), quarantine, "undecodable name", now=WHEN)
    (incoming / raw).mkdir()
    (incoming / raw / "a.xml").write_bytes(b"<b/>")
    second = intake.quarantine_upload(_only(incoming), quarantine, "again", now=WHEN)
    assert first.name == "caf\ufffd-upload"
    assert first.path != second.path
    assert intake.find_quarantined(quarantine, raw).reason == "again"
    json.dumps(first.__dict__, ensure_ascii=True)  # the record is plain text
