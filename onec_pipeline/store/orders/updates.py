"""Order updates from 1C (``Документ``s of an upload), version-guarded like the catalog.

For each incoming :class:`Order`, the row is found the way 1C finds a site order: by ``number`` = Номер first,
then by ``id`` = Ид, then by ``onec_id`` (an order 1C created itself, seen before). Then:

* **newer** upload (``upload_key`` greater than the row's, or the row has none) → the **1C-owned columns only**
  (``number_1c`` … ``version_1c``, ``customer_onec_id``) are written with ``upload_key``/``exported_at``;
  identical content still advances the version and counts as ``unchanged``;
* **same** upload → ``unchanged``; **older** upload → ``stale``: nothing changes. Upload keys sort
  chronologically, so a late, older update never moves a status backwards (never reopens a shipped or
  cancelled order), and applying one upload twice changes nothing;
* not found → the order is **1C's own**: inserted with ``origin = '1c'``, ``onec_id`` = its Ид, its lines in
  ``order_items`` (replaced by each newer update of it), ``customer_id`` from ``customers.onec_id``.

An update of an order that was sent to 1C and still waits for confirmation confirms it (1C has it). When the
order's customer is a site customer 1C did not know (``customers.onec_id`` NULL), 1C's Ид for the buyer is
linked to it (``onec_id`` set, ``needs_1c_export`` cleared, logged in ``customer_sync_log`` as
``import_from_1c`` / ``linked_by_order``) unless another customer already holds that Ид. Lines whose offer the
catalog does not know are kept; :func:`onec_pipeline.store.orders.queries.unknown_offer_lines` reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Order
from onec_pipeline.store.orders.export import mark_delivered, utcnow
from onec_pipeline.store.orders.tables import OrderTables, tables_for

#: Order field -> orders column: what 1C owns
ONEC_COLUMNS = {
    "number_1c": "number_1c",
    "date_1c": "date_1c",
    "posted": "posted",
    "paid": "paid",
    "payment_number": "payment_number",
    "payment_date": "payment_date",
    "shipped": "shipped",
    "shipment_number": "shipment_number",
    "shipment_date": "shipment_date",
    "cancelled": "cancelled",
    "status_id": "status_id",
    "status": "status_1c",
    "deleted": "deleted",
    "version": "version_1c",
}
ORIGIN_1C = "1c"
SITE_CUSTOMER_PREFIX = "site-"


@dataclass
class OrderUpdateResult:
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    inserted: int = 0  # orders 1C created itself, first seen
    confirmed: int = 0  # sent orders an update confirmed
    linked_customers: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "inserted": self.inserted,
            "confirmed": self.confirmed,
            "linked_customers": self.linked_customers,
            "matched_by": dict(self.matched_by),
        }


def onec_values(order: Order) -> dict[str, Any]:
    values = {column: getattr(order, name) for name, column in ONEC_COLUMNS.items()}
    values["customer_onec_id"] = order.customer.id if order.customer is not None else None
    return values


def find_order(
    conn: sa.Connection, tables: OrderTables, order: Order
) -> tuple[Mapping[Any, Any] | None, str]:
    """The row 1C's document is about, and how it was found (``number``, ``id``, ``onec_id``, or ``none``)."""
    orders = tables.orders
    probes = (
        ("number", orders.c.number, order.number),
        ("id", orders.c.id, order.id),
        ("onec_id", orders.c.onec_id, order.id),
    )
    for how, column, value in probes:
        if value:
            row = conn.execute(sa.select(orders).where(column == value).limit(1)).mappings().first()
            if row is not None:
                return row, how
    return None, "none"


class _Applier:
    def __init__(
        self, conn: sa.Connection, tables: OrderTables, key: str, exported_at: datetime | None, now: datetime
    ) -> None:
        self.conn, self.tables, self.key, self.exported_at, self.now = conn, tables, key, exported_at, now
        self.result = OrderUpdateResult()

    def apply(self, order: Order) -> None:
        row, how = find_order(self.conn, self.tables, order)
        self.result.matched_by[how] = self.result.matched_by.get(how, 0) + 1
        if row is None:
            self._create(order)
            return
        if row["sent_to_1c_at"] is not None and row["needs_1c_export"]:
            self.result.confirmed += mark_delivered(self.conn, self.tables, [row["id"]], self.now)
        self._link_customer(row, order)
        current = row["upload_key"]
        if current is not None and self.key < current:
            self.result.stale += 1
            return
        if current == self.key:
            self.result.unchanged += 1
            return
        values = onec_values(order)
        same = all(row[column] == value for column, value in values.items())
        orders = self.tables.orders
        values.update(upload_key=self.key, exported_at=self.exported_at, updated_at=self.now)
        self.conn.execute(orders.update().where(orders.c.id == row["id"]).values(**values))
        if row["origin"] == ORIGIN_1C:
            self._replace_lines(row["id"], order)
        if same:
            self.result.unchanged += 1
        else:
            self.result.updated += 1

    def _create(self, order: Order) -> None:
        orders, customers = self.tables.orders, self.tables.customers
        customer_id = None
        if order.customer is not None:
            customer_id = self.conn.execute(
                sa.select(customers.c.id).where(customers.c.onec_id == order.customer.id)
            ).scalar()
        self.conn.execute(
            orders.insert().values(
                id=order.id,
                number=order.number or order.id,
                created_at=_created(order) or self.now,
                customer_id=customer_id,
                currency=order.currency or "RUB",
                total=order.total if order.total is not None else 0,
                comment=order.comment,
                origin=ORIGIN_1C,
                onec_id=order.id,
                upload_key=self.key,
                exported_at=self.exported_at,
                updated_at=self.now,
                **onec_values(order),
            )
        )
        self._replace_lines(order.id, order)
        self.result.inserted += 1

    def _replace_lines(self, order_id: str, order: Order) -> None:
        items = self.tables.items
        self.conn.execute(items.delete().where(items.c.order_id == order_id))
        lines = [
            {
                "order_id": order_id,
                "offer_id": item.offer_id or "",
                "name": item.name,
                "quantity": item.quantity if item.quantity is not None else 1,
                "price": item.price if item.price is not None else 0,
                "total": item.total if item.total is not None else 0,
            }
            for item in order.items
        ]
        if lines:
            self.conn.execute(items.insert(), lines)

    def _link_customer(self, row: Mapping[Any, Any], order: Order) -> None:
        """A site customer 1C did not know gets 1C's Ид for the buyer of its order."""
        onec_id = order.customer.id if order.customer is not None else None
        if row["customer_id"] is None or not onec_id or onec_id.startswith(SITE_CUSTOMER_PREFIX):
            return
        customers = self.tables.customers
        taken = self.conn.execute(sa.select(customers.c.id).where(customers.c.onec_id == onec_id)).first()
        if taken is not None:
            return
        linked = self.conn.execute(
            customers.update()
            .where(customers.c.id == row["customer_id"], customers.c.onec_id.is_(None))
            .values(
                onec_id=onec_id,
                needs_1c_export=False,
                sync_status="synced",
                last_sync_at=self.now,
                updated_at=self.now,
            )
        ).rowcount
        if linked:
            self.result.linked_customers += 1
            self.conn.execute(
                self.tables.customer_log.insert().values(
                    customer_id=row["customer_id"],
                    onec_id=onec_id,
                    operation="import_from_1c",
                    status="success",
                    details={
                        "action": "linked_by_order",
                        "order_id": row["id"],
                        "number_1c": order.number_1c,
                    },
                    upload_key=self.key,
                    created_at=self.now,
                )
            )


def _created(order: Order) -> datetime | None:
    if not order.date:
        return None
    try:
        return datetime.fromisoformat(f"{order.date}T{order.time or '00:00:00'}")
    except ValueError:
        return None


def apply_order_updates(
    conn: sa.Connection,
    orders: Iterable[Order],
    key: str,
    *,
    exported_at: datetime | None = None,
    schema: str | None = None,
    now: datetime | None = None,
) -> OrderUpdateResult:
    """Apply 1C's order documents of upload ``key`` (see the module docstring) in the caller's transaction."""
    applier = _Applier(conn, tables_for(conn, schema), key, exported_at, now or utcnow())
    for order in orders:
        applier.apply(order)
    return applier.result
