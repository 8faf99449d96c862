"""Every table of the store on ONE :class:`~sqlalchemy.MetaData`, declared by family, one module each.

``catalog`` (the record entities the storefront reads), ``bookkeeping`` (rejects, full exports, uploads,
applied uploads), ``customers`` and ``orders``. :func:`build_metadata` puts every family's tables on one MetaData for a
schema (``onec`` on PostgreSQL by default; ``None`` on SQLite); :func:`metadata` is the cached one the store,
the customers module and the applied-upload bookkeeping share. The Alembic migrations in
``store/migrations`` create exactly these tables (``onec_pipeline_tests/store/test_schema.py`` checks it).

The table lists below are read from the tables themselves (``Table.info["family"]``, the ``is_active``
column), never written out a second time. A new family (orders, media files) is one new module with a
``FAMILY`` name and an ``add_tables(md)`` function, appended to :data:`FAMILIES` (plus its migration).
"""

from __future__ import annotations

import functools
from types import ModuleType

import sqlalchemy as sa

from onec_pipeline.store.tables import bookkeeping, catalog, customers, orders

#: the table families, in creation order
FAMILIES: tuple[ModuleType, ...] = (catalog, bookkeeping, customers, orders)


def build_metadata(schema: str | None) -> sa.MetaData:
    """A new MetaData holding every table of every family, in ``schema`` (``None``: the default schema)."""
    md = sa.MetaData(schema=schema)
    for family in FAMILIES:
        family.add_tables(md)
    return md


@functools.cache
def metadata(schema: str | None) -> sa.MetaData:
    """The shared MetaData of ``schema`` (built once per schema; tables are definitions, never mutated)."""
    return build_metadata(schema)


def table_in(md: sa.MetaData, name: str) -> sa.Table:
    """Table ``name`` of ``md`` (MetaData keys tables by ``schema.name``)."""
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


def _names(family: str) -> tuple[str, ...]:
    return tuple(t.name for t in _TEMPLATE.tables.values() if t.info.get("family") == family)


_TEMPLATE = metadata(None)

#: catalog tables (one per record entity) in dependency order: the order the loader applies them in
CATALOG_TABLES: tuple[str, ...] = _names(catalog.FAMILY)
#: catalog tables with ``is_active`` (every one: the storefront reads ``is_active = true`` rows)
ACTIVE_TABLES: tuple[str, ...] = tuple(
    name for name in CATALOG_TABLES if "is_active" in table_in(_TEMPLATE, name).c
)
#: bookkeeping tables (rejects, full exports, uploads, applied uploads)
BOOKKEEPING_TABLES: tuple[str, ...] = _names(bookkeeping.FAMILY)
#: customers tables
CUSTOMER_TABLES: tuple[str, ...] = _names(customers.FAMILY)
#: orders tables
ORDER_TABLES: tuple[str, ...] = _names(orders.FAMILY)

__all__ = [
    "ACTIVE_TABLES",
    "BOOKKEEPING_TABLES",
    "CATALOG_TABLES",
    "CUSTOMER_TABLES",
    "FAMILIES",
    "ORDER_TABLES",
    "build_metadata",
    "metadata",
    "table_in",
]
