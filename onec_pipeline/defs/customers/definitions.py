"""The customers' definitions: the import and export assets, their checks and the automation sensor."""

from __future__ import annotations

from dagster import Definitions

from .assets import customer_assets
from .checks import customer_checks
from .sensors import onec_automation

defs = Definitions(assets=customer_assets, asset_checks=customer_checks, sensors=[onec_automation])
