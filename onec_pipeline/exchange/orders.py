"""The orders side of ``type=sale``: the providers :mod:`.sale` calls for ``mode=query`` and ``mode=info``.

* ``mode=query`` — :func:`onec_pipeline.store.orders.serve_query`: the pending orders of the catalog database
  as CommerceML ``Документ``s in the version 1C announced at ``init`` (an unknown one: ``ONEC_ORDERS_VERSION``)
  and ``ONEC_ORDERS_ENCODING``, recorded as a batch of the exchange session; 1C's ``mode=success`` in that
  session confirms it (:func:`~onec_pipeline.store.orders.confirm_session`). With ``ONEC_SALE_CONFIRM=next_query``
  a query of a later session confirms the earlier batches (for 1C configurations that never call success).
  The full rule of when an order counts as delivered: :mod:`onec_pipeline.store.orders.export`.
* ``mode=info`` — the site's order statuses (``ONEC_ORDER_STATUSES``, ``id=name`` pairs separated by ``;``;
  default Bitrix's ``N=Принят;P=Оплачен;F=Выполнен``) and payment systems (``ONEC_PAYMENT_SYSTEMS`` the same
  way; default: the payment methods the orders name), windows-1251, Bitrix's shape.
* ``mode=file`` / ``mode=import`` need nothing here: 1C's order updates travel as an upload through the
  upload sensor into the ``order_updates`` asset, like every other upload.

:func:`install` registers both providers on the catalog database of the environment (``exchange serve``
calls it); tests call it with their own store.
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa

from onec_pipeline.commerceml.order_writer import dialect_for, encoding_for, info_document
from onec_pipeline.settings import OrderSettings, Settings
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.orders import confirm_session, order_tables, serve_query

from . import sale

log = logging.getLogger("onec_pipeline.exchange")

DEFAULT_STATUSES = "N=Принят;P=Оплачен;F=Выполнен"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``id=name;id=name`` → pairs (a pair without ``=`` is its own id and name; blanks skipped)."""
    pairs = []
    for part in text.split(";"):
        ident, _, name = part.partition("=")
        if ident.strip():
            pairs.append((ident.strip(), (name or ident).strip()))
    return pairs


class OrderProvider:
    """The ``type=sale`` providers on one catalog database."""

    def __init__(self, store: CatalogStore, settings: OrderSettings | None = None) -> None:
        self.store = store
        self.settings = settings or OrderSettings.from_env()
        encoding_for(
            self.settings.encoding
        )  # refuse a wrong ONEC_ORDERS_ENCODING at start, not at 1C's query

    def version(self, asked: str) -> str:
        try:
            return dialect_for(asked).version
        except ValueError:
            log.warning(
                "1C asked for orders in version %r, unknown: sending %s", asked, self.settings.version
            )
            return dialect_for(self.settings.version).version

    def query(self, request: sale.SaleRequest) -> sale.SaleDocuments:
        settings, store = self.settings, self.store
        store.ensure_schema()
        # a plain transaction, not the load lock: 1C must not wait for an import to finish
        with store.engine.begin() as conn:
            batch = serve_query(
                conn,
                session=request.session_id,
                version=self.version(request.version),
                encoding=settings.encoding,
                rule=settings.confirm,
                limit=settings.query_limit,
                schema=store.schema,
            )
        log.info(
            "session %s: mode=query sends %d order(s) (batch %s; %d earlier confirmed by this query)",
            request.session_id,
            len(batch.order_ids),
            batch.id or "-",
            batch.confirmed_before,
        )

        def confirm() -> None:
            with store.engine.begin() as conn:
                done = confirm_session(conn, request.session_id, schema=store.schema)
            log.info("session %s: mode=success confirmed %d order(s)", request.session_id, done)

        charset = encoding_for(settings.encoding)
        return sale.SaleDocuments(
            batch.body, confirm=confirm, media_type=f"application/xml; charset={charset}"
        )

    def info(self, request: sale.SaleRequest) -> sale.SaleDocuments:
        statuses = parse_pairs(os.environ.get("ONEC_ORDER_STATUSES", "").strip() or DEFAULT_STATUSES)
        configured = os.environ.get("ONEC_PAYMENT_SYSTEMS", "").strip()
        payments = parse_pairs(configured) if configured else self._payment_methods()
        body = info_document(statuses, payments)
        return sale.SaleDocuments(body, media_type="application/xml; charset=windows-1251")

    def _payment_methods(self) -> list[tuple[str, str]]:
        self.store.ensure_schema()
        schema = None if self.store.dialect == "sqlite" else self.store.schema
        orders = order_tables(schema).orders
        query = (
            sa.select(orders.c.payment_method)
            .where(orders.c.payment_method.is_not(None))
            .distinct()
            .order_by(orders.c.payment_method)
        )
        with self.store.engine.connect() as conn:
            return [(name, name) for name in conn.execute(query).scalars()]


def install(store: CatalogStore, settings: OrderSettings | None = None) -> OrderProvider:
    """Register the orders providers of ``mode=query`` and ``mode=info`` on ``store``."""
    provider = OrderProvider(store, settings)
    sale.register_provider(provider.query)
    sale.register_provider(provider.info, mode="info")
    return provider


def install_from_env() -> OrderProvider:
    """:func:`install` on the catalog database of ``ONEC_DATABASE_URL`` / ``ONEC_DB_SCHEMA``."""
    settings = Settings.from_env()
    return install(CatalogStore(settings.database_url, schema=settings.db_schema))
