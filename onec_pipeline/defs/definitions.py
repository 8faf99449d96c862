"""The one ``Definitions`` of the ``onec_pipeline`` code location."""

from __future__ import annotations

import os

from dagster import Definitions, in_process_executor, multiprocess_executor

from onec_pipeline.defs.assets import catalog_assets
from onec_pipeline.defs.checks import audit_checks
from onec_pipeline.defs.customers import customer_assets, customer_checks
from onec_pipeline.defs.jobs import (
    archive_retention_job,
    catalog_audit_job,
    import_catalog,
    import_prices,
    import_stocks,
    make_import_customers,
    make_import_upload,
)
from onec_pipeline.defs.resources import default_resources
from onec_pipeline.defs.schedules import make_schedules
from onec_pipeline.defs.sensors import make_automation_sensor, onec_upload_sensor

_audit_job = catalog_audit_job()
_has_customers = any(a.key.path[-1] == "customers" for a in customer_assets)
_customers_job = make_import_customers(_has_customers)
_upload_job = make_import_upload(_has_customers)
_automation_sensor = make_automation_sensor()


def _executor():
    """``ONEC_EXECUTOR=in_process`` runs every step of a run in one process.

    The default (multiprocess) isolates steps and lets prices and rests of one run proceed side by side. Its
    step processes are forked from a forkserver that has imported Dagster and these definitions once per run
    (``FORKSERVER_PRELOAD``), instead of each step starting Python and importing them again (2–3 s per step
    with ``spawn``, Dagster's default). The demo chooses in_process so the seeded upload is imported within
    seconds of start on a small machine.
    """
    mode = os.environ.get("ONEC_EXECUTOR", "").strip().lower() or "multiprocess"
    if mode not in ("multiprocess", "in_process"):
        raise ValueError(f"ONEC_EXECUTOR must be 'multiprocess' or 'in_process', not {mode!r}")
    if mode == "in_process":
        return in_process_executor
    return multiprocess_executor.configured(
        {"start_method": {"forkserver": {"preload_modules": list(FORKSERVER_PRELOAD)}}},
        name="multiprocess",
    )


# what a run's forkserver imports once, before it forks the step processes: Dagster, these definitions and
# what every step imports next (the instance's storages, the catalog store and its migrations); measured on
# a no-op run, the step processes otherwise spent half their time importing storage modules
FORKSERVER_PRELOAD = (
    "dagster",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.instance.factory",
    "dagster_postgres",
    "alembic.command",
    "alembic.runtime.migration",
    "onec_pipeline.store.catalog",
    "onec_pipeline.store.customers",
    "onec_pipeline.defs.definitions",
)


defs = Definitions(
    assets=[*catalog_assets, *customer_assets],
    asset_checks=[*audit_checks, *customer_checks],
    jobs=[
        j
        for j in (
            import_catalog,
            import_prices,
            import_stocks,
            _customers_job,
            _upload_job,
            _audit_job,
            archive_retention_job,
        )
        if j is not None
    ],
    schedules=make_schedules(_audit_job),
    sensors=[s for s in (onec_upload_sensor, _automation_sensor) if s is not None],
    resources=default_resources(),
    executor=_executor(),
)
