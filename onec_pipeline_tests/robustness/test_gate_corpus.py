"""Every case of the hostile corpus through the gate and the CLI's code path, in process (no database is
reached: a refused upload stops before Dagster; an accepted one is archived and read back by the reader).

Refused: ``run_import`` returns one line naming the file and why (no traceback), nothing is archived and
the source is untouched. Loaded: archived, and the reader yields the records (and rejects) the case
expects. Reported: archived, the file named in the manifest's ``not_imported``.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest

from onec_pipeline import intake
from onec_pipeline.commerceml import Entity, Reject, read_upload
from onec_pipeline.runs import run_import

from .corpus import CASES, EMPTY_PACKAGE, Case, document


def tree_digest(path: Path) -> dict[str, str]:
    """Every entry under ``path`` (symlinks as their target, files by content): to prove it untouched."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            full = Path(dirpath) / name
            rel = os.fsencode(full.relative_to(path)).hex()
            if full.is_symlink():
                out[rel] = "-> " + os.readlink(full)
            elif full.is_file():
                out[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
    return out


def read_counts(archived: intake.ArchivedUpload) -> Counter[str]:
    upload = intake.load_upload(archived.path, archived.manifest)
    counts: Counter[str] = Counter()
    for record in read_upload(upload, set(Entity)):
        counts["rejects" if isinstance(record, Reject) else record.entity.value] += 1
    return counts


@pytest.fixture
def case_env(request, tmp_path, monkeypatch):
    case: Case = request.param
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    return case


@pytest.mark.parametrize("case_env", CASES, ids=[c.id for c in CASES], indirect=True)
def test_hostile_case(case_env: Case, tmp_path):
    case = case_env
    src = case.build(tmp_path / "src")
    archive = tmp_path / "archive"
    if case.outcome == "refused":
        before = tree_digest(src)
        summary = run_import(src, archive_dir=archive, database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}")
        error = summary.error or ""
        assert not summary.success and summary.run_id is None, case.id
        assert "\n" not in error and "Traceback" not in error, error
        assert error.startswith("refused ") and "nothing was imported" in error, error
        assert case.needle in error, error
        if case.file:
            assert case.file in error, error
        assert intake.list_archived(archive) == [] and not list(archive.glob(".tmp-*")), case.id
        assert tree_digest(src) == before, "the source must be given back untouched"
        assert not (tmp_path / "c.sqlite3").exists(), "a refused upload never reaches the catalog"
        return
    archived = intake.archive_path(src, archive, keep_source=True)
    if case.outcome == "reported":
        assert any(note.startswith(f"{case.file}: ") for note in archived.manifest.not_imported)
        return
    counts = read_counts(archived)
    for name, expected in case.expect.items():
        assert counts.get(name, 0) == expected, (name, dict(counts))
    if case.untrusted_time is not None:
        assert bool(archived.manifest.untrusted_export_time) is case.untrusted_time
        key_time = intake.key_time(archived.key)
        assert key_time is not None and (key_time.year < 2027) is True


def test_the_corpus_covers_every_class_with_enough_cases():
    classes = Counter(c.cls for c in CASES)
    assert len(CASES) >= 150
    for needed in (
        "truncated file",
        "stray bytes before <?xml",
        "encodings",
        "DTDs (XXE, billion laughs, external DTD, default attributes)",
        "malformed XML",
        "garbage named *.xml",
        "known non-catalog documents",
        "poison zips",
        "file names and symlinks",
        "hostile values (SQL-ish ids, emoji, numbers, composite ids)",
        "malformed composite ids",
        "non-numeric prices and quantities",
        "export times in the future",
    ):
        assert classes[needed] >= 3, needed


def test_an_upload_holding_no_data_names_every_file_and_why(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    files = {
        "orders.xml": document("<Документ><Ид>o1</Ид><Номер>1</Номер></Документ>\n").encode(),
        # UTF-16 with a BOM: read (it used to be refused as "holds no data"), and empty
        "offers.xml": document(EMPTY_PACKAGE, enc="UTF-16").encode("utf-16"),
    }
    src = tmp_path / "src"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    summary = run_import(src, archive_dir=tmp_path / "archive", database_url=f"sqlite:///{tmp_path / 'c.db'}")
    assert not summary.success and summary.run_id is None
    error = summary.error or ""
    assert error.startswith(f"upload {summary.key} holds no data for any asset: ")
    assert "orders.xml: order documents" in error and "offers.xml: CommerceML with no records" in error
