"""The base of the per-entity handlers, and the names of the top-level sections they are registered for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..records import Entity, Record
from .context import ParseContext

CLASSIFIER = "Классификатор"
CATALOG = "Каталог"
PACKAGE = "ПакетПредложений"
CHANGES = "ИзмененияПакетаПредложений"
CUSTOMERS = "Контрагенты"
DOCUMENT = "Документ"  # 2.x orders: a top-level section of its own
CONTAINER = "Контейнер"  # 3.1 orders: Контейнер/Документ
SECTIONS = frozenset({CLASSIFIER, CATALOG, PACKAGE, CHANGES, CUSTOMERS, DOCUMENT, CONTAINER})

Batch = Sequence[Record]  # the records of one element, yielded together


class Handler:
    """Turns one kind of element into records; the driver keeps one instance per file and class.

    :meth:`end` is called when an element registered for this handler ends (its subtree is complete);
    :meth:`start` when it starts, for handlers that set ``starts``. Both return the records to yield (None or
    an empty sequence for none). A handler frees the elements it has read (``xmlsafe.free_element``) and
    leaves alone an element that is not its own (e.g. a representative's Контрагент nested in a customer);
    it builds records of ``entities`` only when the read wants them, but may read more (lookups).
    """

    entities: ClassVar[frozenset[Entity]] = frozenset()  # the record families it yields
    starts: ClassVar[bool] = False

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.names = context.names

    def start(self, element: Any) -> Batch | None:
        return None

    def end(self, element: Any) -> Batch | None:
        raise NotImplementedError
