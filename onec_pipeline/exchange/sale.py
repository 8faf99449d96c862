"""The ``type=sale`` hook: what ``mode=query`` sends to 1C and what ``mode=success`` confirms.

The transport (checkauth, init with the ``version`` handshake, query, success, file, import) is the
endpoint's; the orders themselves come from a provider registered here by the orders code::

    from onec_pipeline.exchange import sale

    def provide(request: sale.SaleRequest) -> sale.SaleDocuments:
        body = ...  # the CommerceML document (bytes, already encoded as its XML declaration says)
        return sale.SaleDocuments(body, confirm=lambda: mark_delivered(...))

    sale.register_provider(provide)

``mode=query`` calls the provider once per session and sends ``body``; ``confirm`` is kept with the session and
called when 1C answers ``mode=success`` in that same session (1C stored the orders): an order counts as
delivered only then. A query without a later ``success`` confirms nothing, and the next query sends the
same orders again. Without a provider, ``query`` sends an empty document (no orders). ``mode=info`` calls
``info_provider`` the same way when one is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SaleRequest:
    """Who asks: the exchange user, the session's public id and the protocol version 1C announced."""

    user: str
    session_id: str
    version: str


@dataclass
class SaleDocuments:
    """A reply to ``mode=query`` (or ``mode=info``): the XML bytes and what 1C's ``success`` confirms."""

    body: bytes
    confirm: Callable[[], None] | None = None
    media_type: str = field(default="application/xml")


SaleProvider = Callable[[SaleRequest], SaleDocuments]

_providers: dict[str, SaleProvider] = {}


def register_provider(provider: SaleProvider | None, *, mode: str = "query") -> None:
    """Install (or, with None, remove) the provider of ``mode=query`` or ``mode=info``."""
    if provider is None:
        _providers.pop(mode, None)
    else:
        _providers[mode] = provider


def provider(mode: str = "query") -> SaleProvider | None:
    return _providers.get(mode)


def empty_documents(version: str, now: datetime | None = None) -> SaleDocuments:
    """A CommerceML document without orders: what ``query`` sends when no provider is registered."""
    when = (now or datetime.now()).replace(microsecond=0).isoformat()
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация ВерсияСхемы="{version}" ДатаФормирования="{when}"/>\n'
    )
    return SaleDocuments(text.encode("utf-8"))
