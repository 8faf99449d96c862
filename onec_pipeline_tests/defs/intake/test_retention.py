"""The archive_retention job runs for real (ephemeral instance, temp dirs), and the schedules target their jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from dagster import DagsterInstance

from onec_pipeline import intake
from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import UploadDirs
from onec_pipeline_tests.intake.helpers import write_import


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def _archive(tmp_path, name: str, when: datetime, *, full: bool) -> str:
    src = tmp_path / "src" / name
    f = write_import(src / "import.xml", when=when.strftime("%Y-%m-%dT%H:%M:%S"), name=name)
    if not full:
        f.write_text(f.read_text(encoding="utf-8").replace('"false"', '"true"'), encoding="utf-8")
    return intake.archive_path(src, tmp_path / "archive").key


def test_archive_retention_job(instance, tmp_path):
    now = datetime.now()
    older_full = _archive(tmp_path, "a", now - timedelta(days=400), full=True)
    newest_full = _archive(tmp_path, "b", now - timedelta(days=200), full=True)
    old_delta = _archive(tmp_path, "c", now - timedelta(days=120), full=False)
    recent = _archive(tmp_path, "d", now - timedelta(days=3), full=False)
    keys = [older_full, newest_full, old_delta, recent]
    assert keys == sorted(keys)
    instance.add_dynamic_partitions("uploads", keys)
    job = defs.resolve_job_def("archive_retention_job")
    result = job.execute_in_process(
        instance=instance,
        resources={"upload_dirs": UploadDirs(archive_dir=str(tmp_path / "archive"), retention_days=90)},
    )
    assert result.success
    assert sorted(result.output_for_node("apply_archive_retention")) == sorted([older_full, old_delta])
    assert intake.list_archived(tmp_path / "archive") == [newest_full, recent]
    assert instance.get_dynamic_partitions("uploads") == [newest_full, recent]


def test_schedules_target_their_jobs():
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert schedules["nightly_catalog_audit"].job_name == "catalog_audit"
    assert schedules["archive_retention"].job_name == "archive_retention_job"
