"""The bench's PostgreSQL: the server URL, a fresh database per run, and what a stage wrote to the catalog
tables (row counts, and rows newer than a transaction id via ``xmin``).

psycopg2 and the store are imported inside the functions: every stage runs in a spawned process that
imports this package, and its peak RSS is measured.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_SCHEMA = "onec"


def server_url_from_env() -> str:
    for name in ("ONEC_BENCH_DATABASE_URL", "ONEC_TEST_DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return DEFAULT_SERVER_URL


def sqlalchemy_url(url: str, dbname: str | None = None) -> str:
    """``postgresql+psycopg2://`` URL, optionally pointing at another database of the same server."""
    parts = urlsplit(
        url.replace("postgresql+psycopg2://", "postgresql://").replace("postgres://", "postgresql://")
    )
    path = f"/{dbname}" if dbname else parts.path
    return urlunsplit(("postgresql+psycopg2", parts.netloc, path, parts.query, ""))


def libpq_url(url: str) -> str:
    """libpq URL for psycopg2.connect."""
    return url.replace("postgresql+psycopg2://", "postgresql://")


def create_database(server_url: str, dbname: str) -> str:
    """Create ``dbname`` on the server; returns the server's version."""
    import psycopg2

    conn = psycopg2.connect(libpq_url(sqlalchemy_url(server_url)))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{dbname}"')
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    finally:
        conn.close()
    return str(version)


def drop_database(server_url: str, dbname: str) -> None:
    """End the sessions on ``dbname`` and drop it."""
    import psycopg2

    conn = psycopg2.connect(libpq_url(sqlalchemy_url(server_url)))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    finally:
        conn.close()


def migrate_catalog(db_url: str, schema: str = BENCH_SCHEMA) -> str | None:
    """Create the catalog's tables in the fresh database (Alembic, up to head), as a deployment does with
    ``onec-pipeline db upgrade`` before its first import (compose's ``catalog_migrate``); the floor's tables
    are created before its clock starts too. Returns the revision."""
    from onec_pipeline.store import CatalogStore

    store = CatalogStore(db_url, schema=schema)
    try:
        return store.upgrade()
    finally:
        store.engine.dispose()


def _catalog_tables() -> tuple[str, ...]:
    # the store's list of catalog tables (imported here: see the module docstring)
    from onec_pipeline.store.tables import CATALOG_TABLES

    return CATALOG_TABLES


def table_state(db_url: str, schema: str) -> dict[str, Any]:
    """Rows per catalog table and the current transaction id (rows with a newer xmin were written after)."""
    import psycopg2

    conn = psycopg2.connect(libpq_url(db_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT txid_current()")
            xid = cur.fetchone()[0]
            rows = {}
            for table in _catalog_tables():
                cur.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",))
                if cur.fetchone()[0] is None:
                    continue
                cur.execute(f"SELECT count(*) FROM {schema}.{table}")
                rows[table] = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return {"xid": xid, "rows": rows}


def touched_since(db_url: str, schema: str, xid: int) -> dict[str, int]:
    """Rows per catalog table inserted or updated by transactions newer than ``xid`` (via xmin)."""
    import psycopg2

    conn = psycopg2.connect(libpq_url(db_url))
    touched = {}
    try:
        with conn.cursor() as cur:
            for table in _catalog_tables():
                cur.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",))
                if cur.fetchone()[0] is None:
                    continue
                cur.execute(
                    f"SELECT count(*) FROM {schema}.{table} WHERE xmin::text::bigint > %s",
                    (xid % (1 << 32),),
                )
                touched[table] = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return touched
