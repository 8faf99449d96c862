"""The shop's rules (issue 16): brand and root admission columns.

* ``goods.brand``, ``goods.brand_id``: the brand (Изготовитель, else a property of ONEC_BRAND_PROPERTIES);
* ``goods.admitted``, ``goods.admission_reason``, ``offers.admitted``, ``offers.admission_reason``: whether
  the shop sells the row by ONEC_CATALOG_ROOTS (every existing row admitted, as before the setting).

``offers.quantity`` changes meaning (the sum over warehouses when 1C sends no total) without a column
change: the next import recomputes the offers it touches, the ``reevaluate_shop_rules`` job all of them.

Revision ID: 0005_rules
Revises: 0004_reliability
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import migration_schema

revision = "0005_rules"
down_revision = "0004_reliability"
branch_labels = None
depends_on = None


def _admission() -> list[sa.Column]:
    return [
        sa.Column("admitted", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("admission_reason", sa.Text),
    ]


def upgrade() -> None:
    schema = migration_schema()
    op.add_column("goods", sa.Column("brand", sa.Text), schema=schema)
    op.add_column("goods", sa.Column("brand_id", sa.Text), schema=schema)
    for table in ("goods", "offers"):
        for column in _admission():
            op.add_column(table, column, schema=schema)


def downgrade() -> None:
    schema = migration_schema()
    for table in ("offers", "goods"):
        with op.batch_alter_table(table, schema=schema) as batch:
            batch.drop_column("admission_reason")
            batch.drop_column("admitted")
    with op.batch_alter_table("goods", schema=schema) as batch:
        batch.drop_column("brand_id")
        batch.drop_column("brand")
