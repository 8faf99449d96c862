"""Store-test fixtures: a migrated CatalogStore per backend (SQLite file / fresh PostgreSQL schema)."""

from __future__ import annotations

import pytest

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
