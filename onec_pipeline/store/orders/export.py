"""Orders to 1C: batches served to ``type=sale&mode=query`` or written to the outbox, and their confirmation.

**When an order counts as delivered to 1C** (``orders.confirmed_at`` set, ``needs_1c_export`` cleared):

1. 1C called ``mode=success`` in the exchange session whose ``mode=query`` carried it (:func:`confirm_session`);
2. or (rule ``next_query``, for 1C configurations that never call ``mode=success``) 1C asked ``mode=query``
   again in a *later* session: the earlier, unconfirmed batches count as confirmed (:func:`confirm_previous`),
   as the old importer did;
3. or 1C sent back an update of the order (it has it: it knows its number) — :mod:`.updates`.

Until then an order stays pending and **is sent again** in every ``mode=query`` (and the next outbox file after
its last one was confirmed): none is lost. None is created twice in 1C, because 1C finds a site order by
``Номер`` first, then ``Ид``, and every copy carries the same ``Номер`` and ``Ид``: a repeated order updates the
one 1C already has. With rule ``success`` (the default) only 1. and 3. confirm; a 1C that crashed between
query and success therefore gets the orders again.

Every batch is recorded in ``order_export_batches`` (channel, session, version, encoding, ids, confirmation).
The outbox file (``orders_export``) does not confirm: 1C's update does (3.), or the next HTTP exchange.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.order_writer import dialect_for, encoding_for, write_orders, write_orders_to
from onec_pipeline.commerceml.records import Order
from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.orders.records import orders_with_lines
from onec_pipeline.store.orders.tables import OrderTables, tables_for

QUERY_CHANNEL = "sale_query"
OUTBOX_CHANNEL = "outbox"
CONFIRM_RULES = ("success", "next_query")
BY_SUCCESS = "success"
BY_NEXT_QUERY = "next_query"
BY_UPDATE = "update"
DEFAULT_LIMIT = 500


@dataclass
class OrderBatch:
    """One batch handed to 1C: its id, the orders' ids, and (for ``mode=query``) the XML bytes."""

    id: str | None
    order_ids: list[str] = field(default_factory=list)
    body: bytes = b""
    path: Path | None = None
    confirmed_before: int = 0  # orders of earlier batches this query confirmed (rule next_query)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def batch_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def pending_rows(
    conn: sa.Connection, tables: OrderTables, *, outbox: bool, limit: int
) -> list[Mapping[Any, Any]]:
    """Orders waiting for 1C, oldest first: ``needs_1c_export``, not deleted; for the outbox also not yet in
    an outbox file since they were last confirmed."""
    orders = tables.orders
    query = sa.select(orders).where(orders.c.needs_1c_export.is_(True), orders.c.deleted.is_(False))
    if outbox:
        query = query.where(orders.c.outbox_file.is_(None))
    query = query.order_by(orders.c.created_at, orders.c.id).limit(limit)
    return list(conn.execute(query).mappings())


def _record(
    conn: sa.Connection,
    tables: OrderTables,
    ids: list[str],
    *,
    channel: str,
    session: str | None,
    version: str,
    encoding: str,
    file: str | None,
    now: datetime,
) -> str:
    bid = batch_id(now)
    conn.execute(
        tables.batches.insert().values(
            id=bid,
            channel=channel,
            session=session,
            version=version,
            encoding=encoding,
            file=file,
            order_ids=ids,
            created_at=now,
        )
    )
    values: dict[str, Any] = {"export_batch": bid, "sent_to_1c_at": now, "updated_at": now}
    if file is not None:
        values["outbox_file"] = file
    conn.execute(tables.orders.update().where(tables.orders.c.id.in_(ids)).values(**values))
    return bid


def serve_query(
    conn: sa.Connection,
    *,
    session: str,
    version: str | None = None,
    encoding: str | None = None,
    rule: str = BY_SUCCESS,
    limit: int = DEFAULT_LIMIT,
    schema: str | None = None,
    now: datetime | None = None,
) -> OrderBatch:
    """The answer to ``type=sale&mode=query`` of exchange ``session``: pending orders as CommerceML bytes
    (``version``/``encoding`` as 1C asked), recorded as a batch. With ``rule="next_query"`` the unconfirmed
    batches of *other* sessions are confirmed first. An empty answer is a valid file with no Документ."""
    if rule not in CONFIRM_RULES:
        raise ValueError(f"unknown confirmation rule {rule!r} (known: {', '.join(CONFIRM_RULES)})")
    dialect, charset = dialect_for(version), encoding_for(encoding)
    now = now or utcnow()
    tables = tables_for(conn, schema)
    before = confirm_previous(conn, session, schema=schema, now=now) if rule == BY_NEXT_QUERY else 0
    rows = pending_rows(conn, tables, outbox=False, limit=limit)
    buffer = BytesIO()
    write_orders_to(
        buffer,
        orders_with_lines(conn, tables, rows),
        version=dialect.version,
        encoding=charset,
        generated_at=_local(now),
    )
    ids = [str(row["id"]) for row in rows]
    bid = None
    if ids:
        bid = _record(
            conn,
            tables,
            ids,
            channel=QUERY_CHANNEL,
            session=session,
            version=dialect.version,
            encoding=charset,
            file=None,
            now=now,
        )
    return OrderBatch(bid, ids, buffer.getvalue(), confirmed_before=before)


def _local(now: datetime) -> datetime:
    """ДатаФормирования: local time without offset, as 1C writes it."""
    return now.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def _confirm(
    conn: sa.Connection, tables: OrderTables, batches: list[Mapping[Any, Any]], by: str, now: datetime
) -> int:
    """Mark ``batches`` confirmed and their still-pending orders delivered; returns how many orders."""
    if not batches:
        return 0
    ids = sorted({str(i) for batch in batches for i in batch["order_ids"]})
    table = tables.batches
    conn.execute(
        table.update()
        .where(table.c.id.in_([b["id"] for b in batches]))
        .values(confirmed_at=now, confirmed_by=by)
    )
    return mark_delivered(conn, tables, ids, now)


def mark_delivered(conn: sa.Connection, tables: OrderTables, ids: list[str], now: datetime) -> int:
    """Orders ``ids`` that still wait for 1C are delivered: ``needs_1c_export`` false, ``confirmed_at`` set,
    ``outbox_file`` cleared (so that a later change the site flags goes out again)."""
    orders = tables.orders
    result = conn.execute(
        orders.update()
        .where(orders.c.id.in_(ids), orders.c.needs_1c_export.is_(True))
        .values(needs_1c_export=False, confirmed_at=now, outbox_file=None, updated_at=now)
    )
    return int(result.rowcount or 0)


def confirm_session(
    conn: sa.Connection, session: str, *, schema: str | None = None, now: datetime | None = None
) -> int:
    """``mode=success`` of exchange ``session``: its unconfirmed query batches are delivered; returns how many
    orders were marked (0 when the session served nothing: the caller answers ``success`` anyway)."""
    tables = tables_for(conn, schema)
    table = tables.batches
    query = sa.select(table).where(
        table.c.channel == QUERY_CHANNEL, table.c.session == session, table.c.confirmed_at.is_(None)
    )
    return _confirm(conn, tables, list(conn.execute(query).mappings()), BY_SUCCESS, now or utcnow())


def confirm_previous(
    conn: sa.Connection, session: str, *, schema: str | None = None, now: datetime | None = None
) -> int:
    """Rule ``next_query``: the unconfirmed query batches of every *other* session are delivered."""
    tables = tables_for(conn, schema)
    table = tables.batches
    query = sa.select(table).where(
        table.c.channel == QUERY_CHANNEL, table.c.session != session, table.c.confirmed_at.is_(None)
    )
    return _confirm(conn, tables, list(conn.execute(query).mappings()), BY_NEXT_QUERY, now or utcnow())


def write_outbox(
    conn: sa.Connection,
    outbox_dir: str | Path,
    *,
    version: str | None = None,
    encoding: str | None = None,
    limit: int = DEFAULT_LIMIT,
    schema: str | None = None,
    now: datetime | None = None,
) -> OrderBatch:
    """Pending orders not yet in an outbox file → one ``orders-<batch>.xml`` in ``outbox_dir`` (atomic), the
    batch recorded; nothing pending → no file. The file is removed again if recording fails."""
    dialect, charset = dialect_for(version), encoding_for(encoding)
    now = now or utcnow()
    tables = tables_for(conn, schema)
    rows = pending_rows(conn, tables, outbox=True, limit=limit)
    if not rows:
        return OrderBatch(None)
    ids = [str(row["id"]) for row in rows]
    path = Path(outbox_dir) / f"orders-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.xml"
    orders: list[Order] = list(orders_with_lines(conn, tables, rows))
    write_orders(path, orders, version=dialect.version, encoding=charset, generated_at=_local(now))
    try:
        bid = _record(
            conn,
            tables,
            ids,
            channel=OUTBOX_CHANNEL,
            session=None,
            version=dialect.version,
            encoding=charset,
            file=path.name,
            now=now,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return OrderBatch(bid, ids, path=path)


def export_to_outbox(
    store: CatalogStore,
    outbox_dir: str | Path,
    *,
    version: str | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
) -> OrderBatch:
    """:func:`write_outbox` in one transaction serialised with the loads; the file is removed again when the
    transaction does not commit (an error, or ``dry_run``: the orders then stay as they were)."""
    batch: OrderBatch | None = None
    try:
        with store.locked_connection(dry_run=dry_run) as conn:
            batch = write_outbox(conn, outbox_dir, version=version, encoding=encoding, schema=store.schema)
    except BaseException:
        if batch is not None and batch.path is not None:
            batch.path.unlink(missing_ok=True)
        raise
    if dry_run and batch.path is not None:
        batch.path.unlink(missing_ok=True)
    return batch
