"""Read-only questions about orders: counts, lines whose offer the catalog does not know."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.reader.documents import DELIVERY_ITEM_ID
from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.orders.export import utcnow
from onec_pipeline.store.orders.tables import tables_for

SAMPLE = 20


def order_counts(conn: sa.Connection, schema: str | None = None) -> dict[str, int]:
    """Orders in total, from 1C, waiting for 1C (pending), sent and unconfirmed, delivered, with 1C's number."""
    orders = tables_for(conn, schema).orders
    c = orders.c

    def count(*where: Any) -> Any:
        return sa.func.count().filter(*where) if where else sa.func.count()

    query = sa.select(
        count().label("orders"),
        count(c.origin == "1c").label("from_1c"),
        count(c.needs_1c_export.is_(True)).label("pending_export"),
        count(c.needs_1c_export.is_(True), c.sent_to_1c_at.is_not(None)).label("sent_unconfirmed"),
        count(c.confirmed_at.is_not(None)).label("confirmed"),
        count(c.number_1c.is_not(None)).label("with_1c_number"),
    )
    row = conn.execute(query).mappings().one()
    return {name: int(value) for name, value in row.items()}


def unknown_offer_lines(
    conn: sa.Connection, schema: str | None = None, *, limit: int = SAMPLE
) -> tuple[int, list[dict]]:
    """Order lines whose ``offer_id`` is neither an offer nor a product of the catalog (the delivery line
    excepted): how many, and the first ``limit`` as ``{order_id, offer_id, name}``."""
    tables = tables_for(conn, schema)
    items, offers = tables.items, tables.offers
    unknown = sa.and_(
        items.c.offer_id != DELIVERY_ITEM_ID,
        ~sa.exists().where(offers.c.id == items.c.offer_id),
        ~sa.exists().where(offers.c.product_id == items.c.offer_id),
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(items).where(unknown)).scalar_one()
    sample = conn.execute(
        sa.select(items.c.order_id, items.c.offer_id, items.c.name)
        .where(unknown)
        .order_by(items.c.id)
        .limit(limit)
    ).mappings()
    return int(total), [dict(row) for row in sample]


def counts_of(store: CatalogStore) -> dict[str, int]:
    """:func:`order_counts` on a connection of its own (read-only)."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        return order_counts(conn, store.schema)


def unknown_offers_of(store: CatalogStore, *, limit: int = SAMPLE) -> tuple[int, list[dict]]:
    """:func:`unknown_offer_lines` on a connection of its own (read-only)."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        return unknown_offer_lines(conn, store.schema, limit=limit)


def stale_unconfirmed(store: CatalogStore, *, hours: float, limit: int = SAMPLE) -> tuple[int, list[dict]]:
    """Orders sent to 1C more than ``hours`` ago that 1C has not confirmed yet: how many, and a sample."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        orders = tables_for(conn, store.schema).orders
        since = utcnow() - timedelta(hours=hours)
        where = sa.and_(orders.c.needs_1c_export.is_(True), orders.c.sent_to_1c_at < since)
        total = conn.execute(sa.select(sa.func.count()).select_from(orders).where(where)).scalar_one()
        rows = conn.execute(
            sa.select(orders.c.id, orders.c.number, orders.c.sent_to_1c_at, orders.c.export_batch)
            .where(where)
            .order_by(orders.c.sent_to_1c_at)
            .limit(limit)
        ).mappings()
        return int(total), [{k: str(v) for k, v in row.items()} for row in rows]
