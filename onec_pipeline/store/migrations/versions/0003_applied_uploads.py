"""applied_uploads: which entities of which upload were applied (lets replays skip the parse).

Revision ID: 0003_applied_uploads
Revises: 0002_customers
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import migration_schema

revision = "0003_applied_uploads"
down_revision = "0002_customers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applied_uploads",
        sa.Column("upload_key", sa.Text, primary_key=True),
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        schema=migration_schema(),
    )


def downgrade() -> None:
    op.drop_table("applied_uploads", schema=migration_schema())
