"""The Dagster instance a run is recorded in: the given one, ``$DAGSTER_HOME``'s, or a throwaway one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from dagster import DagsterInstance


def _dagster_home_set() -> bool:
    return bool(os.environ.get("DAGSTER_HOME", "").strip())


@contextlib.contextmanager
def run_instance(instance: DagsterInstance | None) -> Iterator[DagsterInstance]:
    """For in-process runs: the given instance, the one at ``$DAGSTER_HOME`` when that is set, else an
    ephemeral in-memory instance (nothing is left behind)."""
    if instance is not None:
        yield instance
    elif _dagster_home_set():
        yield DagsterInstance.get()
    else:
        with DagsterInstance.ephemeral() as ephemeral:
            yield ephemeral


@contextlib.contextmanager
def persistent_instance(instance: DagsterInstance | None) -> Iterator[DagsterInstance]:
    """For out-of-process runs, which need a persistent instance: the given one (unless ephemeral), the one
    at ``$DAGSTER_HOME``, or a temporary one removed afterwards."""
    if instance is not None and not instance.is_ephemeral:
        yield instance
    elif _dagster_home_set():
        yield DagsterInstance.get()
    else:
        with tempfile.TemporaryDirectory(prefix="onec-dagster-") as tmp:
            with DagsterInstance.local_temp(tmp) as temporary:
                yield temporary
