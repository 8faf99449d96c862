"""Column types and column sets shared by the table families.

``Column.info`` carries what the loader needs to know about a column beyond its type:

* ``staged: False`` — no record supplies it: the store fills it (the version columns below, and
  ``offers.quantity``, which mirrors ``stock_totals``). Row specs (:mod:`onec_pipeline.store.rows`) stage
  every other column, in table order.
* ``derived: True`` (with ``staged: False``) — content the apply step computes from the staged row and the
  catalog while de-duplicating (``prices.currency``: the price's own currency, else its price type's); it is
  compared and written like a staged column (:data:`onec_pipeline.store.apply.DERIVED`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def not_staged() -> dict[str, Any]:
    """``Column.info`` of a column no record supplies (see the module docstring)."""
    return {"staged": False}


def derived() -> dict[str, Any]:
    """``Column.info`` of content the apply step derives (see the module docstring)."""
    return {"staged": False, "derived": True}


class ExactDecimal(sa.types.TypeDecorator[Decimal]):
    """Exact decimal: ``NUMERIC`` on PostgreSQL; on SQLite a NUMERIC-affinity column read back exactly.

    SQLite keeps NUMERIC values as INTEGER or REAL, which is exact up to 15 significant digits
    (every realistic price or quantity); values are returned as :class:`~decimal.Decimal` via ``repr``
    so ``0.1`` reads back as ``Decimal("0.1")``, never ``0.1000000000000000055…``.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteNumeric())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return decimal_text(Decimal(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(value)


class _SQLiteNumeric(sa.types.UserDefinedType[Any]):
    """A column declared ``NUMERIC`` whose raw int/float/str values pass through untouched."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "NUMERIC"


def decimal_text(value: Decimal) -> str:
    """Canonical text of a finite decimal: no exponent, no trailing fractional zeros (3159.00 → 3159)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def Json() -> sa.types.TypeEngine[Any]:  # noqa: N802 - reads like a type
    """JSON documents: ``JSONB`` on PostgreSQL (comparable, indexable), JSON text elsewhere."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def Id() -> sa.types.TypeEngine[str]:  # noqa: N802
    return sa.Text()


def VersionKey() -> sa.types.TypeEngine[str]:  # noqa: N802
    """Upload keys compare byte-wise ("C" collation on PostgreSQL, like Python and SQLite)."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def version_columns(*, with_deleted: bool) -> list[sa.Column[Any]]:
    """The version-guard columns of a catalog row (docs/ARCHITECTURE.md, "Version guard").

    ``deleted`` (with ``with_deleted``: entities 1C can mark deleted) is the deletion mark of the record
    that wrote the content: staged like a data column. ``is_active`` (every catalog table: what the
    storefront reads), ``data_key``, ``upload_key``, ``exported_at``, ``updated_at`` are the store's own.
    """
    columns: list[sa.Column[Any]] = []
    if with_deleted:
        columns.append(sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()))
    columns += [
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(), info=not_staged()),
        sa.Column("data_key", VersionKey(), nullable=False, info=not_staged()),
        sa.Column("upload_key", VersionKey(), nullable=False, info=not_staged()),
        sa.Column("exported_at", sa.DateTime, nullable=True, info=not_staged()),
        sa.Column("updated_at", sa.DateTime, nullable=False, info=not_staged()),
    ]
    return columns
