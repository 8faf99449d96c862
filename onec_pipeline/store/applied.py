"""Which record families of which upload have been applied to this catalog database.

Replaying an upload is a no-op by the version guard (docs/ARCHITECTURE.md): every row it would write is
either unchanged or stale. The store still has to read, stage and classify every record to find that out,
which costs about as much as the first import. Recording "upload K's entities E were applied" in the same
transaction as the load lets a replay of the same upload (same key = same content: the key carries a content
hash) skip the parse altogether. The record is written only by a committed, non-dry-run load, so a failed or
rolled-back import never marks anything as applied. ``force`` in the assets' config bypasses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from onec_pipeline.store.tables import metadata, table_in


def applied_table(schema: str | None) -> sa.Table:
    """``applied_uploads(upload_key, entity, applied_at, records)`` of ``schema``, on the store's MetaData."""
    return table_in(metadata(schema), "applied_uploads")


def _table_for(conn: sa.Connection, schema: str | None) -> sa.Table:
    return applied_table(None if conn.dialect.name == "sqlite" else schema)


def applied_entities(conn: sa.Connection, upload_key: str, *, schema: str | None) -> dict[str, datetime]:
    """Entities of ``upload_key`` already applied here, with when."""
    table = _table_for(conn, schema)
    rows = conn.execute(sa.select(table.c.entity, table.c.applied_at).where(table.c.upload_key == upload_key))
    return {entity: applied_at for entity, applied_at in rows}


def record_applied(
    conn: sa.Connection, upload_key: str, records: dict[str, int], *, schema: str | None
) -> None:
    """Mark ``records`` (entity -> records read) of ``upload_key`` applied; call inside the load's transaction."""
    if not records:
        return
    table = _table_for(conn, schema)
    now = datetime.now(UTC).replace(tzinfo=None)
    entities = list(records)
    conn.execute(sa.delete(table).where(table.c.upload_key == upload_key, table.c.entity.in_(entities)))
    conn.execute(
        sa.insert(table),
        [
            {"upload_key": upload_key, "entity": entity, "applied_at": now, "records": int(count)}
            for entity, count in records.items()
        ],
    )


def forget_applied(conn: sa.Connection, upload_keys: Iterable[str], *, schema: str | None) -> int:
    """Drop the records of ``upload_keys`` (e.g. after a restore of the catalog tables)."""
    table = _table_for(conn, schema)
    return conn.execute(sa.delete(table).where(table.c.upload_key.in_(list(upload_keys)))).rowcount or 0
