"""Read-only queries over the customers tables: counts, export candidates, what waits for review."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from onec_pipeline.store.customers.tables import CustomerTables, tables_for
from onec_pipeline.store.transaction import Transaction


def export_candidates_query(tables: CustomerTables) -> sa.Select[Any]:
    """Active site-created rows waiting for export; rows in an open conflict wait for its review."""
    customers = tables.customers
    return (
        sa.select(customers)
        .where(
            customers.c.needs_1c_export.is_(True),
            customers.c.onec_id.is_(None),
            customers.c.is_active.is_(True),
            customers.c.sync_status != "conflict",
        )
        .order_by(customers.c.id)
    )


def pending_export_count(conn: sa.Connection, schema: str | None = None) -> int:
    query = (
        export_candidates_query(tables_for(conn, schema)).with_only_columns(sa.func.count()).order_by(None)
    )
    return conn.execute(query).scalar_one()


def ids_in_open_conflicts(conn: sa.Connection, conflicts: sa.Table) -> set[int]:
    """Customer ids that are candidates of a conflict still open."""
    query = sa.select(conflicts.c.candidate_ids).where(conflicts.c.status == "open")
    return {int(i) for (ids,) in conn.execute(query) for i in (ids or [])}


def open_conflicts(conn: sa.Connection, schema: str | None = None) -> list[dict[str, Any]]:
    customer_conflicts = tables_for(conn, schema).conflicts
    query = (
        sa.select(
            customer_conflicts.c.id,
            customer_conflicts.c.onec_id,
            customer_conflicts.c.upload_key,
            customer_conflicts.c.reason,
            customer_conflicts.c.matched_by,
            customer_conflicts.c.candidate_ids,
        )
        .where(customer_conflicts.c.status == "open")
        .order_by(customer_conflicts.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def duplicate_active_emails(conn: sa.Connection, schema: str | None = None) -> list[dict[str, Any]]:
    """E-mails (case-insensitive) held by more than one active customer, with the customer ids."""
    customers = tables_for(conn, schema).customers
    email = sa.func.lower(customers.c.email)
    dupes = (
        sa.select(email.label("email"))
        .where(customers.c.is_active.is_(True), customers.c.email.is_not(None), customers.c.email != "")
        .group_by(email)
        .having(sa.func.count() > 1)
    ).subquery()
    query = (
        sa.select(dupes.c.email, customers.c.id)
        .join(customers, sa.func.lower(customers.c.email) == dupes.c.email)
        .where(customers.c.is_active.is_(True))
        .order_by(dupes.c.email, customers.c.id)
    )
    result: dict[str, list[int]] = {}
    for row in conn.execute(query):
        result.setdefault(row.email, []).append(int(row.id))
    return [{"email": e, "customer_ids": ids} for e, ids in result.items()]


def customer_counts(conn: sa.Connection, schema: str | None = None) -> dict[str, int]:
    tables = tables_for(conn, schema)
    customers, customer_conflicts = tables.customers, tables.conflicts

    def count(*where: Any) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(customers).where(*where)).scalar_one()

    return {
        "customers": count(),
        "customers_active": count(customers.c.is_active.is_(True)),
        "customers_from_1c": count(customers.c.onec_id.is_not(None)),
        "customers_pending_export": pending_export_count(conn, schema),
        "customers_conflict": count(customers.c.sync_status == "conflict"),
        "customers_flagged": count(customers.c.sync_status == "error"),
        "customer_conflicts_open": conn.execute(
            sa.select(sa.func.count())
            .select_from(customer_conflicts)
            .where(customer_conflicts.c.status == "open")
        ).scalar_one(),
    }


def counts_in_transaction(tx: Transaction) -> dict[str, int]:
    """:func:`customer_counts` as the store transaction ``tx`` sees them."""
    return customer_counts(tx.conn, tx.store.schema)
