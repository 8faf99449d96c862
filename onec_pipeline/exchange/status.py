"""What ``mode=import`` answers for an upload the endpoint handed to the sensor: the truth, from the incoming
directory, the quarantine, the archive and the Dagster instance (the run tagged with the upload's key).

* still in the incoming directory → ``progress`` (waiting for the sensor), until ``sensor_wait_seconds``;
* quarantined → ``failure`` with the quarantine's reason;
* archived (found by the content digest its key ends with) and its run queued or running → ``progress``
  (queued behind other imports, or running with its steps); succeeded → ``success``; failed or canceled →
  ``failure`` with the first line of the first error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from onec_pipeline import intake
from onec_pipeline.defs.constants import DRY_RUN_TAG, IMPORT_TAG, UPLOAD_TAG, assets_for_upload

from .files import ClosedUpload

WAITING = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING)
FAILED = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED, DagsterRunStatus.CANCELING)


@dataclass(frozen=True)
class Answer:
    """An exchange reply: the status word and the lines after it."""

    status: str  # success | progress | failure
    text: str = ""

    def body(self) -> str:
        return f"{self.status}\n{self.text}" if self.text else f"{self.status}\n"


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _without_class(message: str) -> str:
    """``pkg.module.SomeError: text`` -> ``text`` (1C's operator reads the text, not our class names)."""
    head, sep, rest = message.partition(": ")
    return rest if sep and "." in head and " " not in head else message


@dataclass
class UploadStatus:
    """Answers ``import`` calls from the directories and the Dagster instance."""

    import_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    instance: DagsterInstance
    sensor_wait_seconds: float

    def answer(self, upload: ClosedUpload, *, now: float | None = None) -> Answer:
        now = time.time() if now is None else now
        record = intake.find_quarantined(self.quarantine_dir, upload.name)
        if record is not None:
            return Answer("failure", first_line(f"upload quarantined: {record.describe()}"))
        key = self.archived_key(upload)
        if key is None:
            if (self.import_dir / upload.name).exists():
                waited = now - upload.closed_at
                if waited > self.sensor_wait_seconds:
                    return Answer(
                        "failure",
                        f"upload {upload.name} not taken by the sensor in {waited:,.0f} s "
                        "(is onec_upload_sensor running?)",
                    )
                return Answer("progress", f"upload {upload.name} received, waiting for the upload sensor")
            return Answer("progress", f"upload {upload.name} is being archived")
        return self.run_answer(key)

    def archived_key(self, upload: ClosedUpload) -> str | None:
        """The newest archived key whose hash is the upload's digest (same content = same key)."""
        keys = [k for k in intake.list_archived(self.archive_dir) if k.endswith(f"-{upload.digest}")]
        return keys[-1] if keys else None

    def run_answer(self, key: str) -> Answer:
        records = self.instance.get_run_records(RunsFilter(tags={UPLOAD_TAG: key}), limit=20)
        runs = [r.dagster_run for r in records if DRY_RUN_TAG not in r.dagster_run.tags]
        if not runs:
            return self._no_run(key)
        run = runs[0]  # newest first
        if run.status == DagsterRunStatus.SUCCESS:
            return Answer("success", f"upload {key} imported (run {run.run_id[:8]})")
        if run.status in FAILED:
            return Answer("failure", first_line(f"upload {key}: {self.failure_reason(run.run_id)}"))
        if run.status in WAITING:
            ahead = self._imports_ahead(run.run_id)
            behind = f", behind {ahead} other import{'s' * (ahead != 1)}" if ahead else ""
            return Answer("progress", f"upload {key}: import queued{behind}")
        steps = self.running_steps(run.run_id)
        doing = f": {', '.join(steps)}" if steps else ""
        return Answer("progress", f"upload {key}: importing{doing}")

    def _no_run(self, key: str) -> Answer:
        try:
            selected = assets_for_upload(intake.load_upload(self.archive_dir / key))
        except Exception as exc:  # noqa: BLE001 - the sensor requests a run for it, which fails with this
            return Answer("progress", first_line(f"upload {key} archived, waiting for its run ({exc})"))
        if not selected:
            return Answer("success", f"upload {key} archived: it holds no catalog data to import")
        return Answer("progress", f"upload {key} archived, waiting for its run")

    def _imports_ahead(self, run_id: str) -> int:
        """Imports queued or running before this run (one import runs at a time)."""
        busy = self.instance.get_run_records(
            RunsFilter(tags={IMPORT_TAG: "true"}, statuses=[*WAITING, DagsterRunStatus.STARTED]), limit=100
        )
        ids = [r.dagster_run.run_id for r in sorted(busy, key=lambda r: r.create_timestamp)]
        return ids.index(run_id) if run_id in ids else 0

    def running_steps(self, run_id: str) -> list[str]:
        started: dict[str, None] = {}
        for entry in self.instance.all_logs(
            run_id,
            of_type={
                DagsterEventType.STEP_START,
                DagsterEventType.STEP_SUCCESS,
                DagsterEventType.STEP_FAILURE,
            },
        ):
            step = entry.step_key or ""
            if entry.dagster_event_type == DagsterEventType.STEP_START:
                started[step] = None
            else:
                started.pop(step, None)
        return list(started)

    def failure_reason(self, run_id: str) -> str:
        """The first error of a failed run: a step's error, else the run's failure message."""
        for entry in self.instance.all_logs(
            run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
        ):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                while error is not None and error.cause is not None and error.message.startswith("dagster."):
                    error = error.cause  # Dagster's wrapper ("Error occurred while executing op"): the cause
                if error is not None:
                    step = f"{entry.step_key}: " if entry.step_key else ""
                    return step + first_line(_without_class(error.message))
            elif event.message:
                return first_line(event.message)
        return "the import run failed"
