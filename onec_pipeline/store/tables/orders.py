"""The orders family (site orders to 1C, 1C's updates back), migration ``0007_orders``.

* ``orders`` — one row per order. The **site** inserts ``id``, ``number``, ``created_at``, ``customer_id``,
  ``currency``, ``total``, ``comment`` (and optionally ``payment_method``, ``delivery_method``,
  ``delivery_address``, ``site_status``) with ``needs_1c_export`` true. Every other column has a default and
  is written only by the pipeline: what 1C says (``number_1c`` … ``version_1c``: the 1C-owned columns,
  version-guarded by ``upload_key``), and the delivery bookkeeping (``export_batch``, ``sent_to_1c_at``,
  ``confirmed_at``, ``outbox_file``). An order 1C created itself has ``origin = '1c'``.
* ``order_items`` — the lines: ``offer_id`` as in ``offers.id`` (``product`` or ``product#characteristic``;
  ``ORDER_DELIVERY`` is the delivery service line), ``name``, ``quantity``, ``price``, ``total``.
* ``order_export_batches`` — every batch of orders handed to 1C (``type=sale&mode=query`` or the outbox)
  and how it was confirmed.

The rules that write them live in :mod:`onec_pipeline.store.orders`.
"""

from __future__ import annotations

import sqlalchemy as sa

from onec_pipeline.store.tables.columns import ExactDecimal, Json

FAMILY = "orders"
ORIGINS = ("site", "1c")


def add_tables(md: sa.MetaData) -> list[sa.Table]:
    return [_orders(md), _items(md), _batches(md)]


def _orders(md: sa.MetaData) -> sa.Table:
    customers = f"{md.schema}.customers.id" if md.schema else "customers.id"
    return sa.Table(
        "orders",
        md,
        # written by the site
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey(customers, ondelete="SET NULL")),
        sa.Column("currency", sa.Text, nullable=False, server_default="RUB"),
        sa.Column("total", ExactDecimal(), nullable=False, server_default="0"),
        sa.Column("comment", sa.Text),
        sa.Column("payment_method", sa.Text),
        sa.Column("delivery_method", sa.Text),
        sa.Column("delivery_address", sa.Text),
        sa.Column("site_status", sa.Text),
        sa.Column("needs_1c_export", sa.Boolean, nullable=False, server_default=sa.false()),
        # written by the pipeline: where the order comes from, what 1C says about it
        sa.Column("origin", sa.Text, nullable=False, server_default="site"),
        sa.Column("onec_id", sa.Text),  # 1C's Ид of an order 1C created
        sa.Column("customer_onec_id", sa.Text),  # the buyer's Ид as 1C sent it
        sa.Column("number_1c", sa.Text),
        sa.Column("date_1c", sa.Text),
        sa.Column("posted", sa.Boolean),
        sa.Column("paid", sa.Boolean),
        sa.Column("payment_number", sa.Text),
        sa.Column("payment_date", sa.Text),
        sa.Column("shipped", sa.Boolean),
        sa.Column("shipment_number", sa.Text),
        sa.Column("shipment_date", sa.Text),
        sa.Column("cancelled", sa.Boolean),
        sa.Column("status_id", sa.Text),
        sa.Column("status_1c", sa.Text),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version_1c", sa.Text),  # НомерВерсии
        sa.Column("upload_key", sa.Text),  # the upload whose update the 1C columns hold (the version)
        sa.Column("exported_at", sa.DateTime),  # that upload's ДатаФормирования
        # written by the pipeline: delivery to 1C
        sa.Column("export_batch", sa.Text),  # the last batch that carried the order
        sa.Column("sent_to_1c_at", sa.DateTime),
        sa.Column("confirmed_at", sa.DateTime),  # delivered: 1C confirmed it (see store.orders)
        sa.Column("outbox_file", sa.Text),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("number", name="uq_orders_number"),
        sa.CheckConstraint("origin IN ('site', '1c')", name="ck_orders_origin"),
        sa.Index("ix_orders_onec_id", "onec_id"),
        sa.Index("ix_orders_needs_1c_export", "needs_1c_export"),
        info={"family": FAMILY},
    )


def _items(md: sa.MetaData) -> sa.Table:
    orders = f"{md.schema}.orders.id" if md.schema else "orders.id"
    return sa.Table(
        "order_items",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Text, sa.ForeignKey(orders, ondelete="CASCADE"), nullable=False),
        sa.Column("offer_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("quantity", ExactDecimal(), nullable=False, server_default="1"),
        sa.Column("price", ExactDecimal(), nullable=False, server_default="0"),
        sa.Column("total", ExactDecimal(), nullable=False, server_default="0"),
        sa.Index("ix_order_items_order_id", "order_id"),
        info={"family": FAMILY},
    )


def _batches(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "order_export_batches",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),  # sale_query | outbox
        sa.Column("session", sa.Text),  # the exchange session that asked (sale_query)
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False),
        sa.Column("file", sa.Text),  # the outbox file
        sa.Column("order_ids", Json(), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now()),
        sa.Column("confirmed_at", sa.DateTime),
        sa.Column("confirmed_by", sa.Text),  # success | next_query
        sa.CheckConstraint("channel IN ('sale_query', 'outbox')", name="ck_order_export_batches_channel"),
        info={"family": FAMILY},
    )
