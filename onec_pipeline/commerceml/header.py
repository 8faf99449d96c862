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
from collections.abc import Callable
from pathlib import Path
from typing import IO

from lxml import etree

from .errors import CommerceMLError
from .records import Entity, FileHeader, FileKind
from .values import parse_bool, parse_datetime
from .xmlsafe import (
    PROLOG_BYTES,
    LocalNames,
    check_docinfo,
    check_prolog,
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
    """State of one header peek."""

    def __init__(self) -> None:
        self.schema_version: str | None = None
        self.namespace: str | None = None
        self.exported_at = None
        self.sections: list[str] = []
        self.flags: list[bool] = []
        self.entities: set[Entity] = set()
        self.classifier_id: str | None = None
        self.catalog_id: str | None = None
        self.bulk = 0
        self.complete = True


def _peek(source: IO[bytes], rel: str) -> _Peek:
    names = LocalNames()
    state = _Peek()
    depth = 0
    stack: list[str] = []
    context = iterparse(source, events=("start", "end"))
    try:
        for event, el in context:
            if event == "start":
                depth += 1
                name = names[el.tag]
                stack.append(name)
                if depth == 1:
                    check_docinfo(el, rel)
                    if name != ROOT:
                        # not CommerceML: stop here, the kind will be UNKNOWN
                        state.sections = []
                        state.complete = False
                        break
                    tag = el.tag
                    state.namespace = tag[1 : tag.index("}")] if tag.startswith("{") else None
                    state.schema_version = (el.get("ВерсияСхемы") or "").strip() or None
                    state.exported_at = parse_datetime(el.get("ДатаФормирования"))
                elif depth == 2:
                    state.sections.append(name)
                    flag = parse_bool(el.get("СодержитТолькоИзменения"))
                    if flag is not None:
                        state.flags.append(flag)
                    if name == "Документ" or name == "Контейнер":
                        state.bulk += 1
                elif depth == 4:
                    section, lst = stack[1], stack[2]
                    if section == "Классификатор" and lst in CLASSIFIER_LISTS:
                        state.entities.add(CLASSIFIER_LISTS[lst])
                    elif section == "Каталог" and lst == "Товары" and name == "Товар":
                        state.entities.add(Entity.GOODS)
                    elif section in OFFER_SECTIONS and lst in PACKAGE_LISTS:
                        state.entities.add(PACKAGE_LISTS[lst])
                    elif (
                        section in OFFER_SECTIONS
                        and lst == "Предложения"
                        and Entity.WAREHOUSES in state.entities
                    ):
                        # a classic package that declares its warehouses carries per-warehouse stock
                        # (1C omits Склад for zero stock, so the first offers may not show any)
                        state.entities.add(Entity.RESTS)
                elif depth == 3 and stack[1] == "Контрагенты" and name == "Контрагент":
                    state.entities.add(Entity.CUSTOMERS)
                continue

            # end event
            name = stack.pop()
            if depth == 3:
                section = stack[1]
                if name == "СодержитТолькоИзменения":  # 2.03: an element, not an attribute
                    flag = parse_bool(el.text)
                    if flag is not None:
                        state.flags.append(flag)
                elif name == "Ид" and section == "Классификатор" and state.classifier_id is None:
                    state.classifier_id = (el.text or "").strip() or None
                elif name == "Ид" and section == "Каталог":
                    state.catalog_id = (el.text or "").strip() or None
                elif name == "ИдКлассификатора" and state.classifier_id is None:
                    state.classifier_id = (el.text or "").strip() or None
                elif name == "ИдКаталога" and state.catalog_id is None:
                    state.catalog_id = (el.text or "").strip() or None
                elif name == "Контрагент" and section == "Контрагенты":
                    state.bulk += 1
                _drop(el)
            elif depth == 4:
                section, lst = stack[1], stack[2]
                if section in OFFER_SECTIONS and lst == "Предложения" and name == "Предложение":
                    _offer_entities(el, names, section != "ПакетПредложений", state.entities)
                    state.bulk += 1
                elif section == "Каталог" and name == "Товар":
                    state.bulk += 1
                _drop(el)
            elif depth > 4:
                pass  # kept until its depth-4 ancestor ends (small)
            depth -= 1
            if state.bulk >= PEEK_ENTITIES:
                state.complete = False
                break
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, rel, "/".join(stack[:5]) + ("/…" if len(stack) > 5 else "") or None) from None
    finally:
        del context
    return state


def _drop(el) -> None:
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _offer_entities(el, names: LocalNames, changes: bool, out: set[Entity]) -> None:
    children = set()
    deleted = el.get("Статус", "").strip() == "Удален"
    for ch in el:
        n = names[ch.tag]
        children.add(n)
        if n == "Цены":
            if len(ch):
                out.add(Entity.PRICES)
        elif n == "Количество":
            out.add(Entity.STOCK_TOTALS)
        elif n in WAREHOUSE_STOCK_CHILDREN:
            out.add(Entity.RESTS)
        elif n == "Остатки":
            for rest in ch:
                kids = {names[k.tag] for k in rest}
                if "Склад" in kids:
                    out.add(Entity.RESTS)
                elif "Количество" in kids:
                    out.add(Entity.STOCK_TOTALS)
        elif n == "ПометкаУдаления":
            deleted = deleted or bool(parse_bool(ch.text))
        elif n == "Статус":
            deleted = deleted or (ch.text or "").strip() == "Удален"
    if offer_has_definition(children, changes, deleted):
        out.add(Entity.OFFERS)


def _tail_only_changes(opener: Callable[[], IO[bytes]], size: int, encoding: str) -> bool | None:
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


def header_from(opener: Callable[[], IO[bytes]], rel: str, size: int) -> FileHeader:
    """Read the header of one file opened by ``opener`` (a path or a zip member)."""
    try:
        with opener() as fh:
            head = fh.read(PROLOG_BYTES)
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
    encoding, _bom = sniff_prolog(head)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return FileHeader(path=rel, kind=FileKind.UNKNOWN, encoding=encoding, size=size)
    check_prolog(head, rel)
    try:
        with opener() as fh:
            state = _peek(fh, rel)
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
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel or p.name) from None
    return header_from(lambda: open(p, "rb"), rel or p.name, size)
