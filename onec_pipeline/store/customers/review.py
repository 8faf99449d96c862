"""Closing a customer conflict after manual review."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from onec_pipeline.store.customers.queries import ids_in_open_conflicts
from onec_pipeline.store.customers.tables import tables_for
from onec_pipeline.store.customers.values import utcnow


def resolve_conflict(
    conn: sa.Connection,
    conflict_id: int,
    resolution: str,
    *,
    schema: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Close an open conflict after manual review (the reviewer fixes the rows by hand: e.g. sets the
    ``onec_id`` on the right site row, or corrects an e-mail); returns the candidate ids released.

    Candidates in no other open conflict leave ``sync_status = 'conflict'``: ``pending`` for site rows
    still waiting for export, ``synced`` for the others. The next import of the contragent resolves it
    again with the fixed rows.
    """
    tables = tables_for(conn, schema)
    conflicts, customers = tables.conflicts, tables.customers
    now = now or utcnow()
    row = conn.execute(sa.select(conflicts).where(conflicts.c.id == conflict_id)).mappings().first()
    if row is None or row["status"] != "open":
        raise ValueError(f"customer conflict {conflict_id} is not open")
    conn.execute(
        conflicts.update()
        .where(conflicts.c.id == conflict_id)
        .values(status="resolved", resolution=resolution, resolved_at=now)
    )
    still_open = ids_in_open_conflicts(conn, conflicts)
    released = [int(i) for i in row["candidate_ids"] if int(i) not in still_open]
    waiting = sa.and_(customers.c.onec_id.is_(None), customers.c.needs_1c_export.is_(True))
    for status, where in (("pending", waiting), ("synced", sa.not_(waiting))):
        conn.execute(
            customers.update()
            .where(customers.c.id.in_(released), customers.c.sync_status == "conflict", where)
            .values(sync_status=status, updated_at=now)
        )
    return released
