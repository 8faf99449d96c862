"""Shared fixtures: the sample corpus, a real PostgreSQL database per test session, catalog stores.

PostgreSQL: ``ONEC_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names a
server and a maintenance database. The session creates a fresh database there with pytest-postgresql's
``DatabaseJanitor`` and drops it at the end. Tests that need it skip with the reason when no server
answers, except under ``CI=true`` where a missing server is an error.
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# ONEC_SAMPLES_DIR points a git worktree elsewhere at the corpus (default: ../shared next to the repository)
SAMPLES_DIR = Path(
    os.environ.get("ONEC_SAMPLES_DIR", "").strip() or REPO_ROOT.parent / "shared" / "commerceml" / "samples"
).resolve()
DEFAULT_TEST_DB_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def sample_uploads() -> list[Path]:
    """Every upload folder of the shared sample corpus (empty list when the corpus is absent)."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"sample corpus missing at {SAMPLES_DIR} (it must be present under CI)")
        pytest.skip(f"sample corpus not found at {SAMPLES_DIR}")
    return SAMPLES_DIR


def _server_url() -> str:
    return os.environ.get("ONEC_TEST_DATABASE_URL", "").strip() or DEFAULT_TEST_DB_URL


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"no PostgreSQL server for tests: {reason} (set ONEC_TEST_DATABASE_URL)")


@pytest.fixture(scope="session")
def pg_database_url() -> str:
    """URL of a fresh PostgreSQL database created for this test session (dropped afterwards)."""
    from pytest_postgresql.janitor import DatabaseJanitor

    url = _server_url()
    parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://"))
    dbname = f"onec_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    janitor = DatabaseJanitor(
        user=parts.username or "postgres",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        password=parts.password,
        dbname=dbname,
        maintenance_dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        connection_timeout=3,
    )
    try:
        janitor.init()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        _unavailable(f"{url}: {exc}".splitlines()[0])
    try:
        netloc = parts.netloc
        yield urlunsplit(("postgresql+psycopg2", netloc, f"/{dbname}", "", ""))
    finally:
        janitor.drop()


_schema_counter = itertools.count()


@pytest.fixture
def pg_schema_url(pg_database_url: str):
    """(url, schema): a schema of the session database that exists for one test only."""
    import sqlalchemy as sa

    schema = f"t{next(_schema_counter)}_{uuid.uuid4().hex[:6]}"
    yield pg_database_url, schema
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url_schema(request, tmp_path: Path):
    """(url, schema) for each backend: run the same assertions on SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite3'}", None
    return request.getfixturevalue("pg_schema_url")
