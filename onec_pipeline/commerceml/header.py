"""File headers: what one file holds, decided by content from a cheap peek (never by file name).

:func:`read_header` parses the root element and the start of every top-level section, and stops as soon as
it has seen :data:`PEEK_ENTITIES` bulk entities (Товар, Предложение, Контрагент, Документ): a 2 GB goods
file costs the same as a 2 KB one. What it records:

* ``ВерсияСхемы``, namespace, encoding (XML declaration; BOM noted), ``ДатаФормирования`` (lenient);
* ``sections``: local names of the top-level sections in document order (a section after a huge bulk
  section is not seen; 1C never writes one);
* ``only_changes``: True if any section says ``СодержитТолькоИзменения=true`` (attribute, or the 2.03 child
  element, looked up in the file's last 64 KB when the peek stopped early), False if some say false and
  none true, None if none says;
* ``entities``: the record families the file can contribute (see :func:`classify`), from which lists are
  present and non-empty and, for ``Предложение``, which children the first offers carry;
* ``kind``: one :class:`FileKind`, derived from ``entities`` and ``sections``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from lxml import etree

from .elements import MARK_ELEMENT, STATUS_ELEMENT, deleted_mark, element_text
from .errors import CommerceMLError
from .records import Entity, FileHeader, FileKind
from .values import parse_bool, parse_datetime
from .xmlsafe import (
    PROLOG_BYTES,
    LocalNames,
    Opener,
    check_docinfo,
    check_prolog,
    free_element,
    iterparse,
    sniff_prolog,
    syntax_error,
)

PEEK_ENTITIES = 256
ROOT = "КоммерческаяИнформация"
OFFER_SECTIONS = frozenset({"ПакетПредложений", "ИзмененияПакетаПредложений"})
CLASSIFIER_LISTS = {
    "Группы": Entity.GROUPS,
    "Свойства": Entity.PROPERTIES,
    "ТипыЦен": Entity.PRICE_TYPES,
    "Склады": Entity.WAREHOUSES,
    "ЕдиницыИзмерения": Entity.UNITS,
}
PACKAGE_LISTS = {"ТипыЦен": Entity.PRICE_TYPES, "Склады": Entity.WAREHOUSES}

# Children of Предложение that define the offer itself (as opposed to its prices and stock).
OFFER_DEFINITION_CHILDREN = frozenset(
    {
        "Наименование",
        "Артикул",
        "Штрихкод",
        "ШтрихКод",
        "Код",
        "БазоваяЕдиница",
        "ХарактеристикиТовара",
        "ЗначенияСвойств",
        "Картинка",
        "Описание",
        "Группы",
        "Изготовитель",
        "ЗначенияРеквизитов",
        "СтавкиНалогов",
    }
)
# In ИзмененияПакетаПредложений Ид|Штрихкод|Артикул only *identify* the offer (XSD group ИдентификаторТовара).
CHANGES_IDENTIFICATION_CHILDREN = frozenset({"Артикул", "Штрихкод", "ШтрихКод"})
WAREHOUSE_STOCK_CHILDREN = frozenset({"Склад", "КоличествоНаСкладах", "Склады"})

KIND_ORDER = {
    FileKind.CLASSIFIER: 0,
    FileKind.GOODS: 1,
    FileKind.OFFER_CLASSIFIER: 2,
    FileKind.OFFERS: 3,
    FileKind.PRICES: 4,
    FileKind.RESTS: 5,
    FileKind.CUSTOMERS: 6,
    FileKind.DOCUMENTS: 7,
    FileKind.UNKNOWN: 8,
}

_ONLY_CHANGES_TAIL = {
    enc: re.compile("<(?:[A-Za-z0-9_]+:)?СодержитТолькоИзменения>\\s*(\\w+)\\s*<".encode(enc), re.IGNORECASE)
    for enc in ("utf-8", "cp1251")
}


def offer_has_definition(children: set[str] | frozenset[str], changes_section: bool, deleted: bool) -> bool:
    """The rule for "does this Предложение define an Offer?" (used by the peek and by the reader).

    Classic 2.04–2.08 offers.xml: one Предложение carries name/unit/article *and* prices *and* stock ->
    an Offer plus Price/Stock/StockTotal records. UT 11 ``prices___``/``rests___`` files: Ид + Цены or Ид +
    Остатки only -> no Offer. A Предложение carrying only a deletion mark (ПометкаУдаления=true or
    Статус=Удален) is an Offer record with ``deleted=True``. In ИзмененияПакетаПредложений the
    Штрихкод/Артикул children identify the offer and do not define one.
    """
    if deleted:
        return True
    defining = (
        OFFER_DEFINITION_CHILDREN - CHANGES_IDENTIFICATION_CHILDREN
        if changes_section
        else OFFER_DEFINITION_CHILDREN
    )
    return not defining.isdisjoint(children)


def classify(entities: set[Entity] | frozenset[Entity], sections: tuple[str, ...] | list[str]) -> FileKind:
    """One kind per file, from the entities it can contribute (the most specific wins)."""
    if entities == {Entity.ORDERS}:
        return FileKind.DOCUMENTS
    if Entity.CUSTOMERS in entities:
        return FileKind.CUSTOMERS
    if Entity.OFFERS in entities:
        return FileKind.OFFERS
    if Entity.GOODS in entities:
        return FileKind.GOODS
    if Entity.PRICES in entities:
        return FileKind.PRICES
    if Entity.RESTS in entities or Entity.STOCK_TOTALS in entities:
        return FileKind.RESTS
    if Entity.PROPERTIES in entities and not OFFER_SECTIONS.isdisjoint(sections):
        return FileKind.OFFER_CLASSIFIER
    if entities:
        return FileKind.CLASSIFIER
    if "Документ" in sections or "Контейнер" in sections:
        return FileKind.DOCUMENTS
    return FileKind.UNKNOWN


class _Peek:
    """One header peek: what the root and the start of every section say, until enough bulk entities."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.names = LocalNames()
        self.path: list[str] = []  # local names from the root down to the current element
        self.schema_version: str | None = None
        self.namespace: str | None = None
        self.exported_at: datetime | None = None
        self.sections: list[str] = []
        self.flags: list[bool] = []
        self.entities: set[Entity] = set()
        self.classifier_id: str | None = None
        self.catalog_id: str | None = None
        self.bulk = 0  # bulk entities seen (Товар, Предложение, Контрагент, Документ)
        self.complete = True  # False when the peek stopped before the end of the file

    def run(self, source: IO[bytes]) -> None:
        events = iterparse(source, events=("start", "end"))
        try:
            for event, element in events:
                more = self._start(element) if event == "start" else self._end(element)
                if not more:
                    self.complete = False
                    break
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, self.file, self._where()) from None
        finally:
            del events

    def _where(self) -> str | None:
        return "/".join(self.path[:5]) + ("/…" if len(self.path) > 5 else "") or None

    def _start(self, element: Any) -> bool:
        """A start event; False when the peek stops here."""
        name = self.names[element.tag]
        path = self.path
        path.append(name)
        depth = len(path)
        if depth == 1:
            return self._root(element, name)
        if depth == 2:
            self._section(element, name)
        elif depth == 3:
            if path[1] == "Контрагенты" and name == "Контрагент":
                self.entities.add(Entity.CUSTOMERS)
        elif depth == 4:
            self._list_item_start(path[1], path[2], name)
        return True

    def _root(self, element: Any, name: str) -> bool:
        check_docinfo(element, self.file)
        if name != ROOT:
            self.sections = []  # not CommerceML: the kind will be UNKNOWN
            return False
        tag = element.tag
        self.namespace = tag[1 : tag.index("}")] if tag.startswith("{") else None
        self.schema_version = (element.get("ВерсияСхемы") or "").strip() or None
        self.exported_at = parse_datetime(element.get("ДатаФормирования"))
        return True

    def _section(self, element: Any, name: str) -> None:
        self.sections.append(name)
        flag = parse_bool(element.get("СодержитТолькоИзменения"))
        if flag is not None:
            self.flags.append(flag)
        if name == "Документ" or name == "Контейнер":
            self.entities.add(Entity.ORDERS)
            self.bulk += 1

    def _list_item_start(self, section: str, list_name: str, name: str) -> None:
        """The start of an element of a section's list (Группы/Группа, Товары/Товар, Предложения/...)."""
        if section == "Классификатор" and list_name in CLASSIFIER_LISTS:
            self.entities.add(CLASSIFIER_LISTS[list_name])
        elif section == "Каталог" and list_name == "Товары" and name == "Товар":
            self.entities.add(Entity.GOODS)
        elif section in OFFER_SECTIONS and list_name in PACKAGE_LISTS:
            self.entities.add(PACKAGE_LISTS[list_name])
        elif section in OFFER_SECTIONS and list_name == "Предложения" and Entity.WAREHOUSES in self.entities:
            # a classic package that declares its warehouses carries per-warehouse stock
            # (1C omits Склад for zero stock, so the first offers may not show any)
            self.entities.add(Entity.RESTS)

    def _end(self, element: Any) -> bool:
        """An end event; False when the peek has seen enough bulk entities."""
        path = self.path
        depth = len(path)
        name = path.pop()
        if depth == 3:
            self._section_child(element, path[1], name)
            free_element(element)
        elif depth == 4:
            section = path[1]
            if section in OFFER_SECTIONS and path[2] == "Предложения" and name == "Предложение":
                _offer_entities(element, self.names, section != "ПакетПредложений", self.entities)
                self.bulk += 1
            elif section == "Каталог" and name == "Товар":
                self.bulk += 1
            free_element(element)
        # deeper elements are kept until their depth-4 ancestor ends (small)
        return self.bulk < PEEK_ENTITIES

    def _section_child(self, element: Any, section: str, name: str) -> None:
        """A direct child of a section ended: the 2.03 flag element, the ids, a customer."""
        if name == "СодержитТолькоИзменения":  # 2.03: an element, not an attribute
            flag = parse_bool(element.text)
            if flag is not None:
                self.flags.append(flag)
        elif name == "Ид" and section == "Классификатор" and self.classifier_id is None:
            self.classifier_id = element_text(element)
        elif name == "Ид" and section == "Каталог":
            self.catalog_id = element_text(element)
        elif name == "ИдКлассификатора" and self.classifier_id is None:
            self.classifier_id = element_text(element)
        elif name == "ИдКаталога" and self.catalog_id is None:
            self.catalog_id = element_text(element)
        elif name == "Контрагент" and section == "Контрагенты":
            self.bulk += 1


def _offer_entities(element: Any, names: LocalNames, changes: bool, out: set[Entity]) -> None:
    """The record families one Предложение contributes (added to ``out``)."""
    children = set()
    mark = status = None
    for child in element:
        name = names[child.tag]
        children.add(name)
        if name == "Цены":
            if len(child):
                out.add(Entity.PRICES)
        elif name == "Количество":
            out.add(Entity.STOCK_TOTALS)
        elif name in WAREHOUSE_STOCK_CHILDREN:
            out.add(Entity.RESTS)
        elif name == "Остатки":
            for rest in child:
                kinds = {names[part.tag] for part in rest}
                if "Склад" in kinds:
                    out.add(Entity.RESTS)
                elif "Количество" in kinds:
                    out.add(Entity.STOCK_TOTALS)
        elif name == MARK_ELEMENT:
            mark = child
        elif name == STATUS_ELEMENT:
            status = child
    if offer_has_definition(children, changes, deleted_mark(element, mark, status)):
        out.add(Entity.OFFERS)


def _tail_only_changes(opener: Opener, size: int, encoding: str) -> bool | None:
    """The 2.03 ``<СодержитТолькоИзменения>`` element sits after the bulk list: look in the last 64 KB."""
    pattern = _ONLY_CHANGES_TAIL[
        "cp1251" if encoding.lower().replace("-", "") in ("windows1251", "cp1251") else "utf-8"
    ]
    with opener() as fh:
        tail = b""
        if fh.seekable():
            try:
                fh.seek(max(0, size - PROLOG_BYTES))
                tail = fh.read()
            except OSError:
                tail = b""
        if not tail:
            while chunk := fh.read(1 << 20):
                tail = (tail + chunk)[-PROLOG_BYTES:]
    found = pattern.findall(tail)
    values = [parse_bool(v.decode("ascii", "ignore")) for v in found]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return any(values)


def header_from(opener: Opener, rel: str, size: int) -> FileHeader:
    """Read the header of one file opened by ``opener`` (a path or a zip member)."""
    try:
        with opener() as fh:
            head = fh.read(PROLOG_BYTES)
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
    encoding, bom = sniff_prolog(head)
    utf16 = bom and encoding == "UTF-16"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not utf16 and not stripped.startswith(b"<"):
        # never skipped in silence: a file named *.xml that is not XML fails, naming itself
        shown = stripped[:8]
        raise CommerceMLError(f"not XML: the file starts with {shown!r} instead of '<'", file=rel, line=1)
    check_prolog(head, rel)
    state = _Peek(rel)
    try:
        with opener() as fh:
            state.run(fh)
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
    flags = list(state.flags)
    if not state.complete and not flags and state.sections and state.sections[0] != "Документ":
        tail_flag = _tail_only_changes(opener, size, encoding)
        if tail_flag is not None:
            flags.append(tail_flag)
    only_changes = True if any(flags) else (False if flags else None)
    entities = frozenset(state.entities)
    return FileHeader(
        path=rel,
        kind=classify(entities, state.sections),
        schema_version=state.schema_version,
        namespace=state.namespace,
        encoding=encoding,
        exported_at=state.exported_at,
        only_changes=only_changes,
        sections=tuple(state.sections),
        classifier_id=state.classifier_id,
        catalog_id=state.catalog_id,
        size=size,
        entities=entities,
    )


def read_header(path: str | os.PathLike[str], rel: str | None = None) -> FileHeader:
    """Header of one XML file on disk (cheap: root and the start of the sections only).

    ``rel`` is the path recorded in the header (default: the file name).
    """
    file_path = Path(path)
    try:
        size = file_path.stat().st_size
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel or file_path.name) from None
    return header_from(lambda: open(file_path, "rb"), rel or file_path.name, size)
