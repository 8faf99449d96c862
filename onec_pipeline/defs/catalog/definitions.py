"""The catalog's definitions: its assets, the nightly audit job and schedule (the audit checks are checks of
``catalog_summary``)."""

from __future__ import annotations

from dagster import Definitions

from .assets import catalog_assets
from .audit import catalog_audit, nightly_catalog_audit

defs = Definitions(
    assets=catalog_assets,
    jobs=[catalog_audit],
    schedules=[nightly_catalog_audit],
)
