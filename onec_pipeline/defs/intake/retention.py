"""The archive retention: the ``archive_retention_job`` (removes archived uploads older than
``ONEC_RETENTION_DAYS`` and their partitions, never the newest full export; then the media files no active
row references and no upload named within the same period) and its nightly schedule."""

import time
from datetime import datetime

from dagster import (
    DefaultScheduleStatus,
    MetadataValue,
    OpExecutionContext,
    Output,
    ScheduleDefinition,
    job,
    op,
)

from onec_pipeline import intake
from onec_pipeline.media import SweepResult
from onec_pipeline.store.media import referenced_media

from ..constants import format_count
from ..partitions import UPLOADS_PARTITIONS_NAME
from ..resources import CatalogDatabase, UploadDirs


def sweep_media(
    context: OpExecutionContext, upload_dirs: UploadDirs, catalog_db: CatalogDatabase
) -> SweepResult:
    """Remove the media files no active goods or offers row references, last named by an upload more than
    the retention period ago. The references are read and the files removed under the load lock: no import
    commits a new reference meanwhile (one still staging stored its files just now: they are recent)."""
    media = upload_dirs.media()
    if not media.root.is_dir():
        return SweepResult()
    older_than = time.time() - upload_dirs.retention() * 86400
    store = catalog_db.get_store()
    with store.locked_connection() as conn:
        referenced = referenced_media(conn, schema=store.schema)
        result = media.sweep(referenced, older_than=older_than)
    context.log.info(
        f"retention: {format_count(result.removed)} unreferenced media file(s) removed "
        f"({format_count(result.removed_bytes)} bytes), {format_count(result.kept_referenced)} referenced "
        f"and {format_count(result.kept_recent)} recent kept"
    )
    return result


@op(
    description="Remove archived uploads older than ONEC_RETENTION_DAYS (never the newest full export), then "
    "the media files no active row references that no upload named within that period."
)
def apply_archive_retention(
    context: OpExecutionContext, upload_dirs: UploadDirs, catalog_db: CatalogDatabase
) -> Output[list[str]]:
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
    media = sweep_media(context, upload_dirs, catalog_db)
    return Output(
        doomed,
        metadata={
            "uploads_removed": MetadataValue.int(len(doomed)),
            "media_removed": MetadataValue.int(media.removed),
            "media_removed_bytes": MetadataValue.int(media.removed_bytes),
            "media_kept_referenced": MetadataValue.int(media.kept_referenced),
            "media_kept_recent": MetadataValue.int(media.kept_recent),
            "retention_days": MetadataValue.int(upload_dirs.retention()),
        },
    )


@job(description="Apply the archive retention policy (archive_retention schedule).")
def archive_retention_job() -> None:
    apply_archive_retention()


archive_retention = ScheduleDefinition(
    name="archive_retention",
    cron_schedule="15 4 * * *",
    job=archive_retention_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Removes archived uploads older than ONEC_RETENTION_DAYS and their partitions (never the "
    "newest full export), and media files no active row references that no upload named in that period.",
)
