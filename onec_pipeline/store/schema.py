"""The store's table contract, as the migrations and older callers import it.

The tables themselves are declared by family in :mod:`onec_pipeline.store.tables` (one MetaData for all);
this module re-exports the names migrations ``0001``–``0003`` import (column types, :func:`migration_schema`)
and the table lists (:data:`META_TABLES` is the old name of ``BOOKKEEPING_TABLES``).

Bookkeeping columns on every catalog row (see docs/ARCHITECTURE.md, "Version guard"):

* ``data_key``   key of the upload whose record content the row holds (the content version);
* ``upload_key`` key of the upload that last touched the row: the content writer, or a newer full export
  that deactivated the row (``upload_key >= data_key``);
* ``exported_at`` the export time of the upload named by ``upload_key``;
* ``updated_at`` wall clock of the last write (exclude it from replay-equality comparisons).

Tables with deletion marks also have ``deleted`` (the mark of the record that wrote the content) and
``is_active``, which always equals ``NOT deleted AND upload_key = data_key``.
"""

from __future__ import annotations

from onec_pipeline.store.tables import (
    ACTIVE_TABLES,
    BOOKKEEPING_TABLES,
    CATALOG_TABLES,
    CUSTOMER_TABLES,
    build_metadata,
)
from onec_pipeline.store.tables.columns import ExactDecimal, Id, Json, VersionKey, decimal_text

META_TABLES = BOOKKEEPING_TABLES

__all__ = [
    "ACTIVE_TABLES",
    "BOOKKEEPING_TABLES",
    "CATALOG_TABLES",
    "CUSTOMER_TABLES",
    "META_TABLES",
    "ExactDecimal",
    "Id",
    "Json",
    "VersionKey",
    "build_metadata",
    "decimal_text",
    "migration_schema",
]


def migration_schema() -> str | None:
    """The target schema inside an Alembic migration script (``None`` on SQLite).

    Migrations call this instead of hard-coding ``onec``. Alembic's ``context`` is imported here: it only
    answers while a migration runs (importing it here costs the store's other importers nothing).
    """
    from alembic import context

    schema = context.config.attributes.get("schema")
    if schema is None:
        schema = context.get_x_argument(as_dictionary=True).get("schema")
    if context.get_context().dialect.name == "sqlite":
        return None
    return schema or None
