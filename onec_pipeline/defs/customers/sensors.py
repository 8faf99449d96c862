"""``onec_automation``: the automation sensor for the assets that declare an automation condition (the
customers export's cron).

RUNNING by default (Dagster's implicit automation sensor starts STOPPED). The catalog and customer import
assets have no condition: the upload sensor is their only trigger (one trigger per asset).
"""

from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from .assets import customer_assets

_automated = [
    key for a in customer_assets for key, cond in a.automation_conditions_by_key.items() if cond is not None
]

onec_automation = AutomationConditionSensorDefinition(
    "onec_automation",
    target=AssetSelection.assets(*_automated),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates automation conditions (the customers export cron).",
)
