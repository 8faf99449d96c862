"""``onec_orders_automation``: the automation sensor of the orders export's cron (RUNNING by default; the
customers' ``onec_automation`` covers only the customer assets, and a target may belong to one sensor).
``order_updates`` has no condition: the upload sensor is its only trigger."""

from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from .assets import order_assets

_automated = [
    key for a in order_assets for key, cond in a.automation_conditions_by_key.items() if cond is not None
]

onec_orders_automation = AutomationConditionSensorDefinition(
    "onec_orders_automation",
    target=AssetSelection.assets(*_automated),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates automation conditions (the orders export cron).",
)
