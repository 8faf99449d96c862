"""Stuck uploads shout, and sensor runs carry a job name: an upload that stays incomplete and unchanged past
ONEC_STUCK_SECONDS gets ONE run of ``stuck_upload`` whose step fails with the reason (a failed run in the
Runs list, caught by alerts); once complete it is imported by a run of ``import_upload``."""

from __future__ import annotations

import shutil

from dagster import DagsterInstance, build_sensor_context

from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.intake.sensors import evaluate_uploads, onec_upload_sensor
from onec_pipeline.defs.resources import UploadDirs
from onec_pipeline_tests.conftest import SAMPLES_DIR

TRUNCATED = "<?xml version='1.0' encoding='UTF-8'?>\n<КоммерческаяИнформация ВерсияСхемы='2.07'><Каталог>"


def _tick(dirs: dict, cursor: str | None, now: float):
    return evaluate_uploads(cursor=cursor, known_partitions=set(), now=now, stuck_seconds=600, **dirs)


def test_a_stuck_upload_gets_one_failed_run_with_the_reason(tmp_path):
    incoming, archive = tmp_path / "in", tmp_path / "archive"
    upload = incoming / "half"
    upload.mkdir(parents=True)
    (upload / "import.xml").write_text(TRUNCATED, encoding="utf-8")
    dirs = {"import_dir": incoming, "archive_dir": archive, "settle_seconds": 30}
    start = (upload / "import.xml").stat().st_mtime + 60

    requests, _, cursor, notes = _tick(dirs, None, start)
    assert requests == [] and notes == ["half: settling: changed since the previous scan"]
    requests, _, cursor, notes = _tick(dirs, cursor, start + 300)  # unchanged for 5 min: still waiting
    assert requests == []
    requests, _, cursor, notes = _tick(dirs, cursor, start + 660)  # 11 min since first seen: stuck
    [request] = requests
    assert request.job_name == "stuck_upload" and request.tags["onec/incoming"] == "half"
    assert notes[0].startswith("half: STUCK for 11 min: incomplete XML")
    config = request.run_config["ops"]["report_stuck_upload"]["config"]
    assert "import.xml" in config["reason"] and config["threshold_seconds"] == 600

    # once per state: the next ticks say STUCK in their note, request nothing more
    requests, _, cursor, notes = _tick(dirs, cursor, start + 700)
    assert requests == [] and "STUCK" in notes[0]

    # the run fails with the reason, readable in the Runs list
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("stuck_upload").execute_in_process(
            run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False
        )
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        message = failure.step_failure_data.user_failure_data.description
        assert (
            "upload 'half' is stuck" in message
            and "incomplete XML" in message
            and "ONEC_STUCK_SECONDS" in message
        )

    # a changed upload starts over: not stuck until it stays unchanged again
    (upload / "import.xml").write_text(TRUNCATED + "<Товары>", encoding="utf-8")
    requests, _, cursor, _ = _tick(dirs, cursor, start + 720)
    assert requests == []


def test_sensor_runs_are_runs_of_import_upload(tmp_path):
    incoming = tmp_path / "in"
    shutil.copytree(SAMPLES_DIR / "cml-203", incoming / "u1")
    (incoming / "u1" / ".ready").touch()
    resource = UploadDirs(import_dir=str(incoming), archive_dir=str(tmp_path / "archive"), stuck_seconds=600)
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"upload_dirs": resource})
        [request] = onec_upload_sensor(context).run_requests
    assert request.job_name == "import_upload"
    sensor = defs.get_sensor_def("onec_upload_sensor")
    assert {t.job_name for t in sensor.targets} == {"import_upload", "stuck_upload", "quarantined_upload"}
