"""``catalog_summary_after_imports``: refresh the catalog summary after import runs.

Every tick looks for import runs (tag ``onec/import``, dry runs excluded: they change nothing) that
finished — successfully or not: a failed run may have committed some assets — since the cursor (the newest
update time seen), and requests ONE run of ``refresh_catalog_summary`` for all of them: the summary
describes the whole catalog, so several imports ending between two ticks need one refresh.
"""

from datetime import UTC, datetime

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from ..constants import DRY_RUN_TAG, IMPORT_TAG, SUMMARY_ASSET

FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
AFTER_RUN_TAG = "onec/after_run"  # the import run a summary refresh follows

refresh_catalog_summary = define_asset_job(
    name="refresh_catalog_summary",
    selection=AssetSelection.assets(SUMMARY_ASSET),
    description="The catalog summary and its catalog-wide checks, after import runs.",
)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@sensor(
    name="catalog_summary_after_imports",
    job=refresh_catalog_summary,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Refreshes catalog_summary after import runs finish (one refresh for all that ended).",
)
def catalog_summary_after_imports(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    since = datetime.fromtimestamp(float(context.cursor), UTC) if context.cursor else None
    records = context.instance.get_run_records(
        RunsFilter(tags={IMPORT_TAG: "true"}, statuses=FINISHED, updated_after=since),
        limit=100,
        order_by="update_timestamp",
        ascending=False,
    )
    if not records:
        return SkipReason("no import run finished since the last refresh")
    newest = max(_utc(r.update_timestamp) for r in records)
    cursor = str(newest.timestamp())
    imports = [r.dagster_run for r in records if r.dagster_run.tags.get(DRY_RUN_TAG) != "true"]
    if not imports:
        context.update_cursor(cursor)
        return SkipReason("only dry runs finished: nothing changed")
    last = imports[0]
    request = RunRequest(run_key=f"after-{last.run_id}-{cursor}", tags={AFTER_RUN_TAG: last.run_id})
    return SensorResult(run_requests=[request], cursor=cursor)
