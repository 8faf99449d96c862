"""The customers tables of a schema, from the store's one MetaData (declared in ``store/tables/customers``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from onec_pipeline.store.tables import metadata, table_in


@dataclass(frozen=True)
class CustomerTables:
    customers: sa.Table
    conflicts: sa.Table
    log: sa.Table
    #: the store's bookkeeping table, shared by every entity: customers' full exports are recorded there
    full_exports: sa.Table


def customer_tables(schema: str | None = None) -> CustomerTables:
    """The customers tables in ``schema`` (``None`` for SQLite / the default schema)."""
    md = metadata(schema)
    return CustomerTables(
        customers=table_in(md, "customers"),
        conflicts=table_in(md, "customer_conflicts"),
        log=table_in(md, "customer_sync_log"),
        full_exports=table_in(md, "full_exports"),
    )


def tables_for(conn: sa.Connection, schema: str | None) -> CustomerTables:
    """The tables as ``conn`` sees them (SQLite has no schemas)."""
    return customer_tables(None if conn.dialect.name == "sqlite" else schema)
