"""Run monitoring seen working (issue 12; it replaces the old "stale after 2 h" job): a real daemon on a
temporary instance configured like ``deploy/local/dagster.yaml`` fails a run that overruns its
``dagster/max_runtime`` tag; the run's pool slot is free again, and the catalog is in a committed state.

The run is made to overrun deterministically: the test holds the catalog's load lock (as another import
would), so the run's first writing asset waits for it — a legitimate, interruptible wait — until run
monitoring terminates the run. Then the lock is released and the same partition runs to success.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from onec_pipeline import intake
from onec_pipeline.defs.constants import POOL
from onec_pipeline.defs.partitions import UPLOADS_PARTITIONS_NAME
from onec_pipeline.store.load_lock import load_lock_key
from onec_pipeline_tests.conftest import REPO_ROOT
from onec_pipeline_tests.faults.helpers import catalog_state, generate, run_import_process

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIN = Path(sys.executable).parent
MODULE = "onec_pipeline.defs.definitions"
MAX_RUNTIME = 8  # seconds, the run's dagster/max_runtime tag
POLL = 2  # run monitoring's poll interval on the test instance (the shipped one polls every 60 s)


def _instance_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is the shipped local one, polling faster."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((REPO_ROOT / "deploy" / "local" / "dagster.yaml").read_text(encoding="utf-8"))
    config["run_monitoring"]["poll_interval_seconds"] = POLL
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return home


def _launch(env: dict[str, str], key: str, **tags: str) -> str:
    run_id = os.urandom(16).hex()
    run_id = f"{run_id[:8]}-{run_id[8:12]}-{run_id[12:16]}-{run_id[16:20]}-{run_id[20:32]}"
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-m",
            MODULE,
            "-j",
            "import_catalog",
            "--run-id",
            run_id,
            "--tags",
            json.dumps({"dagster/partition": key, "onec/import": "true", **tags}),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return run_id


def _wait_for(instance, run_id: str, statuses: set, within: float):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in statuses:
            return run
        time.sleep(0.5)
    run = instance.get_run_by_id(run_id)
    raise AssertionError(f"run {run_id} is {run.status if run else 'missing'} after {within} s")


def test_run_monitoring_fails_an_overrunning_run_frees_its_slot_and_leaves_a_committed_catalog(
    pg_schema_url, tmp_path
):
    from dagster import DagsterInstance, DagsterRunStatus

    url, schema = pg_schema_url
    home = _instance_home(tmp_path)
    upload = generate(tmp_path, 0, offers=500)
    archive = tmp_path / "archive"
    archived = intake.archive_path(upload, archive, keep_source=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ONEC_", "DAGSTER_"))},
        "DAGSTER_HOME": str(home),
        "ONEC_HOME": str(tmp_path / "home"),
        "ONEC_DATABASE_URL": url,
        "ONEC_DB_SCHEMA": schema,
        "ONEC_IMPORT_DIR": str(tmp_path / "incoming"),
        "ONEC_ARCHIVE_DIR": str(archive),
    }
    (tmp_path / "incoming").mkdir()
    reference = run_import_process(upload, url, f"{schema}_ref", tmp_path / "reference")
    assert reference.returncode == 0, reference.stdout + reference.stderr

    instance = DagsterInstance.from_config(str(home))
    instance.add_dynamic_partitions(UPLOADS_PARTITIONS_NAME, [archived.key])
    engine = sa.create_engine(url)
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": load_lock_key(schema)})
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", MODULE],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        overrun = _launch(env, archived.key, **{"dagster/max_runtime": str(MAX_RUNTIME)})
        _wait_for(instance, overrun, {DagsterRunStatus.STARTED}, within=300)
        run = _wait_for(instance, overrun, {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}, within=180)
        assert run.status == DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(overrun) if e.message]
        assert any("exceeded maximum runtime of 8 seconds" in m.lower() for m in messages), "\n".join(
            messages
        )
        assert any("waiting for the load lock" in m for m in messages), "the run says what it waits for"
        assert catalog_state(url, schema) == {t: [] for t in catalog_state(url, schema)}, "nothing committed"
        pool = instance.event_log_storage.get_concurrency_info(POOL)
        assert pool.claimed_slots == [] and pool.pending_steps == [], pool

        holder.rollback()  # the other import finished
        holder.close()
        rerun = _launch(env, archived.key)
        run = _wait_for(instance, rerun, {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE}, within=300)
        assert run.status == DagsterRunStatus.SUCCESS, "the pool slot was freed and the re-run succeeded"
        assert catalog_state(url, schema) == catalog_state(url, f"{schema}_ref")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        holder.close()
        engine.dispose()
        instance.dispose()
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}_ref" CASCADE'))
        shutil.rmtree(home, ignore_errors=True)
