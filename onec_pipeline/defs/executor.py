"""The executor of every run of the code location (``ONEC_EXECUTOR``)."""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

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


def run_executor() -> ExecutorDefinition:
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
