"""Intake in Dagster: the upload sensor, the import jobs and the archive retention (job and schedule)."""
