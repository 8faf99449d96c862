"""The customers family (1C contragents and site-created customers), migration ``0002_customers``.

* ``customers`` — one row per customer, from 1C (``onec_id`` set, ``created_in_1c``) or created by the
  site (``onec_id`` NULL, ``needs_1c_export`` true);
* ``customer_conflicts`` — contragents that could not be merged safely, for manual review;
* ``customer_sync_log`` — one row per decision (the audit trail).

Timestamps are naive UTC (``sa.DateTime``), keys are text. The rules that write them live in
:mod:`onec_pipeline.store.customers`.
"""

from __future__ import annotations

import sqlalchemy as sa

from onec_pipeline.store.tables.columns import Json

FAMILY = "customers"


def add_tables(md: sa.MetaData) -> list[sa.Table]:
    return [_customers(md), _conflicts(md), _sync_log(md)]


def _customers(md: sa.MetaData) -> sa.Table:
    customers = sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("onec_id", sa.Text, nullable=True),
        sa.Column("kind", sa.Text),  # legal | individual | NULL
        sa.Column("name", sa.Text),
        sa.Column("official_name", sa.Text),
        sa.Column("inn", sa.Text),
        sa.Column("kpp", sa.Text),
        sa.Column("okpo", sa.Text),
        sa.Column("email", sa.Text),  # normalised: trimmed, lower case
        sa.Column("phone", sa.Text),  # normalised: +<digits>
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
        sa.Index("ix_customers_phone", "phone"),
        info={"family": FAMILY},
    )
    # e-mails match case-insensitively: the lookup is ``lower(email) IN (...)``
    sa.Index("ix_customers_email_lower", sa.func.lower(customers.c.email))
    return customers


def _conflicts(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "customer_conflicts",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("onec_id", sa.Text, nullable=False),
        sa.Column("upload_key", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),  # ambiguous | onec_id_mismatch
        sa.Column("matched_by", sa.Text),  # email | phone_name
        sa.Column("candidate_ids", Json(), nullable=False),
        sa.Column("incoming", Json(), nullable=False),  # the contragent as read, for the reviewer
        sa.Column("status", sa.Text, nullable=False, server_default="open"),  # open | resolved | superseded
        sa.Column("resolution", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_at", sa.DateTime),
        sa.Index("ix_customer_conflicts_onec_id", "onec_id"),
        info={"family": FAMILY},
    )


def _sync_log(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "customer_sync_log",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer),
        sa.Column("onec_id", sa.Text),
        sa.Column("operation", sa.Text, nullable=False),  # import_from_1c | export_to_1c
        sa.Column("status", sa.Text, nullable=False),  # success | error | skipped | conflict
        sa.Column("details", Json()),
        sa.Column("upload_key", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "operation IN ('import_from_1c', 'export_to_1c')", name="ck_customer_sync_log_operation"
        ),
        sa.CheckConstraint(
            "status IN ('success', 'error', 'skipped', 'conflict')", name="ck_customer_sync_log_status"
        ),
        sa.Index("ix_customer_sync_log_customer_id", "customer_id"),
        sa.Index("ix_customer_sync_log_upload_key", "upload_key"),
        info={"family": FAMILY},
    )
