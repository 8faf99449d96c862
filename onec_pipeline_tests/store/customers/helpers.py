"""Helpers shared by the customers tests: a catalog database with the customers tables, site rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Customer, Source
from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store import customers as cs
from onec_pipeline.store.catalog import MIGRATIONS_DIR

KEY1 = "20261120T101500-aaaaaaaa"
KEY2 = "20261121T101500-bbbbbbbb"
KEY0 = "20261119T101500-00000000"


MIGRATIONS = MIGRATIONS_DIR


_SQLITE_TEMPLATE: list[Path] = []


def _sqlite_template() -> Path:
    """A SQLite catalog migrated once per test session (real Alembic run); tests get copies of it."""
    if not _SQLITE_TEMPLATE:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="onec-customers-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.sqlite3"
        _upgrade(sa.create_engine(f"sqlite:///{template}"), None).dispose()
        _SQLITE_TEMPLATE.append(template)
    return _SQLITE_TEMPLATE[0]


def _upgrade(engine: sa.Engine, schema: str | None) -> sa.Engine:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["schema"] = schema
        command.upgrade(config, "head")
    return engine


def migrate(url: str, schema: str | None) -> sa.Engine:
    """An engine on ``url`` whose catalog schema was created by the real Alembic migrations (0001 + 0002).

    SQLite databases are copies of one database migrated per session (same bytes, faster tests).
    """
    url = normalise_database_url(url)
    if url.startswith("sqlite:///"):
        import shutil

        target = Path(url[len("sqlite:///") :])
        shutil.copyfile(_sqlite_template(), target)
        return sa.create_engine(url)
    return _upgrade(sa.create_engine(url), schema)


def contragent(onec_id: str, name: str = "ООО Ромашка", **kw) -> Customer:
    kw.setdefault("source", Source("contractors.xml", 3))
    return Customer(id=onec_id, name=name, **kw)


def site_row(conn: sa.Connection, schema: str | None = None, **values) -> int:
    """Insert a customer the way the storefront does: no onec_id, needs export."""
    values.setdefault("name", "Site customer")
    values.setdefault("needs_1c_export", True)
    values.setdefault("created_in_1c", False)
    values.setdefault("sync_status", "pending")
    values.setdefault("is_active", True)
    values.setdefault("created_at", datetime.now(UTC).replace(tzinfo=None))
    values.setdefault("updated_at", datetime.now(UTC).replace(tzinfo=None))
    t = cs.customer_tables(schema).customers
    return conn.execute(t.insert().values(**values).returning(t.c.id)).scalar_one()


def _all(conn: sa.Connection, table: sa.Table) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def rows(conn: sa.Connection, schema: str | None = None) -> list[dict]:
    return _all(conn, cs.customer_tables(schema).customers)


def log_rows(conn: sa.Connection, schema: str | None = None) -> list[dict]:
    return _all(conn, cs.customer_tables(schema).log)


def conflict_rows(conn: sa.Connection, schema: str | None = None) -> list[dict]:
    return _all(conn, cs.customer_tables(schema).conflicts)
