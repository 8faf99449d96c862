"""The import jobs operators know from the old admin page. All partitioned by upload; every run carries the
``onec/import`` tag (limited to one concurrent run in dagster.yaml). Config defaults are safe:
``dry_run: false``, ``allow_mass_deactivation: false`` (see ``ImportConfig``)."""

from __future__ import annotations

from dagster import define_asset_job

from ..constants import IMPORT_ASSETS, IMPORT_TAGS, ONLY_CHOICES
from ..partitions import uploads_partitions
from ..selection import import_selection


def _import_job(name: str, only: str, description: str):  # -> an unresolved asset job definition
    return define_asset_job(
        name=name,
        selection=import_selection(ONLY_CHOICES[only]),
        partitions_def=uploads_partitions,
        tags=IMPORT_TAGS,
        description=description,
    )


import_catalog = _import_job(
    "import_catalog", "catalog", "Groups, goods, offers, prices and stock of one upload (the full import)."
)
import_prices = _import_job("import_prices", "prices", "Price types and prices of one upload.")
import_stocks = _import_job("import_stocks", "stocks", "Warehouses and stock of one upload.")
import_customers = _import_job("import_customers", "customers", "Customers (Контрагенты) of one upload.")

# every import asset of one upload (what the sensor's runs select from); used by ``run_import`` for
# out-of-process execution (prices and rests in parallel processes)
import_upload = define_asset_job(
    name="import_upload",
    selection=import_selection(IMPORT_ASSETS),
    partitions_def=uploads_partitions,
    tags=IMPORT_TAGS,
    description="All assets of one upload (run_import --parallel; the sensor selects a subset).",
)

import_jobs = [import_catalog, import_prices, import_stocks, import_customers, import_upload]
