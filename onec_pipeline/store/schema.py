"""The catalog tables (SQLAlchemy Core): the public contract the storefront reads.

Every table lives on one :class:`~sqlalchemy.MetaData` built by :func:`build_metadata` for a schema
(``onec`` on PostgreSQL by default; ``None`` on SQLite). The Alembic migrations in ``store/migrations``
create exactly these tables; ``onec_pipeline_tests/store/test_schema.py`` checks that they agree.

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

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class ExactDecimal(sa.types.TypeDecorator):
    """Exact decimal: ``NUMERIC`` on PostgreSQL; on SQLite a NUMERIC-affinity column read back exactly.

    SQLite keeps NUMERIC values as INTEGER or REAL, which is exact up to 15 significant digits
    (every realistic price or quantity); values are returned as :class:`~decimal.Decimal` via ``repr``
    so ``0.1`` reads back as ``Decimal("0.1")``, never ``0.1000000000000000055…``.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteNumeric())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return decimal_text(Decimal(value))

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(value)


class _SQLiteNumeric(sa.types.UserDefinedType):
    """A column declared ``NUMERIC`` whose raw int/float/str values pass through untouched."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "NUMERIC"


def decimal_text(value: Decimal) -> str:
    """Canonical text of a finite decimal: no exponent, no trailing fractional zeros (3159.00 → 3159)."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def Json():  # noqa: N802 - reads like a type
    """JSON documents: ``JSONB`` on PostgreSQL (comparable, indexable), JSON text elsewhere."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def Id():  # noqa: N802
    return sa.Text()


def VersionKey():  # noqa: N802
    """Upload keys compare byte-wise ("C" collation on PostgreSQL, like Python and SQLite)."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _bookkeeping(with_active: bool) -> list[sa.Column]:
    cols = []
    if with_active:
        cols += [
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        ]
    cols += [
        sa.Column("data_key", VersionKey(), nullable=False),
        sa.Column("upload_key", VersionKey(), nullable=False),
        sa.Column("exported_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    ]
    return cols


#: Catalog tables (one per record entity) in dependency order.
CATALOG_TABLES = (
    "groups",
    "properties",
    "units",
    "price_types",
    "warehouses",
    "goods",
    "offers",
    "prices",
    "rests",
    "stock_totals",
)
#: Tables with deletion marks (``deleted``/``is_active``).
ACTIVE_TABLES = ("groups", "properties", "price_types", "warehouses", "goods", "offers")
#: Bookkeeping tables.
META_TABLES = ("rejects", "full_exports", "uploads")


def build_metadata(schema: str | None) -> sa.MetaData:
    """All catalog tables on one MetaData, in ``schema`` (``None``: the default schema, e.g. SQLite)."""
    md = sa.MetaData(schema=schema)
    sa.Table(
        "groups",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("parent_id", sa.Text),
        sa.Column("name", sa.Text),
        *_bookkeeping(True),
        sa.Index("ix_groups_parent_id", "parent_id"),
    )
    sa.Table(
        "properties",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("value_type", sa.Text),
        sa.Column("for_offers", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("multiple", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("values", Json()),
        *_bookkeeping(True),
    )
    sa.Table(
        "units",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("code", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("full_name", sa.Text),
        sa.Column("international", sa.Text),
        *_bookkeeping(False),
    )
    sa.Table(
        "price_types",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("currency", sa.Text),
        sa.Column("tax_name", sa.Text),
        sa.Column("tax_included", sa.Boolean),
        *_bookkeeping(True),
    )
    sa.Table(
        "warehouses",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("address", sa.Text),
        *_bookkeeping(True),
    )
    sa.Table(
        "goods",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("article", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("group_id", sa.Text),
        sa.Column("code", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("unit_code", sa.Text),
        sa.Column("category_id", sa.Text),
        sa.Column("barcodes", Json()),
        sa.Column("group_ids", Json()),
        sa.Column("images", Json()),
        sa.Column("manufacturer", Json()),
        sa.Column("properties", Json()),
        sa.Column("requisites", Json()),
        sa.Column("tax_rates", Json()),
        sa.Column("characteristics", Json()),
        *_bookkeeping(True),
        sa.Index("ix_goods_group_id", "group_id"),
    )
    sa.Table(
        "offers",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("characteristic_id", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("article", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("characteristics", Json()),
        sa.Column("properties", Json()),
        # Total stock, owned by stock_totals (copied here whenever either side is written).
        sa.Column("quantity", ExactDecimal()),
        *_bookkeeping(True),
        sa.Index("ix_offers_product_id", "product_id"),
    )
    sa.Table(
        "prices",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("price_type_id", Id(), primary_key=True),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("ratio", ExactDecimal()),
        sa.Column("presentation", sa.Text),
        *_bookkeeping(False),
        sa.Index("ix_prices_price_type_id", "price_type_id"),
    )
    sa.Table(
        "rests",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("warehouse_id", Id(), primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *_bookkeeping(False),
        sa.Index("ix_rests_warehouse_id", "warehouse_id"),
    )
    sa.Table(
        "stock_totals",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *_bookkeeping(False),
    )
    sa.Table(
        "rejects",
        md,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("upload", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text),
        sa.Column("file", sa.Text),
        sa.Column("line", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Index("ix_rejects_upload_entity", "upload", "entity"),
    )
    sa.Table(
        "full_exports",
        md,
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("upload_key", VersionKey(), primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "uploads",
        md,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("first_loaded_at", sa.DateTime, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
    )
    return md


def migration_schema() -> str | None:
    """The target schema inside an Alembic migration script (``None`` on SQLite).

    Migrations (ours and ``0002_customers``) call this instead of hard-coding ``onec``.
    """
    from alembic import context

    schema = context.config.attributes.get("schema")
    if schema is None:
        schema = context.get_x_argument(as_dictionary=True).get("schema")
    if context.get_context().dialect.name == "sqlite":
        return None
    return schema or None
