"""Customers: customers, customer_conflicts, customer_sync_log.

Revision ID: 0002_customers
Revises: 0001_catalog
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import Json, migration_schema

revision = "0002_customers"
down_revision = "0001_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migration_schema()
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("onec_id", sa.Text, nullable=True),
        sa.Column("kind", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("official_name", sa.Text),
        sa.Column("inn", sa.Text),
        sa.Column("kpp", sa.Text),
        sa.Column("okpo", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("phone_raw", sa.Text),
        sa.Column("addresses", Json()),
        sa.Column("contacts", Json()),
        sa.Column("representatives", Json()),
        sa.Column("role", sa.Text),
        sa.Column("validation_issues", Json()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_in_1c", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("needs_1c_export", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sync_status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("last_sync_at", sa.DateTime),
        sa.Column("last_export_file", sa.Text),
        sa.Column("upload_key", sa.Text),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("onec_id", name="uq_customers_onec_id"),
        sa.CheckConstraint(
            "sync_status IN ('pending', 'synced', 'error', 'conflict')", name="ck_customers_sync_status"
        ),
        schema=schema,
    )
    # e-mails match case-insensitively: the lookup is ``lower(email) IN (...)``
    op.create_index("ix_customers_email_lower", "customers", [sa.text("lower(email)")], schema=schema)
    op.create_index("ix_customers_phone", "customers", ["phone"], schema=schema)
    op.create_table(
        "customer_conflicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("onec_id", sa.Text, nullable=False),
        sa.Column("upload_key", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("matched_by", sa.Text),
        sa.Column("candidate_ids", Json(), nullable=False),
        sa.Column("incoming", Json(), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("resolution", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_at", sa.DateTime),
        schema=schema,
    )
    op.create_index("ix_customer_conflicts_onec_id", "customer_conflicts", ["onec_id"], schema=schema)
    op.create_table(
        "customer_sync_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer),
        sa.Column("onec_id", sa.Text),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("details", Json()),
        sa.Column("upload_key", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "operation IN ('import_from_1c', 'export_to_1c')", name="ck_customer_sync_log_operation"
        ),
        sa.CheckConstraint(
            "status IN ('success', 'error', 'skipped', 'conflict')", name="ck_customer_sync_log_status"
        ),
        schema=schema,
    )
    op.create_index("ix_customer_sync_log_customer_id", "customer_sync_log", ["customer_id"], schema=schema)
    op.create_index("ix_customer_sync_log_upload_key", "customer_sync_log", ["upload_key"], schema=schema)


def downgrade() -> None:
    schema = migration_schema()
    op.drop_table("customer_sync_log", schema=schema)
    op.drop_table("customer_conflicts", schema=schema)
    op.drop_table("customers", schema=schema)
