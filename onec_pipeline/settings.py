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
    # intake reliability: an export time further than this ahead of an upload's arrival is not trusted
    # for the upload key (ONEC_FUTURE_TOLERANCE, seconds)
    future_tolerance_seconds: float = 86400.0

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
            future_tolerance_seconds=float(_env("ONEC_FUTURE_TOLERANCE", "86400")),
        )


def normalise_database_url(url: str) -> str:
    """SQLAlchemy 2.1 maps bare ``postgresql://`` to psycopg 3; we ship psycopg2 (see dagster-notes)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long the catalog database may keep an import waiting, in seconds (0: no limit), per situation.

    Every one is an environment variable (README, "Configuration reference"); the store applies them to every
    PostgreSQL connection it opens (``onec_pipeline.store.engine``). They are chosen so that a long legitimate
    load (minutes, many statements, some of them long) is never cut short, while a server that stops answering
    fails the import within ``stall`` seconds plus one probe.
    """

    connect: float = 10  # ONEC_DB_CONNECT_TIMEOUT: establishing a connection (libpq connect_timeout)
    stall: float = 60  # ONEC_DB_STALL_TIMEOUT: a server that stops answering (liveness probes, keepalives)
    statement: float = 3600  # ONEC_DB_STATEMENT_TIMEOUT: one SQL statement (statement_timeout)
    lock: float = 300  # ONEC_DB_LOCK_TIMEOUT: a row or table lock another session holds (lock_timeout)
    load_lock: float = 7200  # ONEC_DB_LOAD_LOCK_TIMEOUT: waiting for another import to finish writing
    idle_in_transaction: float = 900  # ONEC_DB_IDLE_TRANSACTION_TIMEOUT: a client silent inside a transaction

    @classmethod
    def from_env(cls) -> DatabaseTimeouts:
        defaults = cls()
        return cls(
            connect=float(_env("ONEC_DB_CONNECT_TIMEOUT", str(defaults.connect))),
            stall=float(_env("ONEC_DB_STALL_TIMEOUT", str(defaults.stall))),
            statement=float(_env("ONEC_DB_STATEMENT_TIMEOUT", str(defaults.statement))),
            lock=float(_env("ONEC_DB_LOCK_TIMEOUT", str(defaults.lock))),
            load_lock=float(_env("ONEC_DB_LOAD_LOCK_TIMEOUT", str(defaults.load_lock))),
            idle_in_transaction=float(
                _env("ONEC_DB_IDLE_TRANSACTION_TIMEOUT", str(defaults.idle_in_transaction))
            ),
        )
