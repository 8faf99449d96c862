"""Schedules: the nightly catalog audit and the archive retention."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from onec_pipeline.defs.jobs import archive_retention_job


def make_schedules(audit_job) -> list[ScheduleDefinition]:
    return [
        ScheduleDefinition(
            name="nightly_catalog_audit",
            cron_schedule="30 2 * * *",
            job=audit_job,
            default_status=DefaultScheduleStatus.RUNNING,
            description="Runs the catalog-wide integrity checks every night.",
        ),
        ScheduleDefinition(
            name="archive_retention",
            cron_schedule="15 4 * * *",
            job=archive_retention_job,
            default_status=DefaultScheduleStatus.RUNNING,
            description="Removes archived uploads older than ONEC_RETENTION_DAYS and their partitions; "
            "never the newest full export.",
        ),
    ]
