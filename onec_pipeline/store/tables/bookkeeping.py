"""The bookkeeping family: what the store remembers about loads, beside the catalog rows.

* ``rejects`` — records that could not be stored, per upload and entity (replaced when an upload is loaded
  again);
* ``full_exports`` — which upload was a full export of which entity (catalog entities and customers): rows
  first written by an older upload are inserted inactive; whether it was applied with mass deactivation
  allowed (migration ``0004_reliability``);
* ``uploads`` — every upload a transaction wrote, with its export time;
* ``applied_uploads`` — which entities of which upload a committed load applied (replays skip the parse;
  :mod:`onec_pipeline.store.applied`).

Migrations ``0001_catalog`` (the first three) and ``0003_applied_uploads`` create exactly these.
"""

from __future__ import annotations

import sqlalchemy as sa

from onec_pipeline.store.tables.columns import VersionKey

FAMILY = "bookkeeping"


def add_tables(md: sa.MetaData) -> list[sa.Table]:
    rejects = sa.Table(
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
        info={"family": FAMILY},
    )
    full_exports = sa.Table(
        "full_exports",
        md,
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("upload_key", VersionKey(), primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        # applied with allow_mass_deactivation: older uploads it hides are not judged by the breaker again
        sa.Column("mass_deactivation_allowed", sa.Boolean, nullable=False, server_default=sa.false()),
        info={"family": FAMILY},
    )
    uploads = sa.Table(
        "uploads",
        md,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("exported_at", sa.DateTime),
        sa.Column("first_loaded_at", sa.DateTime, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        info={"family": FAMILY},
    )
    applied_uploads = sa.Table(
        "applied_uploads",
        md,
        sa.Column("upload_key", sa.Text, primary_key=True),
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        info={"family": FAMILY},
    )
    return [rejects, full_exports, uploads, applied_uploads]
