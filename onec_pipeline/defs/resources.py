"""Resources built from environment variables (read when a run starts, so definitions load without them).

Unset fields fall back to :class:`onec_pipeline.settings.Settings` (``ONEC_HOME`` based defaults), so a
fresh checkout works with nothing configured.
"""

from __future__ import annotations

import threading
from pathlib import Path

from dagster import ConfigurableResource

from onec_pipeline.settings import Settings, normalise_database_url

_stores: dict[tuple[str, str | None], object] = {}
_stores_lock = threading.Lock()


def get_store(url: str, schema: str | None):
    """One ``CatalogStore`` per (url, schema) and process: engines and the migration check are reused."""
    from onec_pipeline.store import CatalogStore

    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        schema = None
    key = (url, schema)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = CatalogStore(url, schema=schema) if schema else CatalogStore(url, schema=None)
            _stores[key] = store
        return store


class CatalogDatabase(ConfigurableResource):
    """The catalog database: ``ONEC_DATABASE_URL`` (default SQLite under ``ONEC_HOME``), ``ONEC_DB_SCHEMA``."""

    database_url: str | None = None
    db_schema: str | None = None

    def resolved_url(self) -> str:
        return normalise_database_url(self.database_url or Settings.from_env().database_url)

    def resolved_schema(self) -> str | None:
        url = self.resolved_url()
        if url.startswith("sqlite"):
            return None
        return self.db_schema or Settings.from_env().db_schema

    def get_store(self):
        return get_store(self.resolved_url(), self.resolved_schema())


class UploadDirs(ConfigurableResource):
    """Incoming and archive directories (``ONEC_IMPORT_DIR``, ``ONEC_ARCHIVE_DIR``), settling and retention."""

    import_dir: str | None = None
    archive_dir: str | None = None
    settle_seconds: float | None = None
    retention_days: int | None = None

    def incoming(self) -> Path:
        return Path(self.import_dir) if self.import_dir else Settings.from_env().import_dir

    def archive(self) -> Path:
        return Path(self.archive_dir) if self.archive_dir else Settings.from_env().archive_dir

    def settle(self) -> float:
        return self.settle_seconds if self.settle_seconds is not None else Settings.from_env().settle_seconds

    def retention(self) -> int:
        return self.retention_days if self.retention_days is not None else Settings.from_env().retention_days

    def upload_dir(self, key: str) -> Path:
        return self.archive() / key


def default_resources() -> dict[str, object]:
    return {"catalog_db": CatalogDatabase(), "upload_dirs": UploadDirs()}
