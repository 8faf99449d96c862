"""Environment-driven settings shared by the CLI, the Dagster definitions and the tests.

Every variable has a default so that a fresh checkout runs with nothing configured:
everything lives under ``ONEC_HOME`` (default ``./var``) and the catalog is a SQLite file there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    home: Path
    import_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    outbox_dir: Path
    database_url: str
    db_schema: str
    settle_seconds: float
    retention_days: int
    stuck_seconds: float  # an upload incomplete and unchanged this long is reported stuck

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(_env("ONEC_HOME", "./var")).resolve()
        return cls(
            home=home,
            import_dir=Path(_env("ONEC_IMPORT_DIR", str(home / "1c_import"))).resolve(),
            archive_dir=Path(_env("ONEC_ARCHIVE_DIR", str(home / "archive"))).resolve(),
            quarantine_dir=Path(_env("ONEC_QUARANTINE_DIR", str(home / "quarantine"))).resolve(),
            outbox_dir=Path(_env("ONEC_OUTBOX_DIR", str(home / "outbox"))).resolve(),
            database_url=_env("ONEC_DATABASE_URL", f"sqlite:///{home / 'catalog.sqlite3'}"),
            db_schema=_env("ONEC_DB_SCHEMA", "onec"),
            settle_seconds=float(_env("ONEC_SETTLE_SECONDS", "30")),
            retention_days=int(_env("ONEC_RETENTION_DAYS", "90")),
            stuck_seconds=float(_env("ONEC_STUCK_SECONDS", "1800")),
        )


def normalise_database_url(url: str) -> str:
    """SQLAlchemy 2.1 maps bare ``postgresql://`` to psycopg 3; we ship psycopg2 (see dagster-notes)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url
