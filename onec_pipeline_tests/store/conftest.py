"""Store-test fixtures: a migrated CatalogStore per backend (SQLite file / fresh PostgreSQL schema)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from onec_pipeline.store import CatalogStore


def _migrated(url: str, schema: str | None):
    s = CatalogStore(url, schema=schema)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def store(db_url_schema):
    yield from _migrated(*db_url_schema)


@pytest.fixture
def pg_store(pg_schema_url):
    """A migrated CatalogStore on real PostgreSQL only (for PostgreSQL-specific behaviour)."""
    yield from _migrated(*pg_schema_url)


@pytest.fixture
def two_stores(db_url_schema, tmp_path):
    """Two migrated stores on the same backend (the second one: a reference to compare with)."""
    url, schema = db_url_schema
    if schema is None:
        ref_url = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        ref_schema = None
    else:
        ref_url, ref_schema = url, f"{schema}_ref_{uuid.uuid4().hex[:4]}"
    a, b = CatalogStore(url, schema=schema), CatalogStore(ref_url, schema=ref_schema)
    a.upgrade()
    b.upgrade()
    yield a, b
    a.dispose()
    if ref_schema:
        with b.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{ref_schema}" CASCADE'))
    b.dispose()
