"""Intake's definitions: the upload sensor, the import jobs, the archive retention job and schedule."""

from __future__ import annotations

from dagster import Definitions

from .jobs import import_jobs, stuck_upload
from .quarantine import quarantined_upload
from .retention import archive_retention, archive_retention_job
from .sensors import onec_upload_sensor

defs = Definitions(
    jobs=[*import_jobs, stuck_upload, quarantined_upload, archive_retention_job],
    schedules=[archive_retention],
    sensors=[onec_upload_sensor],
)
