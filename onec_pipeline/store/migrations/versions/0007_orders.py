"""Orders: orders, order_items, order_export_batches (issue 14; see store/tables/orders.py).

Revision ID: 0007_orders
Revises: 0006_media
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import ExactDecimal, Json, migration_schema

revision = "0007_orders"
down_revision = "0006_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    prefix = f"{schema}." if schema else ""
    op.create_table(
        "orders",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey(f"{prefix}customers.id", ondelete="SET NULL")),
        sa.Column("currency", sa.Text, nullable=False, server_default="RUB"),
        sa.Column("total", ExactDecimal(), nullable=False, server_default="0"),
        sa.Column("comment", sa.Text),
        sa.Column("payment_method", sa.Text),
        sa.Column("delivery_method", sa.Text),
        sa.Column("delivery_address", sa.Text),
        sa.Column("site_status", sa.Text),
        sa.Column("needs_1c_export", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("origin", sa.Text, nullable=False, server_default="site"),
        sa.Column("onec_id", sa.Text),
        sa.Column("customer_onec_id", sa.Text),
        sa.Column("number_1c", sa.Text),
        sa.Column("date_1c", sa.Text),
        sa.Column("posted", sa.Boolean),
        sa.Column("paid", sa.Boolean),
        sa.Column("payment_number", sa.Text),
        sa.Column("payment_date", sa.Text),
        sa.Column("shipped", sa.Boolean),
        sa.Column("shipment_number", sa.Text),
        sa.Column("shipment_date", sa.Text),
        sa.Column("cancelled", sa.Boolean),
        sa.Column("status_id", sa.Text),
        sa.Column("status_1c", sa.Text),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version_1c", sa.Text),
        sa.Column("upload_key", sa.Text),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("export_batch", sa.Text),
        sa.Column("sent_to_1c_at", sa.DateTime),
        sa.Column("confirmed_at", sa.DateTime),
        sa.Column("outbox_file", sa.Text),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("number", name="uq_orders_number"),
        sa.CheckConstraint("origin IN ('site', '1c')", name="ck_orders_origin"),
        schema=schema,
    )
    op.create_index("ix_orders_onec_id", "orders", ["onec_id"], schema=schema)
    op.create_index("ix_orders_needs_1c_export", "orders", ["needs_1c_export"], schema=schema)
    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "order_id", sa.Text, sa.ForeignKey(f"{prefix}orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("offer_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("quantity", ExactDecimal(), nullable=False, server_default="1"),
        sa.Column("price", ExactDecimal(), nullable=False, server_default="0"),
        sa.Column("total", ExactDecimal(), nullable=False, server_default="0"),
        schema=schema,
    )
    op.create_index("ix_order_items_order_id", "order_items", ["order_id"], schema=schema)
    op.create_table(
        "order_export_batches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("session", sa.Text),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False),
        sa.Column("file", sa.Text),
        sa.Column("order_ids", Json(), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("confirmed_at", sa.DateTime),
        sa.Column("confirmed_by", sa.Text),
        sa.CheckConstraint("channel IN ('sale_query', 'outbox')", name="ck_order_export_batches_channel"),
        schema=schema,
    )


def downgrade() -> None:
    schema = migration_schema()
    op.drop_table("order_export_batches", schema=schema)
    op.drop_table("order_items", schema=schema)
    op.drop_table("orders", schema=schema)
