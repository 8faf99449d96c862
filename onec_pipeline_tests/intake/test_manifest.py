"""intake.manifest: upload keys and what the manifest keeps."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime

import pytest

from onec_pipeline import intake
from onec_pipeline.commerceml import CommerceMLError, Entity, discover_upload

from .helpers import write_import


def test_key_from_export_time_and_content(tmp_path):
    d1 = tmp_path / "d1"
    write_import(d1 / "import.xml", when="2026-11-20T10:15:00", name="A")
    key1, manifest = intake.compute_key(d1)
    assert key1.startswith("20261120T101500-") and intake.KEY_RE.match(key1)
    assert manifest.exported_at == "2026-11-20T10:15:00"
    assert manifest.full_kinds  # СодержитТолькоИзменения="false" on the catalog
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


def test_manifest_keeps_every_header_and_rebuilds_the_upload_without_reading(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_import(src / "goods" / "import.xml")
    (src / "import_files").mkdir()
    (src / "import_files" / "p.jpg").write_bytes(b"jpeg")
    (src / "notes.txt").write_text("not xml")
    archived = intake.archive_path(src, tmp_path / "archive")
    manifest = intake.read_manifest(archived.path)
    assert [h.path for h in manifest.headers] == ["goods/import.xml"]
    assert (manifest.other_files, manifest.other_bytes) == (2, len(b"jpeg") + len("not xml"))
    read_again = discover_upload(archived.path)

    def no_read(*args, **kwargs):
        raise AssertionError("a header was read again")

    monkeypatch.setattr("onec_pipeline.commerceml.upload.header_from", no_read)
    upload = intake.load_upload(archived.path)
    assert upload.all_files == read_again.all_files and upload.root == archived.path
    assert (upload.other_files, upload.other_bytes) == (read_again.other_files, read_again.other_bytes)
    assert upload.has(Entity.GOODS) and upload.is_full(Entity.GOODS)


def test_a_manifest_written_before_headers_were_kept_still_loads(tmp_path):
    src = tmp_path / "src"
    write_import(src / "import.xml")
    archived = intake.archive_path(src, tmp_path / "archive")
    path = archived.path / intake.MANIFEST_NAME
    old = json.loads(path.read_text(encoding="utf-8"))
    for name in ("headers", "other_files", "other_bytes"):
        del old[name]
    old["full_entities"] = old.pop("full_kinds")  # the earlier name of the list
    path.write_text(json.dumps(old), encoding="utf-8")
    manifest = intake.read_manifest(archived.path)
    assert manifest.headers is None and manifest.full_kinds == ["goods"]
    assert "full_kinds" in manifest.to_json() and "headers" not in manifest.to_json()
    upload = intake.load_upload(archived.path)  # read from the files instead
    assert [h.path for h in upload.files] == ["import.xml"] and upload.has(Entity.GOODS)
    assert intake.retention_items(tmp_path / "archive")[0].full


def test_an_unreadable_header_is_refused_at_the_gate_and_not_kept_when_keyed_leniently(tmp_path):
    src = tmp_path / "src"
    write_import(src / "import.xml")
    (src / "evil.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><КоммерческаяИнформация/>', encoding="utf-8"
    )
    with pytest.raises(intake.IntakeError, match="DOCTYPE") as info:
        intake.archive_path(src, tmp_path / "archive")
    assert info.value.file == "evil.xml" and info.value.line == 1
    assert sorted(p.name for p in src.iterdir()) == ["evil.xml", "import.xml"]  # given back, untouched
    assert intake.list_archived(tmp_path / "archive") == []
    _key, manifest = intake.compute_key(src)  # keyed without the gate (an old archive): no headers kept
    assert manifest.headers is None
    assert manifest.exported_at == "2026-11-20T10:15:00"  # the readable header still dates the key
    with pytest.raises(CommerceMLError):
        intake.load_upload(src)
