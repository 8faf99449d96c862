"""The summary's definitions: the ``catalog_summary`` asset, its refresh job and the sensor after imports."""

from __future__ import annotations

from dagster import Definitions

from .assets import catalog_summary
from .sensors import catalog_summary_after_imports, refresh_catalog_summary

defs = Definitions(
    assets=[catalog_summary], jobs=[refresh_catalog_summary], sensors=[catalog_summary_after_imports]
)
