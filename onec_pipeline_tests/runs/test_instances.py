"""The instances ``run_import`` records its runs in: a throwaway instance of a multiprocess run lives in
shared memory where there is one, and the forkserver of such a run can be started ahead of it."""

from __future__ import annotations

import os
from multiprocessing import forkserver
from pathlib import Path

from onec_pipeline.runs.instances import memory_tmp_dir, persistent_instance, warm_forkserver


def test_a_throwaway_instance_lives_in_shared_memory_and_goes_away(monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with persistent_instance(None) as instance:
        root = Path(instance.root_directory)
        assert root.is_dir() and not instance.is_ephemeral
        if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
            assert memory_tmp_dir() == "/dev/shm" and root.is_relative_to("/dev/shm")
    assert not root.exists()


def test_the_forkserver_is_started_with_the_executors_preload(monkeypatch) -> None:
    monkeypatch.setenv("ONEC_EXECUTOR", "in_process")
    before = forkserver._forkserver._forkserver_pid
    warm_forkserver()  # an in-process executor has no forkserver to warm
    assert forkserver._forkserver._forkserver_pid == before
    monkeypatch.delenv("ONEC_EXECUTOR")
    try:
        warm_forkserver()
        pid = forkserver._forkserver._forkserver_pid
        assert pid is not None
        assert "onec_pipeline.defs.definitions" in forkserver._forkserver._preload_modules
        warm_forkserver()  # idempotent: the running server stays
        assert forkserver._forkserver._forkserver_pid == pid
    finally:
        if before is None:  # leave no server behind: a later run's steps would inherit this environment
            forkserver._forkserver._stop()
