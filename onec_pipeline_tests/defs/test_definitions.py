"""The code location loads and validates; the instance configs give the queue, pool and monitoring."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dagster import AssetKey, DagsterInstance

from onec_pipeline_tests.conftest import REPO_ROOT

PIPELINE_ASSETS = {"groups", "goods", "offers", "prices", "rests"}


def test_dagster_definitions_validate(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ONEC_"))}
    env["DAGSTER_HOME"] = str(tmp_path)  # never the repository's production dagster.yaml
    shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", tmp_path / "dagster.yaml")
    exe = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(exe), "definitions", "validate", "-m", "onec_pipeline.defs.definitions"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr


def test_definitions_shape():
    from onec_pipeline.defs.definitions import defs

    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = {k.path[-1] for k in graph.get_all_asset_keys()}
    assert PIPELINE_ASSETS <= keys
    parents = {n: {p.path[-1] for p in graph.get(AssetKey(n)).parent_keys} for n in PIPELINE_ASSETS}
    assert parents == {
        "groups": set(),
        "goods": {"groups"},
        "offers": {"goods"},
        "prices": {"offers"},
        "rests": {"offers"},
    }
    for name in PIPELINE_ASSETS:
        node = graph.get(AssetKey(name))
        assert node.partitions_def is not None and node.partitions_def.name == "uploads"
        assert node.pools == {"onec_catalog"}
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {
        "import_catalog",
        "import_prices",
        "import_stocks",
        "catalog_audit",
        "archive_retention_job",
    } <= jobs
    for name in ("import_catalog", "import_prices", "import_stocks"):
        job = repo.get_job(name)
        assert job.tags.get("onec/import") == "true"
        assert job.partitions_def is not None and job.partitions_def.name == "uploads"
    assert {n.split("/")[-1] for n in (s.name for s in repo.schedule_defs)} == {
        "nightly_catalog_audit",
        "archive_retention",
    }
    sensors = {s.name: s for s in repo.sensor_defs}
    sensor = sensors["onec_upload_sensor"]
    assert all(s.default_status.value == "RUNNING" for s in sensors.values())
    if "customers" in keys:
        assert "import_customers" in jobs
    assert sensor.default_status.value == "RUNNING"
    # blocking policy
    checks = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert checks["prices_not_negative"].blocking
    assert checks["goods_rejects"].blocking and checks["offers_rejects"].blocking
    assert not checks["rests_negative_stock"].blocking
    assert not checks["offers_references"].blocking


def test_multiprocess_steps_fork_from_a_preloaded_forkserver(monkeypatch):
    """The sensor's runs start each step from a forkserver that imported the definitions once (or, when
    their config says so, run the steps on threads); the modules it preloads must exist (a wrong name would
    fail every run), ONEC_EXECUTOR=in_process still wins."""
    import importlib
    from types import SimpleNamespace

    from dagster._core.executor.multiprocess import MultiprocessExecutor

    from onec_pipeline.defs import executor as d

    executor = d.run_executor()
    assert executor is d.steps_executor and executor.name == "multiprocess"
    default = executor.config_schema.config_type.fields["steps"].default_value
    assert default == "processes"

    def create(steps: str):
        return executor.executor_creation_fn(SimpleNamespace(executor_config={"steps": steps}))

    processes = create("processes")
    assert isinstance(processes, MultiprocessExecutor)
    assert processes._start_method == "forkserver"
    assert processes._explicit_forkserver_preload == list(d.FORKSERVER_PRELOAD)
    assert isinstance(create("threads"), d.ThreadedInProcessExecutor)
    assert "onec_pipeline.defs.definitions" in d.FORKSERVER_PRELOAD
    for module in d.FORKSERVER_PRELOAD:
        importlib.import_module(module)
    monkeypatch.setenv("ONEC_EXECUTOR", "in_process")
    assert d.run_executor() is d.threaded_in_process_executor


def test_a_small_upload_runs_its_steps_on_threads():
    from onec_pipeline.defs import executor as d

    limit = d.THREADED_RUN_BELOW_BYTES
    assert d.steps_for_upload(0) == d.steps_for_upload(limit - 1) == "threads"
    assert d.steps_for_upload(limit) == d.steps_for_upload(50 * limit) == "processes"
    assert d.execution_config("threads") == {"execution": {"config": {"steps": "threads"}}}
    # the sensor's run config is valid whichever executor ONEC_EXECUTOR chose (the demo: in_process)
    from dagster import DagsterInvalidConfigError, validate_run_config

    from onec_pipeline.defs.definitions import defs

    job = defs.resolve_job_def("import_upload")
    for executor in (d.steps_executor, d.threaded_in_process_executor):
        for steps in d.STEPS:
            assert validate_run_config(job.with_executor_def(executor), d.execution_config(steps))
        with pytest.raises(DagsterInvalidConfigError):
            validate_run_config(
                job.with_executor_def(executor), {"execution": {"config": {"steps": "fibres"}}}
            )
    with pytest.raises(ValueError, match="steps must be one of"):
        d.execution_config("fibres")


def _assert_common(instance: DagsterInstance) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator

    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    cfg = instance.get_concurrency_config()
    queue = cfg.run_queue_config
    assert {"key": "onec/import", "limit": 1} in queue.tag_concurrency_limits
    assert cfg.pool_config.default_pool_limit == 1  # pool onec_catalog has 1 slot
    assert cfg.pool_config.pool_granularity.value == "run"
    assert queue.should_block_op_concurrency_limited_runs
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_runtime_seconds == 7200
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert instance.get_settings("telemetry")["enabled"] is False
    # the pool limit materialises in the instance's concurrency storage
    instance.event_log_storage.initialize_concurrency_limit_to_default("onec_catalog")
    assert instance.event_log_storage.get_concurrency_info("onec_catalog").slot_count == 1


@pytest.mark.postgres
def test_production_dagster_yaml_on_real_postgres(pg_database_url, tmp_path, monkeypatch):
    parts = urlsplit(pg_database_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", parts.hostname or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(parts.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", parts.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", parts.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", parts.path.lstrip("/"))
    shutil.copyfile(REPO_ROOT / "deploy" / "production" / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        _assert_common(instance)
        # the storage really is the test database: a run written here is read back
        instance.add_dynamic_partitions("uploads", ["20261120T101500-0badc0de"])
        assert instance.get_dynamic_partitions("uploads") == ["20261120T101500-0badc0de"]


def test_local_dagster_yaml_sqlite(tmp_path):
    shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        from dagster._core.storage.runs import SqliteRunStorage

        assert isinstance(instance.run_storage, SqliteRunStorage)
        _assert_common(instance)
        assert (tmp_path / "history").is_dir()  # storage under DAGSTER_HOME


def test_workspace_yaml_points_at_the_definitions():
    import yaml

    ws = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    [entry] = ws["load_from"]
    assert entry["python_module"]["module_name"] == "onec_pipeline.defs.definitions"
    assert entry["python_module"]["location_name"] == "onec_pipeline"
