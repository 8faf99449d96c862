"""Both instance configs load into a real Dagster instance: the production ``deploy/production/dagster.yaml``
(what the image copies into ``$DAGSTER_HOME``) against a real PostgreSQL database (with the DAGSTER_PG_*
variables docker-compose.yml passes), the demo's ``deploy/local/dagster.yaml`` on SQLite; and the demo keeps
production's concurrency and monitoring."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from onec_pipeline_tests.conftest import REPO_ROOT

PROD = REPO_ROOT / "deploy" / "production" / "dagster.yaml"
LOCAL = REPO_ROOT / "deploy" / "local" / "dagster.yaml"
SHARED_KEYS = ("run_coordinator", "concurrency", "run_monitoring")


def _load(path: Path) -> dict:
    if not path.exists():
        pytest.skip(f"{path.relative_to(REPO_ROOT)} not written yet")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _assert_operational_settings(instance) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator

    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    queue = instance.get_concurrency_config().run_queue_config
    assert {"key": "onec/import", "limit": 1} in [dict(t) for t in queue.tag_concurrency_limits]
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_runtime_seconds > 0


def test_local_config_keeps_production_concurrency_and_monitoring():
    prod, local = _load(PROD), _load(LOCAL)
    for key in SHARED_KEYS:
        assert local.get(key) == prod.get(key), key
    assert "storage" not in local or "postgres" not in local["storage"]


def test_local_config_loads_into_a_sqlite_instance(tmp_path):
    from dagster import DagsterInstance
    from dagster._core.storage.runs import SqliteRunStorage

    _load(LOCAL)
    shutil.copyfile(LOCAL, tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        _assert_operational_settings(instance)
        assert instance.get_runs() == []  # storage initialised and readable
    finally:
        instance.dispose()


@pytest.mark.postgres
def test_production_config_loads_against_real_postgres(pg_database_url, tmp_path, monkeypatch):
    """A dedicated database (Dagster creates its tables in ``public``), removed afterwards."""
    import sqlalchemy as sa
    from dagster import DagsterInstance, DagsterRun
    from dagster_postgres import PostgresRunStorage

    _load(PROD)
    parts = urlsplit(pg_database_url)
    dbname = f"onec_dagster_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    monkeypatch.setenv("DAGSTER_PG_HOST", parts.hostname or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(parts.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", parts.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", parts.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", dbname)
    shutil.copyfile(PROD, tmp_path / "dagster.yaml")
    try:
        instance = DagsterInstance.from_config(str(tmp_path))
        try:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            _assert_operational_settings(instance)
            run = instance.add_run(DagsterRun(job_name="deploy_smoke", run_id=str(uuid.uuid4())))
            assert [r.run_id for r in instance.get_runs()] == [run.run_id]
        finally:
            instance.dispose()
        with sa.create_engine(pg_database_url.rsplit("/", 1)[0] + f"/{dbname}").connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {"runs", "event_logs"} <= tables  # the storage really is in that database
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": dbname},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        admin.dispose()
