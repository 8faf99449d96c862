"""The Dagster instance a run is recorded in: the given one, ``$DAGSTER_HOME``'s, or a throwaway one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dagster import DagsterInstance

# A throwaway instance's SQLite files go to shared memory when there is one: its storages commit every event
# of the run (each commit an fsync on a disk), and nothing of it outlives the run anyway.
_SHARED_MEMORY = Path("/dev/shm")


def memory_tmp_dir() -> str | None:
    """``/dev/shm`` when it is a writable directory (Linux), else None (the system temp dir)."""
    if _SHARED_MEMORY.is_dir() and os.access(_SHARED_MEMORY, os.W_OK | os.X_OK):
        return str(_SHARED_MEMORY)
    return None


def warm_forkserver() -> None:
    """Start the forkserver of a multiprocess run now, preloading what the run's executor preloads
    (``defs.executor.FORKSERVER_PRELOAD``): it imports Dagster and the definitions on the other core while
    this process archives the upload and creates the run's instance. The executor later finds it running
    with the same modules loaded (its own ``set_forkserver_preload`` applies only to a server it starts)."""
    if os.environ.get("ONEC_EXECUTOR", "").strip().lower() == "in_process":
        return
    import multiprocessing
    from multiprocessing import forkserver

    from onec_pipeline.defs.executor import FORKSERVER_PRELOAD

    preload = ["dagster._core.executor.multiprocess", *FORKSERVER_PRELOAD]
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    forkserver.ensure_running()


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
        with tempfile.TemporaryDirectory(prefix="onec-dagster-", dir=memory_tmp_dir()) as tmp:
            with DagsterInstance.local_temp(tmp) as temporary:
                yield temporary
