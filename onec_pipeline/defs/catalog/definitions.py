"""The catalog's definitions: its assets, the nightly audit checks, job and schedule."""

from __future__ import annotations

from dagster import Definitions

from .assets import catalog_assets
from .audit import catalog_audit, catalog_audit_checks, nightly_catalog_audit

defs = Definitions(
    assets=catalog_assets,
    asset_checks=[catalog_audit_checks],
    jobs=[catalog_audit],
    schedules=[nightly_catalog_audit],
)
