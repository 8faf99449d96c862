"""Store-test fixtures: a migrated CatalogStore per backend (SQLite file / fresh PostgreSQL schema)."""

from __future__ import annotations

import pytest

from onec_pipeline.store import CatalogStore


@pytest.fixture
def store(db_url_schema):
    url, schema = db_url_schema
    s = CatalogStore(url, schema=schema)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def pg_store(pg_schema_url):
    """A migrated CatalogStore on real PostgreSQL only (for PostgreSQL-specific behaviour)."""
    url, schema = pg_schema_url
    s = CatalogStore(url, schema=schema)
    s.upgrade()
    yield s
    s.dispose()
