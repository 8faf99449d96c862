"""The archive retention: the ``archive_retention_job`` (removes archived uploads older than
``ONEC_RETENTION_DAYS`` and their partitions, never the newest full export) and its nightly schedule."""

from datetime import datetime

from dagster import DefaultScheduleStatus, OpExecutionContext, ScheduleDefinition, job, op

from onec_pipeline import intake

from ..partitions import UPLOADS_PARTITIONS_NAME
from ..resources import UploadDirs


@op(description="Remove archived uploads older than ONEC_RETENTION_DAYS (never the newest full export).")
def apply_archive_retention(context: OpExecutionContext, upload_dirs: UploadDirs) -> list[str]:
    archive = upload_dirs.archive()
    doomed = intake.select_for_retention(
        intake.retention_items(archive), now=datetime.now(), retention_days=upload_dirs.retention()
    )
    known = set(context.instance.get_dynamic_partitions(UPLOADS_PARTITIONS_NAME))
    for key in doomed:
        intake.remove_archived(archive, key)
        if key in known:
            context.instance.delete_dynamic_partition(UPLOADS_PARTITIONS_NAME, key)
        context.log.info(f"retention: removed archived upload {key} and its partition")
    context.log.info(f"retention: {len(doomed)} upload(s) removed, keeping {upload_dirs.retention()} days")
    return doomed


@job(description="Apply the archive retention policy (archive_retention schedule).")
def archive_retention_job() -> None:
    apply_archive_retention()


archive_retention = ScheduleDefinition(
    name="archive_retention",
    cron_schedule="15 4 * * *",
    job=archive_retention_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Removes archived uploads older than ONEC_RETENTION_DAYS and their partitions; "
    "never the newest full export.",
)
