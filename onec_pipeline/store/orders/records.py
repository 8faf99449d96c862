"""Rows of ``orders`` / ``order_items`` (and the buyer's ``customers`` row) as :class:`Order` records: what the
export writes, and what a round trip compares with what the reader reads back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.reader.documents import DELIVERY_ITEM_ID
from onec_pipeline.commerceml.records import Order, OrderItem
from onec_pipeline.store.customers.export import row_to_customer
from onec_pipeline.store.orders.tables import OrderTables

OPERATION = "Заказ товара"
SELLER = "Продавец"


def row_to_order(row: Mapping[Any, Any], items: list[OrderItem], customer: Mapping[Any, Any] | None) -> Order:
    """One ``orders`` row with its lines and its customer's row (None: no customer) as an Order."""
    created = row["created_at"]
    return Order(
        id=str(row["id"]),
        number=row["number"],
        date=created.date().isoformat() if created else None,
        time=created.time().replace(microsecond=0).isoformat() if created else None,
        operation=OPERATION,
        role=SELLER,
        currency=row["currency"],
        total=row["total"],
        comment=row["comment"],
        customer=row_to_customer(customer) if customer is not None else None,
        items=items,
        payment_method=row["payment_method"],
        delivery_method=row["delivery_method"],
        delivery_address=row["delivery_address"],
        status=row["site_status"],
    )


def item_of(row: Mapping[Any, Any]) -> OrderItem:
    offer_id = row["offer_id"]
    return OrderItem(
        offer_id=offer_id,
        name=row["name"],
        quantity=row["quantity"],
        price=row["price"],
        total=row["total"],
        service=offer_id == DELIVERY_ITEM_ID,
    )


def orders_with_lines(
    conn: sa.Connection, tables: OrderTables, rows: list[Mapping[Any, Any]]
) -> Iterator[Order]:
    """The Orders of ``rows`` (one batch: lines and customers fetched with one query each)."""
    ids = [row["id"] for row in rows]
    lines: dict[str, list[OrderItem]] = {i: [] for i in ids}
    items = tables.items
    query = sa.select(items).where(items.c.order_id.in_(ids)).order_by(items.c.order_id, items.c.id)
    for line in conn.execute(query).mappings():
        lines[line["order_id"]].append(item_of(line))
    customer_ids = {row["customer_id"] for row in rows if row["customer_id"] is not None}
    customers: dict[int, Mapping[Any, Any]] = {}
    if customer_ids:
        table = tables.customers
        for customer in conn.execute(sa.select(table).where(table.c.id.in_(customer_ids))).mappings():
            customers[customer["id"]] = customer
    for row in rows:
        yield row_to_order(row, lines[row["id"]], customers.get(row["customer_id"]))
