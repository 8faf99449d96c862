"""Reliability: ``is_active`` on every catalog table, full exports of prices and stock, a price's own
currency, the breaker's memory.

* ``units``, ``prices``, ``rests``, ``stock_totals`` get ``is_active`` (``upload_key = data_key``: these
  entities have no deletion marks); every existing row is active;
* ``prices.own_currency`` keeps the price's own Валюта; ``prices.currency`` becomes the price's own
  currency, else its price type's (existing rows: filled from their price type where NULL);
* ``full_exports.mass_deactivation_allowed``: whether a full export was applied with mass deactivation
  allowed (the breaker does not judge it again when older uploads arrive after it).

Revision ID: 0004_reliability
Revises: 0003_applied_uploads
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import migration_schema

revision = "0004_reliability"
down_revision = "0003_applied_uploads"
branch_labels = None
depends_on = None

NEWLY_ACTIVE = ("units", "prices", "rests", "stock_totals")


def _is_active() -> sa.Column:
    return sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true())


def upgrade() -> None:
    schema = migration_schema()
    for table in NEWLY_ACTIVE:
        op.add_column(table, _is_active(), schema=schema)
    op.add_column("prices", sa.Column("own_currency", sa.Text), schema=schema)
    op.add_column(
        "full_exports",
        sa.Column("mass_deactivation_allowed", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=schema,
    )
    prices = sa.table(
        "prices", sa.column("price_type_id"), sa.column("currency"), sa.column("own_currency"), schema=schema
    )
    price_types = sa.table("price_types", sa.column("id"), sa.column("currency"), schema=schema)
    op.execute(prices.update().values(own_currency=prices.c.currency))
    type_currency = (
        sa.select(price_types.c.currency).where(price_types.c.id == prices.c.price_type_id).scalar_subquery()
    )
    op.execute(prices.update().where(prices.c.currency.is_(None)).values(currency=type_currency))


def downgrade() -> None:
    schema = migration_schema()
    prices = sa.table("prices", sa.column("currency"), sa.column("own_currency"), schema=schema)
    op.execute(prices.update().values(currency=prices.c.own_currency))
    with op.batch_alter_table("full_exports", schema=schema) as batch:
        batch.drop_column("mass_deactivation_allowed")
    with op.batch_alter_table("prices", schema=schema) as batch:
        batch.drop_column("own_currency")
    for table in NEWLY_ACTIVE:
        with op.batch_alter_table(table, schema=schema) as batch:
            batch.drop_column("is_active")
