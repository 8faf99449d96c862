"""The orders' definitions: the update and export assets, their checks and the export's automation sensor."""

from __future__ import annotations

from dagster import Definitions

from .assets import order_assets
from .checks import order_checks
from .sensors import onec_orders_automation

defs = Definitions(assets=order_assets, asset_checks=order_checks, sensors=[onec_orders_automation])
