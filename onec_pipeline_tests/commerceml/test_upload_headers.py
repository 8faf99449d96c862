"""Headers kept as JSON (an archive's manifest) rebuild the same ``Upload`` without opening a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onec_pipeline.commerceml import FileHeader, discover_upload, read_upload, upload_from_headers
from onec_pipeline_tests.conftest import sample_uploads

UPLOADS = sample_uploads()


def _shape(upload):
    return (
        [h.to_dict() for h in upload.files],
        [h.to_dict() for h in upload.documents],
        [h.to_dict() for h in upload.unknown],
        upload.entities,
        upload.exported_at,
    )


@pytest.mark.parametrize("upload_dir", UPLOADS, ids=[p.name for p in UPLOADS])
def test_headers_round_trip_through_json(upload_dir: Path):
    upload = discover_upload(upload_dir)
    for header in upload.all_files:
        assert FileHeader.from_dict(json.loads(json.dumps(header.to_dict()))) == header


@pytest.mark.parametrize("upload_dir", UPLOADS, ids=[p.name for p in UPLOADS])
def test_upload_from_headers_equals_discovery_and_reads_the_same_records(upload_dir: Path, monkeypatch):
    found = discover_upload(upload_dir)
    headers = [FileHeader.from_dict(h.to_dict()) for h in reversed(found.all_files)]  # any order in

    def no_peek(*args, **kwargs):
        raise AssertionError("upload_from_headers must not read a header")

    monkeypatch.setattr("onec_pipeline.commerceml.upload.header_from", no_peek)
    rebuilt = upload_from_headers(upload_dir, headers)
    assert _shape(rebuilt) == _shape(found)
    monkeypatch.undo()
    assert list(read_upload(rebuilt, set(rebuilt.entities))) == list(read_upload(found, set(found.entities)))


def test_from_dict_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        FileHeader.from_dict({"path": "a.xml", "kind": "spreadsheet"})
