"""``onec_upload_sensor``: archive complete uploads, add their partitions, request one run each.

A tick lists the incoming directory (directory entries only), reads the head and tail of each XML file of
uploads that look settled, archives the complete ones (``intake``: that reads each XML file's header once
and keeps it in the manifest), selects the assets whose data the upload holds from those headers, and
returns a ``SensorResult`` with the new partitions and one ``RunRequest`` per upload (run key = upload key,
so a tick replayed after a crash never runs twice).

The runs are runs of the job ``import_upload`` (each selecting the assets its upload holds), so the Runs
list and the Overview name them. Their run config says how they execute their steps (``defs.executor``): an
upload with less than 256 MB of XML on threads of the run's process, a larger one a process per step.

Stuck uploads: an upload that stays incomplete (no ``.ready``, an XML file without its closing root tag,
a ``.part`` file…) and unchanged for ``ONEC_STUCK_SECONDS`` (default 30 min; measured from the tick that
first saw it in that state, not from file mtimes, which copies may preserve) gets one run of the job
``stuck_upload``, whose step fails with the reason: a failed run in the Runs list that alert rules catch,
instead of grey "skipped" ticks for ever. Once per state: the cursor remembers its fingerprint.

The cursor is JSON ``{"pending": {upload name: "fingerprint first-seen"}, "failed": {...}}`` (plus
``"stuck"``: the uploads reported, while they are) holding only what is in the incoming directory now: it
never grows with history. ``first-seen`` is when a tick first saw the pending upload in that state.

Poison uploads: an upload that cannot be scanned, extracted, decoded or keyed — whatever archiving raises,
including the gate's refusals (``intake.gate``) — is quarantined whole (``ONEC_QUARANTINE_DIR``) with its
reason, logged as an error, and reported by one run of ``quarantined_upload`` that fails with the reason; the
same tick goes on with the other uploads.

Recovery: a tick that dies between archiving and returning its result (process killed, evaluation timeout)
leaves an archived upload without a partition; the next ticks find it by listing the archive and re-offer it.
"""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from onec_pipeline import intake

from ..constants import INCOMING_TAG, assets_for_upload, upload_tags
from ..executor import execution_config, steps_for_upload
from ..partitions import UPLOADS_PARTITIONS_NAME, uploads_partitions
from ..resources import UploadDirs
from ..selection import upload_check_keys_for
from .jobs import STUCK_JOB, STUCK_TAG, import_upload, stuck_upload
from .quarantine import quarantine_request, quarantined_upload

RECOVERY_WINDOW_SECONDS = 24 * 3600
MAX_UPLOADS_PER_TICK = 20  # the rest waits for the next tick (the evaluation times out after 60 s)
TICK_BUDGET_SECONDS = 30.0
IMPORT_JOB = "import_upload"  # the job of the sensor's runs (named in the Runs list)


def asset_names(request: RunRequest) -> str:
    """The assets a run request selects, as names (``groups, goods``), for logs and notes."""
    return ", ".join(key.path[-1] for key in request.asset_selection or []) or "every asset"


def run_request_for(key: str, archived_path: Path, manifest: intake.Manifest | None) -> RunRequest | None:
    """The run of one archived upload: only the assets whose data it holds (None when it holds none).
    Decided from the headers the manifest keeps; raises ``CommerceMLError`` for an unreadable upload."""
    selected = assets_for_upload(intake.load_upload(archived_path, manifest))
    if not selected:
        return None
    source = manifest.source if manifest else ""
    return RunRequest(
        run_key=key,
        job_name=IMPORT_JOB,
        partition_key=key,
        asset_selection=[AssetKey(name) for name in selected],
        # the per-upload checks of those assets only (the catalog-wide audit checks are not partitioned)
        asset_check_keys=upload_check_keys_for(selected),
        tags=upload_tags(key, source),
        # a small upload's steps on threads, a large one's in processes of their own
        run_config=execution_config(steps_for_upload(manifest.xml_bytes) if manifest else "processes"),
    )


def _request_or_plain(
    key: str, path: Path, manifest: intake.Manifest | None, log: logging.Logger | None
) -> RunRequest | None:
    """``run_request_for``, or a run of every asset when the headers cannot be read: an unreadable upload
    fails its run (where operators see it), not the sensor."""
    try:
        return run_request_for(key, path, manifest)
    except Exception as exc:  # noqa: BLE001 - an unreadable header fails the run, not the sensor
        if log:
            log.error(f"upload {key}: cannot read headers: {exc}")
        return RunRequest(
            run_key=key,
            job_name=IMPORT_JOB,
            partition_key=key,
            tags=upload_tags(key, manifest.source if manifest else ""),
        )


@dataclass
class _Tick:
    """What one evaluation collects."""

    known_partitions: set[str]
    started: float = field(default_factory=time.monotonic)
    pending: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    requests: list[RunRequest] = field(default_factory=list)
    since: dict[str, float] = field(default_factory=dict)  # pending upload -> first seen in this state
    stuck: dict[str, str] = field(default_factory=dict)  # upload name -> fingerprint reported stuck
    new_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    archived: int = 0
    quarantined: int = 0

    def over_budget(self, count: int) -> bool:
        return count >= MAX_UPLOADS_PER_TICK or time.monotonic() - self.started > TICK_BUDGET_SECONDS

    def add_partition(self, key: str) -> None:
        if key not in self.known_partitions and key not in self.new_keys:
            self.new_keys.append(key)


def _refusal(exc: Exception) -> tuple[str, str | None, int | None]:
    """(one-line reason, file, line) of whatever archiving raised."""
    if isinstance(exc, intake.IntakeError):
        return exc.message, exc.file, exc.line
    return f"{type(exc).__name__}: {exc}", None, None


def _quarantine(
    tick: _Tick,
    upload: intake.IncomingUpload,
    exc: Exception,
    quarantine_dir: Path | None,
    log: logging.Logger | None,
) -> None:
    """A poison upload: moved whole to the quarantine with its reason and reported by a failed run; the
    tick goes on with the other uploads. Without a quarantine directory (or when it cannot be written) the
    upload stays where it is, remembered as failed until its bytes change."""
    reason, file, line = _refusal(exc)
    name = intake.printable(upload.name)
    record = None
    if quarantine_dir is not None:
        try:
            record = intake.quarantine_upload(upload, quarantine_dir, reason, file=file, line=line)
        except OSError as move_error:
            reason = f"{reason} (could not quarantine it: {move_error})"
    if record is None:
        tick.failed[upload.name] = upload.fingerprint
        tick.notes.append(f"{name}: refused: {reason}")
        if log:
            log.error(f"upload {name} refused: {reason}")
        return
    tick.quarantined += 1
    tick.requests.append(quarantine_request(record))
    tick.notes.append(f"{name}: QUARANTINED: {record.describe()} -> {record.path}")
    if log:
        log.error(f"upload {record.describe()}: quarantined in {record.path}")


def _archive_one(
    tick: _Tick,
    upload: intake.IncomingUpload,
    archive_dir: Path,
    log: logging.Logger | None,
    quarantine_dir: Path | None = None,
) -> None:
    try:
        archived = intake.archive_upload(upload, archive_dir)
    except Exception as exc:  # noqa: BLE001 - one poison upload must never stop the tick
        _quarantine(tick, upload, exc, quarantine_dir, log)
        return
    tick.archived += 1
    key = archived.key
    request = _request_or_plain(key, archived.path, archived.manifest, log)
    if archived.duplicate:
        tick.notes.append(f"{upload.name}: same content as archived upload {key}")
    tick.add_partition(key)
    _report_manifest(tick, upload.name, archived.manifest, log)
    if request is None:
        skipped = "; ".join(archived.manifest.not_imported) or "no XML file"
        tick.notes.append(f"{upload.name} -> {key}: holds no importable data ({skipped})")
        return
    tick.requests.append(request)
    if log:
        log.info(f"upload {upload.name} archived as {key}: assets {asset_names(request)}")


def _report_manifest(tick: _Tick, name: str, manifest: intake.Manifest, log: logging.Logger | None) -> None:
    """What the gate let through but reports: files feeding no asset, an export time not trusted."""
    for note in manifest.not_imported:
        tick.notes.append(f"{name}: not imported: {note}")
        if log:
            log.info(f"upload {name}: not imported: {note}")
    if manifest.untrusted_export_time:
        message = (
            f"upload {name}: export time {manifest.untrusted_export_time} lies ahead of its arrival by more "
            f"than ONEC_FUTURE_TOLERANCE: not trusted, key {manifest.key} carries the arrival time"
        )
        tick.notes.append(message)
        if log:
            log.warning(message)


def evaluate_uploads(
    *,
    import_dir: Path | str,
    archive_dir: Path | str,
    settle_seconds: float,
    cursor: str | None,
    known_partitions: set[str],
    now: float | None = None,
    log: logging.Logger | None = None,
    stuck_seconds: float | None = None,
    quarantine_dir: Path | str | None = None,
) -> tuple[list[RunRequest], list[str], str, list[str]]:
    """The sensor's logic without Dagster's context: (run requests, new partition keys, cursor, notes).
    ``stuck_seconds``: report uploads incomplete and unchanged that long (None: never).
    ``quarantine_dir``: where poison uploads go (None: they stay, remembered as failed)."""
    state = json.loads(cursor) if cursor else {}
    pending_state: dict[str, str] = state.get("pending", {})
    pending = {name: value.partition(" ")[0] for name, value in pending_state.items()}
    failed: dict[str, str] = state.get("failed", {})
    previous = _Previous(pending, _first_seen(pending_state), state.get("stuck", {}))
    now = time.time() if now is None else now
    tick = _Tick(known_partitions)
    for upload in intake.scan_incoming(import_dir):
        fp = upload.fingerprint
        if failed.get(upload.name) == fp:  # the same bytes failed before: wait for a new upload
            tick.failed[upload.name] = fp
            continue
        verdict = intake.check_complete(
            upload, now=now, settle_seconds=settle_seconds, previous_fingerprint=pending.get(upload.name)
        )
        if not verdict.complete:
            tick.pending[upload.name] = fp
            tick.notes.append(f"{upload.name}: {verdict.reason}")
            if stuck_seconds is not None:
                _check_stuck(tick, upload, verdict.reason, now, stuck_seconds, previous)
        elif tick.over_budget(tick.archived + tick.quarantined):
            tick.pending[upload.name] = pending_state.get(upload.name, fp)  # keep its state for next tick
            tick.notes.append(f"{upload.name}: complete, left for the next tick")
        else:
            _archive_one(
                tick, upload, Path(archive_dir), log, Path(quarantine_dir) if quarantine_dir else None
            )
    _recover_orphans(tick, Path(import_dir), Path(archive_dir), now, log)
    for name, since in tick.since.items():
        tick.pending[name] = f"{tick.pending[name]} {since:.0f}"
    state = {"pending": tick.pending, "failed": tick.failed}
    if tick.stuck:
        state["stuck"] = tick.stuck
    new_cursor = json.dumps(state, sort_keys=True)
    return tick.requests, tick.new_keys, new_cursor, tick.notes


def _first_seen(pending_state: dict[str, str]) -> dict[str, float]:
    out = {}
    for name, value in pending_state.items():
        try:
            out[name] = float(value.partition(" ")[2])
        except ValueError:  # a cursor from before: no time kept
            continue
    return out


@dataclass
class _Previous:
    """What the previous tick left in the cursor about pending uploads."""

    pending: dict[str, str]
    since: dict[str, float]
    reported: dict[str, str]


def _check_stuck(
    tick: _Tick,
    upload: intake.IncomingUpload,
    reason: str,
    now: float,
    stuck_seconds: float,
    previous: _Previous,
) -> None:
    """An incomplete upload seen unchanged (same fingerprint) for ``stuck_seconds`` gets one ``stuck_upload``
    run per state."""
    fp = upload.fingerprint
    same = previous.pending.get(upload.name) == fp
    unchanged_since = min(previous.since.get(upload.name, now), now) if same else now
    tick.since[upload.name] = unchanged_since
    unchanged = now - unchanged_since
    if unchanged < stuck_seconds:
        return
    tick.stuck[upload.name] = fp
    tick.notes[-1] = f"{upload.name}: STUCK for {unchanged / 60:,.0f} min: {reason}"
    if previous.reported.get(upload.name) == fp:
        return  # reported already: its failed run is in the Runs list
    size = sum(f.size for f in upload.files)
    config = {
        "incoming": upload.name,
        "path": str(upload.root),
        "reason": reason,
        "unchanged_seconds": round(unchanged, 1),
        "threshold_seconds": float(stuck_seconds),
        "files": len(upload.files),
        "size": size,
    }
    tick.requests.append(
        RunRequest(
            run_key=f"stuck:{upload.name}:{fp}",
            job_name=STUCK_JOB,
            run_config={"ops": {"report_stuck_upload": {"config": config}}},
            tags={INCOMING_TAG: upload.name[-200:], STUCK_TAG: "true"},
        )
    )


def _from_incoming(manifest: intake.Manifest, import_dir: Path) -> bool:
    source = Path(manifest.source)
    if source.name == "*":  # loose files at the top of the incoming directory
        source = source.parent
    try:
        return source.resolve().is_relative_to(import_dir.resolve())
    except (OSError, ValueError):
        return False


def _archived_recently(manifest: intake.Manifest, now: float) -> bool:
    try:
        archived_at = datetime.fromisoformat(manifest.archived_at).timestamp()
    except (TypeError, ValueError):
        return False
    return now - archived_at <= RECOVERY_WINDOW_SECONDS


def _recover_orphans(
    tick: _Tick, import_dir: Path, archive_dir: Path, now: float, log: logging.Logger | None
) -> None:
    """A tick that died after archiving an upload but before Dagster stored its result leaves the upload in
    the archive with no partition and no run. Re-offer such uploads: archived from the incoming directory
    within the last ``RECOVERY_WINDOW_SECONDS`` (older ones without a partition were removed on purpose)
    and not yet a partition. The run key (= upload key) keeps a recovered request from running twice."""
    for key in intake.list_archived(archive_dir):
        if key in tick.known_partitions or key in tick.new_keys:
            continue
        if tick.over_budget(len(tick.requests)):
            return
        path = archive_dir / key
        manifest = intake.read_manifest(path)
        if (
            manifest is None
            or not _from_incoming(manifest, import_dir)
            or not _archived_recently(manifest, now)
        ):
            continue
        request = _request_or_plain(key, path, manifest, log)
        tick.new_keys.append(key)
        tick.notes.append(f"{key}: archived without a partition (an interrupted tick): recovered")
        if log:
            log.warning(f"upload {key} was archived but never got its partition: recovering it")
        if request is not None:
            tick.requests.append(request)


@sensor(
    name="onec_upload_sensor",
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    jobs=[import_upload, stuck_upload, quarantined_upload],
    description="Archives complete 1C uploads from ONEC_IMPORT_DIR and requests one import run per upload.",
)
def onec_upload_sensor(
    context: SensorEvaluationContext, upload_dirs: UploadDirs
) -> SensorResult | SkipReason:
    known = set(context.instance.get_dynamic_partitions(UPLOADS_PARTITIONS_NAME))
    requests, new_keys, cursor, notes = evaluate_uploads(
        import_dir=upload_dirs.incoming(),
        archive_dir=upload_dirs.archive(),
        settle_seconds=upload_dirs.settle(),
        cursor=context.cursor,
        known_partitions=known,
        log=context.log,
        stuck_seconds=upload_dirs.stuck(),
        quarantine_dir=upload_dirs.quarantine(),
    )
    if not requests and not new_keys:
        context.update_cursor(cursor)
        return SkipReason("; ".join(notes) if notes else "no uploads waiting")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[uploads_partitions.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor,
    )
