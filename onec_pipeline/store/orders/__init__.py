"""Orders: site orders to 1C and 1C's order updates back (issue 14).

Tables (migration ``0007_orders``; declared in :mod:`onec_pipeline.store.tables.orders`): ``orders``,
``order_items``, ``order_export_batches``. The site inserts orders and their lines with ``needs_1c_export``
true; the pipeline writes everything else.

* :mod:`.export` — batches for ``type=sale&mode=query`` and the outbox, and **when an order counts as
  delivered to 1C** (its docstring is the rule);
* :mod:`.updates` — 1C's documents applied, version-guarded, touching only the 1C-owned columns;
* :mod:`.records` — rows as :class:`~onec_pipeline.commerceml.records.Order` records;
* :mod:`.queries` — counts and the lines whose offer the catalog does not know.

All functions take a SQLAlchemy ``Connection`` inside a transaction (the caller commits) and the catalog
``schema`` (ignored on SQLite), except :func:`export_to_outbox`, which opens its own.
"""

from onec_pipeline.store.orders.export import (
    BY_NEXT_QUERY,
    BY_SUCCESS,
    CONFIRM_RULES,
    OrderBatch,
    confirm_previous,
    confirm_session,
    export_to_outbox,
    serve_query,
    write_outbox,
)
from onec_pipeline.store.orders.queries import (
    counts_of,
    order_counts,
    stale_unconfirmed,
    unknown_offer_lines,
    unknown_offers_of,
)
from onec_pipeline.store.orders.records import orders_with_lines, row_to_order
from onec_pipeline.store.orders.tables import OrderTables, order_tables
from onec_pipeline.store.orders.updates import OrderUpdateResult, apply_order_updates

__all__ = [
    "BY_NEXT_QUERY",
    "BY_SUCCESS",
    "CONFIRM_RULES",
    "OrderBatch",
    "OrderTables",
    "OrderUpdateResult",
    "apply_order_updates",
    "confirm_previous",
    "confirm_session",
    "counts_of",
    "export_to_outbox",
    "order_counts",
    "order_tables",
    "orders_with_lines",
    "row_to_order",
    "serve_query",
    "stale_unconfirmed",
    "unknown_offer_lines",
    "unknown_offers_of",
    "write_outbox",
]
