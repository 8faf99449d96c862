"""The orders tables of a schema, from the store's one MetaData (declared in ``store/tables/orders``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from onec_pipeline.store.tables import metadata, table_in


@dataclass(frozen=True)
class OrderTables:
    orders: sa.Table
    items: sa.Table
    batches: sa.Table
    customers: sa.Table
    customer_log: sa.Table
    offers: sa.Table


def order_tables(schema: str | None = None) -> OrderTables:
    """The orders tables in ``schema`` (``None`` for SQLite / the default schema), and the tables they
    refer to."""
    md = metadata(schema)
    return OrderTables(
        orders=table_in(md, "orders"),
        items=table_in(md, "order_items"),
        batches=table_in(md, "order_export_batches"),
        customers=table_in(md, "customers"),
        customer_log=table_in(md, "customer_sync_log"),
        offers=table_in(md, "offers"),
    )


def tables_for(conn: sa.Connection, schema: str | None) -> OrderTables:
    """The tables as ``conn`` sees them (SQLite has no schemas)."""
    return order_tables(None if conn.dialect.name == "sqlite" else schema)
