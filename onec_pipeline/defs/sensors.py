"""``onec_upload_sensor``: archive complete uploads, add their partitions, request one run each.

A tick lists the incoming directory (directory entries only), reads the head and tail of each XML file of
uploads that look settled, archives the complete ones (``intake``), reads the archived files' headers to
select the assets whose data the upload holds, and returns a ``SensorResult`` with the new partitions and
one ``RunRequest`` per upload (run key = upload key, so a tick replayed after a crash never runs twice).

The cursor is JSON ``{"pending": {upload name: fingerprint}, "failed": {...}}`` holding only what is in
the incoming directory now: it never grows with history.

Recovery: a tick that dies between archiving and returning its result (process killed, evaluation timeout)
leaves an archived upload without a partition; the next ticks find it by listing the archive and re-offer it.
"""

import json
import time
from datetime import datetime
from pathlib import Path

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from onec_pipeline import intake
from onec_pipeline.defs.assets import IMPORT_TAG, assets_for_upload, catalog_assets
from onec_pipeline.defs.customers import customer_assets
from onec_pipeline.defs.partitions import uploads_partitions
from onec_pipeline.defs.resources import UploadDirs

RECOVERY_WINDOW_SECONDS = 24 * 3600
MAX_UPLOADS_PER_TICK = 20  # the rest waits for the next tick (the evaluation times out after 60 s)
TICK_BUDGET_SECONDS = 30.0

_SENSOR_ASSETS = [*catalog_assets, *customer_assets]


def upload_tags(key: str, source: str = "") -> dict[str, str]:
    tags = {IMPORT_TAG: "true", "onec/upload": key}
    if source:
        tags["onec/source"] = source[-200:]
    return tags


def run_request_for(key: str, archived_path, source: str = "") -> RunRequest | None:
    """The run of one archived upload: only the assets whose data it holds (None when it holds none)."""
    from dagster import AssetKey

    from onec_pipeline.commerceml import discover_upload

    selected = assets_for_upload(discover_upload(archived_path))
    if not selected:
        return None
    from onec_pipeline.defs.checks import upload_check_keys_for

    return RunRequest(
        run_key=key,
        partition_key=key,
        asset_selection=[AssetKey(name) for name in selected],
        # the per-upload checks of those assets only (the catalog-wide audit checks are not partitioned)
        asset_check_keys=upload_check_keys_for(selected),
        tags=upload_tags(key, source),
    )


def evaluate_uploads(
    *,
    import_dir,
    archive_dir,
    settle_seconds: float,
    cursor: str | None,
    known_partitions: set[str],
    now: float | None = None,
    log=None,
) -> tuple[list[RunRequest], list[str], str, list[str]]:
    """The sensor's logic without Dagster's context: (run requests, new partition keys, cursor, notes)."""
    state = json.loads(cursor) if cursor else {}
    pending: dict[str, str] = state.get("pending", {})
    failed: dict[str, str] = state.get("failed", {})
    now = time.time() if now is None else now
    started = time.monotonic()
    new_pending: dict[str, str] = {}
    new_failed: dict[str, str] = {}
    requests: list[RunRequest] = []
    new_keys: list[str] = []
    notes: list[str] = []
    archived_count = 0
    for upload in intake.scan_incoming(import_dir):
        fp = upload.fingerprint
        if failed.get(upload.name) == fp:  # the same bytes failed before: wait for a new upload
            new_failed[upload.name] = fp
            continue
        verdict = intake.check_complete(
            upload, now=now, settle_seconds=settle_seconds, previous_fingerprint=pending.get(upload.name)
        )
        if not verdict.complete:
            new_pending[upload.name] = fp
            notes.append(f"{upload.name}: {verdict.reason}")
            continue
        if archived_count >= MAX_UPLOADS_PER_TICK or time.monotonic() - started > TICK_BUDGET_SECONDS:
            new_pending[upload.name] = pending.get(upload.name, fp)  # keep its settled state for next tick
            notes.append(f"{upload.name}: complete, left for the next tick")
            continue
        try:
            archived = intake.archive_upload(upload, archive_dir)
        except (intake.IntakeError, OSError) as exc:
            new_failed[upload.name] = fp
            notes.append(f"{upload.name}: refused: {exc}")
            if log:
                log.error(f"upload {upload.name} refused: {exc}")
            continue
        archived_count += 1
        key = archived.key
        try:
            request = run_request_for(key, archived.path, archived.manifest.source)
        except Exception as exc:  # noqa: BLE001 - an unreadable header fails the run, not the sensor
            if log:
                log.error(f"upload {key}: cannot read headers: {exc}")
            request = RunRequest(
                run_key=key, partition_key=key, tags=upload_tags(key, archived.manifest.source)
            )
        if archived.duplicate:
            notes.append(f"{upload.name}: same content as archived upload {key}")
        if key not in known_partitions and key not in new_keys:
            new_keys.append(key)
        if request is None:
            notes.append(f"{upload.name} -> {key}: holds no importable data")
            continue
        requests.append(request)
        if log:
            log.info(f"upload {upload.name} archived as {key}: assets {request.asset_selection}")
    _recover_orphans(import_dir, archive_dir, known_partitions, now, requests, new_keys, notes, started, log)
    new_cursor = json.dumps({"pending": new_pending, "failed": new_failed}, sort_keys=True)
    return requests, new_keys, new_cursor, notes


def _from_incoming(manifest, import_dir) -> bool:
    source = Path(manifest.source)
    if source.name == "*":  # loose files at the top of the incoming directory
        source = source.parent
    try:
        return source.resolve().is_relative_to(Path(import_dir).resolve())
    except (OSError, ValueError):
        return False


def _recover_orphans(import_dir, archive_dir, known, now, requests, new_keys, notes, started, log) -> None:
    """A tick that died after archiving an upload but before Dagster stored its result leaves the upload in
    the archive with no partition and no run. Re-offer such uploads: archived from the incoming directory
    within the last ``RECOVERY_WINDOW_SECONDS`` (older ones without a partition were removed on purpose)
    and not yet a partition. The run key (= upload key) keeps a recovered request from running twice."""
    for key in intake.list_archived(archive_dir):
        if key in known or key in new_keys:
            continue
        if len(requests) >= MAX_UPLOADS_PER_TICK or time.monotonic() - started > TICK_BUDGET_SECONDS:
            return
        path = Path(archive_dir) / key
        manifest = intake.read_manifest(path)
        if manifest is None or not _from_incoming(manifest, import_dir):
            continue
        try:
            archived_at = datetime.fromisoformat(manifest.archived_at).timestamp()
        except (TypeError, ValueError):
            continue
        if now - archived_at > RECOVERY_WINDOW_SECONDS:
            continue
        try:
            request = run_request_for(key, path, manifest.source)
        except Exception as exc:  # noqa: BLE001 - as for fresh uploads: the run will report it
            if log:
                log.error(f"upload {key}: cannot read headers: {exc}")
            request = RunRequest(run_key=key, partition_key=key, tags=upload_tags(key, manifest.source))
        new_keys.append(key)
        notes.append(f"{key}: archived without a partition (an interrupted tick): recovered")
        if log:
            log.warning(f"upload {key} was archived but never got its partition: recovering it")
        if request is not None:
            requests.append(request)


@sensor(
    name="onec_upload_sensor",
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=AssetSelection.assets(*_SENSOR_ASSETS),
    description="Archives complete 1C uploads from ONEC_IMPORT_DIR and requests one import run per upload.",
)
def onec_upload_sensor(context: SensorEvaluationContext, upload_dirs: UploadDirs):
    known = set(context.instance.get_dynamic_partitions(uploads_partitions.name))
    requests, new_keys, cursor, notes = evaluate_uploads(
        import_dir=upload_dirs.incoming(),
        archive_dir=upload_dirs.archive(),
        settle_seconds=upload_dirs.settle(),
        cursor=context.cursor,
        known_partitions=known,
        log=context.log,
    )
    if not requests and not new_keys:
        context.update_cursor(cursor)
        return SkipReason("; ".join(notes) if notes else "no uploads waiting")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[uploads_partitions.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor,
    )


def make_automation_sensor():
    """The automation sensor for assets that declare an automation condition (customers_export's cron),
    RUNNING by default (Dagster's implicit one starts STOPPED). Catalog assets have no condition: the
    upload sensor is their only trigger (one trigger per asset)."""
    automated = [
        key
        for a in customer_assets
        for key, cond in getattr(a, "automation_conditions_by_key", {}).items()
        if cond is not None
    ]
    if not automated:
        return None
    return AutomationConditionSensorDefinition(
        "onec_automation",
        target=AssetSelection.assets(*automated),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description="Evaluates automation conditions (the customers export cron).",
    )
