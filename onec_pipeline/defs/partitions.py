"""The dynamic partitions: one partition per archived upload, keyed ``YYYYMMDDTHHMMSS-<hash8>``."""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

UPLOADS_PARTITIONS_NAME = "uploads"

uploads_partitions = DynamicPartitionsDefinition(name=UPLOADS_PARTITIONS_NAME)
