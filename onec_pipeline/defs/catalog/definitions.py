"""The catalog's definitions: its assets, ``shop_rules`` (the rules re-evaluated) and its job, the nightly
audit job and schedule (the audit checks are checks of ``catalog_summary``)."""

from __future__ import annotations

from dagster import Definitions

from .assets import catalog_assets
from .audit import catalog_audit, nightly_catalog_audit
from .rules import reevaluate_shop_rules, shop_rules

defs = Definitions(
    assets=[*catalog_assets, shop_rules],
    jobs=[catalog_audit, reevaluate_shop_rules],
    schedules=[nightly_catalog_audit],
)
