"""Resources: the catalog database, the upload directories (both built from environment variables, read
when a run starts, so definitions load without them) and the import progress.

Unset fields fall back to :class:`onec_pipeline.settings.Settings` (``ONEC_HOME`` based defaults), so a
fresh checkout works with nothing configured.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from onec_pipeline.media import MediaStore
from onec_pipeline.settings import Settings, normalise_database_url
from onec_pipeline.store import CatalogStore

_stores: dict[tuple[str, str | None], CatalogStore] = {}
_stores_lock = threading.Lock()


def get_store(url: str, schema: str | None) -> CatalogStore:
    """One ``CatalogStore`` per (url, schema) and process: engines and the migration check are reused."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        schema = None
    key = (url, schema)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = CatalogStore(url, schema=schema)
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

    def get_store(self) -> CatalogStore:
        return get_store(self.resolved_url(), self.resolved_schema())


class UploadDirs(ConfigurableResource):
    """Incoming, archive and quarantine directories (``ONEC_IMPORT_DIR``, ``ONEC_ARCHIVE_DIR``,
    ``ONEC_QUARANTINE_DIR``), settling and retention; the media store (``ONEC_MEDIA_DIR``,
    ``ONEC_MEDIA_MAX_BYTES``)."""

    import_dir: str | None = None
    archive_dir: str | None = None
    quarantine_dir: str | None = None
    settle_seconds: float | None = None
    retention_days: int | None = None
    stuck_seconds: float | None = None  # ONEC_STUCK_SECONDS
    media_dir: str | None = None  # ONEC_MEDIA_DIR
    media_max_bytes: int | None = None  # ONEC_MEDIA_MAX_BYTES

    def incoming(self) -> Path:
        return Path(self.import_dir) if self.import_dir else Settings.from_env().import_dir

    def archive(self) -> Path:
        return Path(self.archive_dir) if self.archive_dir else Settings.from_env().archive_dir

    def quarantine(self) -> Path:
        return Path(self.quarantine_dir) if self.quarantine_dir else Settings.from_env().quarantine_dir

    def settle(self) -> float:
        return self.settle_seconds if self.settle_seconds is not None else Settings.from_env().settle_seconds

    def retention(self) -> int:
        return self.retention_days if self.retention_days is not None else Settings.from_env().retention_days

    def stuck(self) -> float:
        return self.stuck_seconds if self.stuck_seconds is not None else Settings.from_env().stuck_seconds

    def upload_dir(self, key: str) -> Path:
        return self.archive() / key

    def media(self) -> MediaStore:
        """The media store (product pictures), created on first write."""
        settings = Settings.from_env()
        root = Path(self.media_dir) if self.media_dir else settings.media_dir
        cap = self.media_max_bytes if self.media_max_bytes is not None else settings.media_max_bytes
        return MediaStore(root, max_bytes=cap)


class ImportProgress:
    """Where the import assets report how far they are (resource ``progress``, a plain object: assets take
    it as ``ResourceParam[ImportProgress]``).

    Events: ``start`` (``key``) when an asset begins reading, ``progress`` (``records``, ``seconds``,
    ``rate``, and ``bytes``, ``total_bytes``, ``percent``, ``eta_seconds`` by bytes of the files read) every
    ``PROGRESS_EVERY`` records, ``done`` (``records``, ``seconds``, ``has_data`` and the
    asset's counts) when it ends, also when it had nothing to read. This class reports nowhere: the code
    location's default. ``run_import`` passes a subclass that forwards to its caller (in-process runs).
    A failing report never fails an import.
    """

    def report(self, event: str, asset_name: str, details: Mapping[str, Any]) -> None:
        """Receive one event (override this)."""

    def start(self, asset_name: str, key: str) -> None:
        self._report("start", asset_name, {"key": key})

    def advance(
        self, asset_name: str, records: int, seconds: float, *, bytes_read: int = 0, total_bytes: int = 0
    ) -> None:
        rate = records / max(seconds, 1e-9)
        details: dict[str, Any] = {"records": records, "seconds": seconds, "rate": rate}
        if total_bytes:  # how far through the files: percent and the time left, by bytes read
            details.update(
                bytes=bytes_read, total_bytes=total_bytes, percent=100.0 * bytes_read / total_bytes
            )
            if bytes_read:
                details["eta_seconds"] = seconds * (total_bytes - bytes_read) / bytes_read
        self._report("progress", asset_name, details)

    def done(self, asset_name: str, *, records: int, seconds: float, has_data: bool, **counts: Any) -> None:
        details = {"records": records, "seconds": seconds, "has_data": has_data, **counts}
        self._report("done", asset_name, details)

    def _report(self, event: str, asset_name: str, details: Mapping[str, Any]) -> None:
        try:
            self.report(event, asset_name, details)
        except Exception:  # noqa: BLE001 - a display problem never fails an import
            pass


def default_resources() -> dict[str, object]:
    return {"catalog_db": CatalogDatabase(), "upload_dirs": UploadDirs(), "progress": ImportProgress()}
