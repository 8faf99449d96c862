"""Catalog tables: groups, properties, units, price types, warehouses, goods, offers, prices, rests,
stock totals, rejects, full exports, uploads.

Revision ID: 0001_catalog
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import ExactDecimal, Json, VersionKey, migration_schema

revision = "0001_catalog"
down_revision = None
branch_labels = None
depends_on = None


def _bookkeeping(with_active: bool) -> list[sa.Column]:
    cols = []
    if with_active:
        cols += [
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        ]
    return cols + [
        sa.Column("data_key", VersionKey(), nullable=False),
        sa.Column("upload_key", VersionKey(), nullable=False),
        sa.Column("exported_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    ]


def upgrade() -> None:
    schema = migration_schema()
    op.create_table(
        "groups",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("parent_id", sa.Text),
        sa.Column("name", sa.Text),
        *_bookkeeping(True),
        schema=schema,
    )
    op.create_index("ix_groups_parent_id", "groups", ["parent_id"], schema=schema)
    op.create_table(
        "properties",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("value_type", sa.Text),
        sa.Column("for_offers", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("multiple", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("values", Json()),
        *_bookkeeping(True),
        schema=schema,
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("full_name", sa.Text),
        sa.Column("international", sa.Text),
        *_bookkeeping(False),
        schema=schema,
    )
    op.create_table(
        "price_types",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("currency", sa.Text),
        sa.Column("tax_name", sa.Text),
        sa.Column("tax_included", sa.Boolean),
        *_bookkeeping(True),
        schema=schema,
    )
    op.create_table(
        "warehouses",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("address", sa.Text),
        *_bookkeeping(True),
        schema=schema,
    )
    op.create_table(
        "goods",
        sa.Column("id", sa.Text, primary_key=True),
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
        schema=schema,
    )
    op.create_index("ix_goods_group_id", "goods", ["group_id"], schema=schema)
    op.create_table(
        "offers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("characteristic_id", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("article", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("characteristics", Json()),
        sa.Column("properties", Json()),
        sa.Column("quantity", ExactDecimal()),
        *_bookkeeping(True),
        schema=schema,
    )
    op.create_index("ix_offers_product_id", "offers", ["product_id"], schema=schema)
    op.create_table(
        "prices",
        sa.Column("offer_id", sa.Text, primary_key=True),
        sa.Column("price_type_id", sa.Text, primary_key=True),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("ratio", ExactDecimal()),
        sa.Column("presentation", sa.Text),
        *_bookkeeping(False),
        schema=schema,
    )
    op.create_index("ix_prices_price_type_id", "prices", ["price_type_id"], schema=schema)
    op.create_table(
        "rests",
        sa.Column("offer_id", sa.Text, primary_key=True),
        sa.Column("warehouse_id", sa.Text, primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *_bookkeeping(False),
        schema=schema,
    )
    op.create_index("ix_rests_warehouse_id", "rests", ["warehouse_id"], schema=schema)
    op.create_table(
        "stock_totals",
        sa.Column("offer_id", sa.Text, primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *_bookkeeping(False),
        schema=schema,
    )
    op.create_table(
        "rejects",
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
        schema=schema,
    )
    op.create_index("ix_rejects_upload_entity", "rejects", ["upload", "entity"], schema=schema)
    op.create_table(
        "full_exports",
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("upload_key", VersionKey(), primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        schema=schema,
    )
    op.create_table(
        "uploads",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("first_loaded_at", sa.DateTime, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    schema = migration_schema()
    for name in (
        "uploads",
        "full_exports",
        "rejects",
        "stock_totals",
        "rests",
        "prices",
        "offers",
        "goods",
        "warehouses",
        "price_types",
        "units",
        "properties",
        "groups",
    ):
        op.drop_table(name, schema=schema)
