"""Orders inserted the way the site does it (the README's table contract), on a migrated catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from onec_pipeline.store.orders import order_tables

KEY_OLD = "20261120T101500-aaaaaaaa"
KEY_NEW = "20261121T101500-bbbbbbbb"


def tables(conn: sa.Connection, schema: str | None):
    return order_tables(None if conn.dialect.name == "sqlite" else schema)


def site_order(
    conn: sa.Connection,
    schema: str | None,
    order_id: str,
    *,
    customer_id: int | None = None,
    lines: tuple[tuple[str, str, str, str], ...] = (("p1#c1", "Ботинки", "2", "500.25"),),
    delivery: str | None = "340",
    **values,
) -> None:
    """One order + its lines, as the storefront inserts them (``needs_1c_export`` true)."""
    t = tables(conn, schema)
    items = [
        {
            "order_id": order_id,
            "offer_id": o,
            "name": n,
            "quantity": Decimal(q),
            "price": Decimal(p),
            "total": Decimal(q) * Decimal(p),
        }
        for o, n, q, p in lines
    ]
    if delivery is not None:
        items.append(
            {
                "order_id": order_id,
                "offer_id": "ORDER_DELIVERY",
                "name": "Доставка",
                "quantity": Decimal(1),
                "price": Decimal(delivery),
                "total": Decimal(delivery),
            }
        )
    values.setdefault("number", order_id)
    values.setdefault("created_at", datetime(2026, 11, 30, 10, 11, 12))
    values.setdefault("currency", "RUB")
    values.setdefault("comment", "звонить после 18:00")
    values.setdefault("payment_method", "Наличные")
    values.setdefault("delivery_method", "Курьер")
    values.setdefault("needs_1c_export", True)
    conn.execute(
        t.orders.insert().values(
            id=order_id, customer_id=customer_id, total=sum(i["total"] for i in items), **values
        )
    )
    conn.execute(t.items.insert(), items)


def order_row(conn: sa.Connection, schema: str | None, order_id: str) -> dict:
    t = tables(conn, schema)
    return dict(conn.execute(sa.select(t.orders).where(t.orders.c.id == order_id)).mappings().one())
