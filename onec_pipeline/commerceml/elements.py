"""What the header peek and the record handlers read off one element: its text, and 1C's deletion mark.

Both take lxml elements (duck-typed: ``.text`` and ``.get``), so they work on any parse of the file.
"""

from __future__ import annotations

from typing import Any

from .values import parse_bool

DELETED_STATUS = "Удален"
MARK_ELEMENT = "ПометкаУдаления"
STATUS_ELEMENT = "Статус"


def element_text(element: Any) -> str | None:
    """The element's own text, stripped; None when it has none or only whitespace."""
    text = element.text
    if text is None:
        return None
    text = text.strip()
    return text or None


def deleted_mark(element: Any, mark: Any = None, status: Any = None) -> bool:
    """Whether 1C marked the entity ``element`` deleted, in any of its three forms (FORMAT.md §12.13):

    * the attribute ``Статус="Удален"`` (the 2.x XSD, classic exports);
    * a child ``<ПометкаУдаления>true</ПометкаУдаления>`` (2.09/3.1; any of ``parse_bool``'s spellings);
    * a child ``<Статус>Удален</Статус>`` (Bitrix-generated files).

    ``mark`` and ``status`` are those two children of ``element`` (None when absent): a handler picks them
    up in its own pass over the children, so they are not walked twice.
    """
    attribute = element.get(STATUS_ELEMENT)
    if attribute is not None and attribute.strip() == DELETED_STATUS:
        return True
    if mark is not None and parse_bool(mark.text):
        return True
    return status is not None and element_text(status) == DELETED_STATUS
