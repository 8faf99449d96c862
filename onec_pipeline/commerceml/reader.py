"""The streaming record reader: one tag-filtered ``iterparse`` pass per file, elements freed as we go.

The parser only reports the elements that matter (sections and entity elements: Группа, Свойство,
ТипЦены, Склад, ЕдиницаИзмерения, Товар, Предложение, Контрагент, ...). Each entity element is turned into
records in one pass over its children when it ends, then cleared together with its already-processed
siblings, so memory stays flat whatever the file size. Namespaces are ignored (local names only).

The Предложение path is the hot one (millions of prices and stock rows): the records of one Предложение
are yielded as one batch (the clock of ``ReadStats.seconds`` and the counters run per batch), prices and
stock rows are built inline with a plain-``Decimal`` fast path and memoised small quantities, and the
cleared Предложение shells are removed from their parent in slices. What remains is mostly lxml itself:
building the tree, one proxy object and one ``tag`` string per child element touched.

Known limitation: libxml2 keeps an element's line in 16 bits; past line 65535 ``sourceline`` is taken from
the element's first child, so ``Source.line`` of an element whose first child starts on a later line is
one or two too high there.

Where entities come from (FORMAT.md):

* groups: ``Классификатор/Группы/Группа`` (recursive; ``parent_id`` from nesting; parents are yielded
  before their children);
* properties: ``Классификатор/Свойства/Свойство`` (2.03: ``СвойствоНоменклатуры``); ``for_offers`` when
  ``ДляПредложений=true`` or the classifier sits in an offers / offer-classifier file;
* units: ``Классификатор/ЕдиницыИзмерения``; price types and warehouses: ``Классификатор/ТипыЦен|Склады``
  (2.09/3.1 packages) or ``ПакетПредложений/ТипыЦен|Склады`` (classic);
* goods: ``Каталог/Товары/Товар``; offers, prices and stock: ``ПакетПредложений`` or
  ``ИзмененияПакетаПредложений`` ``/Предложения/Предложение`` (see :func:`header.offer_has_definition`
  for when a Предложение is an Offer; ``ИдХарактеристики`` is folded into the id as ``product#char``);
* per-warehouse stock in four encodings: ``Склад@ИдСклада+КоличествоНаСкладе`` (2.07/2.08),
  ``Остатки/Остаток/Склад{Ид,Количество}`` (2.09/3.1 rests files), ``КоличествоНаСкладах/КоличествоНаСкладе
  {ИдСклада,Количество}`` (Bitrix), ``Склады@ИдСклада+КоличествоНаСкладе`` (ИзмененияПакетаПредложений);
  total stock from ``Количество`` or a warehouse-less ``Остатки/Остаток/Количество``;
* customers: root-level ``Контрагенты/Контрагент`` (``Документ/Контрагенты`` are order parties, skipped).

Deletion marks in all three forms set ``deleted``: ``@Статус="Удален"``, ``<ПометкаУдаления>true``,
Bitrix's ``<Статус>Удален</Статус>``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from lxml import etree

from .errors import CommerceMLError
from .header import (
    CHANGES_IDENTIFICATION_CHILDREN,
    OFFER_DEFINITION_CHILDREN,
    OFFER_SECTIONS,
    ROOT,
    header_from,
)
from .records import (
    Customer,
    Entity,
    FileHeader,
    FileKind,
    Group,
    Offer,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Record,
    Reject,
    Source,
    Stock,
    StockTotal,
    Unit,
    Warehouse,
)
from .records import Price as PriceRecord
from .upload import Upload
from .values import BadNumber, normalise_currency, parse_bool, parse_decimal, split_offer_id
from .xmlsafe import (
    PROLOG_BYTES,
    LocalNames,
    check_docinfo,
    check_prolog,
    iterparse,
    raw_fragment,
    syntax_error,
)

ALL_ENTITIES = frozenset(Entity)
SECTIONS = frozenset(
    {
        "Классификатор",
        "Каталог",
        "ПакетПредложений",
        "ИзмененияПакетаПредложений",
        "Контрагенты",
        "Документ",
        "Контейнер",
    }
)
# Entity elements reported by the parser. Warehouses, price types and units are small lists handled
# when their list element (Склады / ТипыЦен / ЕдиницыИзмерения) ends, so that the thousands of
# Склад elements inside offers cost no parser event.
ENTITY_TAGS = (
    "Группа",
    "Свойство",
    "СвойствоНоменклатуры",
    "ТипыЦен",
    "Склады",
    "ЕдиницыИзмерения",
    "Товар",
    "Предложение",
    "Контрагент",
)
_TAGS = tuple("{*}" + name for name in (ROOT, *SECTIONS, *ENTITY_TAGS))
_CLASSIFIER_ENTITIES = frozenset(
    {Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS, Entity.PRICE_TYPES, Entity.WAREHOUSES}
)
_LOOKUP_ENTITIES = frozenset({Entity.PROPERTIES, Entity.UNITS})
_LIST_SECTIONS = frozenset({"Классификатор", "ПакетПредложений", "ИзмененияПакетаПредложений"})
_OFFER_ENTITIES = frozenset({Entity.OFFERS, Entity.PRICES, Entity.RESTS, Entity.STOCK_TOTALS})
_CHANGES_DEFINITION = OFFER_DEFINITION_CHILDREN - CHANGES_IDENTIFICATION_CHILDREN
_PRICE_SLOTS = {
    "ЦенаЗаЕдиницу": 0,
    "ИдТипаЦены": 1,
    "Валюта": 2,
    "Единица": 3,
    "Коэффициент": 4,
    "Представление": 5,
}
_EMAIL_TYPES = frozenset({"электронная почта", "email", "e-mail", "эл. почта", "электроннаяпочта"})
_ADDRESS_ELEMENTS = frozenset({"Адрес", "АдресРегистрации", "ЮридическийАдрес", "ФактическийАдрес"})
_DELETED = "Удален"
# Cleared Предложение shells are removed from their parent every this many elements (one slice deletion
# instead of a getprevious()/del pair per element); memory stays bounded by this many empty elements.
_PURGE_EVERY = 512
_DECIMAL_CACHE_SIZE = 4096


@dataclass
class ReadStats:
    """What a read produced: records per entity, empty prices skipped, rejects, files, bytes, seconds."""

    counts: Counter = field(default_factory=Counter)  # Entity -> records yielded (rejects excluded)
    empty_prices: int = 0  # Цена with an empty ЦенаЗаЕдиницу (no record yielded)
    rejects: int = 0
    rejects_by_entity: Counter = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0  # time spent reading (parsing + building records), excluding the consumer's time

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {
            "counts": {str(k): v for k, v in sorted(self.counts.items())},
            "empty_prices": self.empty_prices,
            "rejects": self.rejects,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class _PropInfo:
    name: str | None
    value_type: str | None
    values: dict[str, str]


@dataclass
class Lookups:
    """Property dictionaries and units gathered from the classifier files of one upload."""

    properties: dict[str, _PropInfo] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    def add_property(self, prop: Property) -> None:
        known = self.properties.get(prop.id)
        if known is not None and not prop.values:
            # a later mention without values (e.g. the offer classifier) keeps the dictionary we have
            known.name = prop.name or known.name
            known.value_type = prop.value_type or known.value_type
            return
        self.properties[prop.id] = _PropInfo(prop.name, prop.value_type, dict(prop.values))


_new_object = object.__new__
_set_source_file = Source.file.__set__
_set_source_line = Source.line.__set__


def _source(file: str, line: int | None) -> Source:
    """``Source(file, line)`` without the frozen dataclass ``__init__`` (one object.__setattr__ per field
    costs more than the rest of a price record); the slots are set once, so it stays immutable."""
    src = _new_object(Source)
    _set_source_file(src, file)
    _set_source_line(src, line)
    return src


class _Currencies(dict):
    """Raw Валюта text -> normalised code, memoised per file (bounded: only the first spellings stay)."""

    def __missing__(self, text: str) -> str | None:
        value = normalise_currency(text)
        if len(self) < 256:
            self[text] = value
        return value


def _t(el) -> str | None:
    text = el.text
    if text is None:
        return None
    text = text.strip()
    return text or None


class _FileReader:
    """Records of one file."""

    def __init__(
        self,
        header: FileHeader,
        wanted: frozenset[Entity],
        lookups: Lookups,
        stats: ReadStats,
        *,
        lookups_only: bool = False,
    ) -> None:
        self.header = header
        self.rel = header.path
        self.wanted = wanted
        self.lookups = lookups
        self.stats = stats
        self.lookups_only = lookups_only
        self.names = LocalNames()
        self.currencies = _Currencies()
        self.decimals: dict[str, Decimal] = {}  # memoised small decimals (see _small_decimal)
        # membership tests on enum members hash them in Python: done once, not per element
        self.want_offer = Entity.OFFERS in wanted
        self.want_prices = Entity.PRICES in wanted
        self.want_rests = Entity.RESTS in wanted
        self.want_totals = Entity.STOCK_TOTALS in wanted
        self.section: str | None = None
        self.section_el = None
        self.root = None
        self.for_offers_file = header.kind in (FileKind.OFFERS, FileKind.OFFER_CLASSIFIER)
        self.open_entity = None  # the entity element being parsed (for error messages)
        self.seen_classifier_end = False
        # Stop at the end of the Классификатор when nothing wanted can come after it: the groups asset
        # then reads only the classifier part of a classic (possibly huge) import.xml.
        classifier_only = {Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS}
        if OFFER_SECTIONS.isdisjoint(header.sections):
            classifier_only |= {Entity.PRICE_TYPES, Entity.WAREHOUSES}
        relevant = wanted & header.entities if header.entities else wanted
        self.stop_after_classifier = lookups_only or (bool(relevant) and relevant <= classifier_only)

    # ------------------------------------------------------------------ driver

    def run(self, source: IO[bytes]) -> Iterator[Sequence[Record]]:
        names = self.names
        wanted = self.wanted
        group_stack: list[list] = []  # [element, id-or-None, emitted]
        context = iterparse(source, events=("start", "end"), tag=_TAGS)
        root = None
        want_offers = not wanted.isdisjoint(_OFFER_ENTITIES)
        pending = 0  # Предложение shells not yet removed from their parent
        try:
            for event, el in context:
                name = names[el.tag]
                if name == "Предложение" and root is not None:
                    if event == "start":
                        self.open_entity = el
                        continue
                    # the hot path: one Предложение -> Offer/Price/Stock/StockTotal records
                    self.open_entity = None
                    if want_offers and self.section in OFFER_SECTIONS:
                        out = self._offer(el, self.section != "ПакетПредложений")
                        if out:
                            yield out
                    # free the element now; its cleared shell and earlier siblings go in batches
                    el.clear(keep_tail=False)
                    pending += 1
                    if pending >= _PURGE_EVERY:
                        pending = 0
                        _purge_before(el)
                    continue
                if event == "start":
                    if root is None:
                        root = self.root = el
                        check_docinfo(el, self.rel)
                        if name != ROOT:
                            raise CommerceMLError(
                                f"not CommerceML: the root element is {name!r}",
                                file=self.rel,
                                line=el.sourceline,
                            )
                        continue
                    if name in SECTIONS:
                        if el.getparent() is root:
                            self.section = name
                            self.section_el = el
                        continue
                    self.open_entity = el
                    if name == "Группа" and self.section == "Классификатор":
                        # pre-order: the parent group is complete up to its nested Группы -> emit it now
                        if group_stack and not group_stack[-1][2]:
                            frame = group_stack[-1]
                            parent_id = group_stack[-2][1] if len(group_stack) > 1 else None
                            frame[2] = True
                            rec = self._group(frame[0], parent_id)
                            frame[1] = getattr(rec, "id", None)
                            if Entity.GROUPS in wanted:
                                yield (self._counted(rec),)
                        group_stack.append([el, None, False])
                    continue

                # ---- end events
                if name in SECTIONS:
                    if el is self.section_el:
                        if name == "Классификатор":
                            self.seen_classifier_end = True
                        self.section = None
                        self.section_el = None
                        el.clear(keep_tail=False)
                        if self.stop_after_classifier and self.seen_classifier_end:
                            return
                    continue
                section = self.section
                if section is None:
                    continue
                self.open_entity = None
                if name == "Товар":
                    if section == "Каталог" and names[el.getparent().tag] == "Товары":
                        if Entity.GOODS in wanted:
                            yield (self._counted(self._product(el)),)
                        _free(el)
                elif name == "Группа":
                    if section == "Классификатор" and group_stack:
                        frame = group_stack.pop()
                        if not frame[2]:
                            parent_id = group_stack[-1][1] if group_stack else None
                            if Entity.GROUPS in wanted:
                                yield (self._counted(self._group(el, parent_id)),)
                        _free(el)
                elif name == "Свойство" or name == "СвойствоНоменклатуры":
                    if section == "Классификатор":
                        rec = self._property(el, name == "СвойствоНоменклатуры")
                        if type(rec) is Property:
                            self.lookups.add_property(rec)
                        if Entity.PROPERTIES in wanted:
                            yield (self._counted(rec),)
                        _free(el)
                elif name == "Контрагент":
                    # only the section's own items: a representative's nested Контрагент is part of its owner
                    if section == "Контрагенты" and el.getparent() is self.section_el:
                        if Entity.CUSTOMERS in wanted:
                            yield (self._counted(self._customer(el)),)
                        _free(el)
                elif section not in _LIST_SECTIONS or el.getparent() is not self.section_el:
                    continue  # e.g. Склады of an offer in ИзмененияПакетаПредложений, or of a Документ
                elif name == "Склады":
                    if Entity.WAREHOUSES in wanted:
                        for item in el:
                            if names[item.tag] == "Склад":
                                yield (self._counted(self._warehouse(item)),)
                    _free(el)
                elif name == "ТипыЦен":
                    if Entity.PRICE_TYPES in wanted:
                        for item in el:
                            if names[item.tag] == "ТипЦены":
                                yield (self._counted(self._price_type(item)),)
                    _free(el)
                elif name == "ЕдиницыИзмерения":
                    if section == "Классификатор":
                        for item in el:
                            if names[item.tag] != "ЕдиницаИзмерения":
                                continue
                            rec = self._unit(item)
                            if type(rec) is Unit:
                                self.lookups.units[rec.id] = rec
                            if Entity.UNITS in wanted:
                                yield (self._counted(rec),)
                    _free(el)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, self.rel, self._where()) from None
        finally:
            del context

    def _where(self) -> str | None:
        parts = [ROOT]
        if self.section:
            parts.append(self.section)
        el = self.open_entity
        if el is not None:
            try:
                parts.append(self.names[el.tag])
            except Exception:  # noqa: BLE001
                pass
        return "/".join(parts)

    def _count_reject(self, rec: Reject) -> None:
        self.stats.rejects += 1
        self.stats.rejects_by_entity[rec.entity] += 1

    def _counted(self, rec):
        if type(rec) is Reject:
            self._count_reject(rec)
        else:
            self.stats.counts[rec.entity] += 1
        return rec

    def _source(self, el) -> Source:
        return _source(self.rel, el.sourceline)

    def _reject(self, entity: Entity, entity_id: str | None, reason: str, el) -> Reject:
        return Reject(entity, entity_id, reason, raw_fragment(el), self._source(el))

    def _counted_reject(self, entity: Entity, entity_id: str | None, reason: str, el) -> Reject:
        rec = self._reject(entity, entity_id, reason, el)
        self._count_reject(rec)
        return rec

    # ------------------------------------------------------------------ classifier entities

    def _deleted(self, el) -> bool:
        status = el.get("Статус")
        return status is not None and status.strip() == _DELETED

    def _group(self, el, parent_id: str | None):
        names = self.names
        gid = name = None
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                gid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
            elif t == "Группы":
                break  # nested groups come after the group's own fields
        if not gid:
            return self._reject(Entity.GROUPS, None, "Группа without Ид", el)
        return Group(gid, name, parent_id, deleted, self._source(el))

    def _property(self, el, legacy: bool):
        names = self.names
        pid = name = value_type = None
        for_offers = self.for_offers_file
        multiple = deleted = False
        values: dict[str, str] = {}
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                pid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "ТипЗначений":
                value_type = _t(ch)
            elif t == "ВариантыЗначений":
                for item in ch:
                    vid = val = None
                    for c in item:
                        tt = names[c.tag]
                        if tt == "ИдЗначения":
                            vid = _t(c)
                        elif tt == "Значение":
                            val = _t(c)
                    if vid:
                        values[vid] = val if val is not None else ""
                    elif val is not None and value_type is None:
                        pass  # a list of allowed literals: nothing to resolve
            elif t == "ДляПредложений":
                for_offers = for_offers or bool(parse_bool(ch.text))
            elif t == "Множественное":
                multiple = bool(parse_bool(ch.text))
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
        if not pid:
            return self._reject(
                Entity.PROPERTIES, None, f"{'СвойствоНоменклатуры' if legacy else 'Свойство'} without Ид", el
            )
        if value_type is None and values:
            value_type = "Справочник"
        return Property(pid, name, value_type, for_offers, multiple, values, deleted, self._source(el))

    def _price_type(self, el):
        names = self.names
        pid = name = currency = tax_name = None
        tax_included = None
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                pid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "Валюта":
                currency = normalise_currency(ch.text)
            elif t == "Налог":
                for c in ch:
                    tt = names[c.tag]
                    if tt == "Наименование":
                        tax_name = _t(c)
                    elif tt == "УчтеноВСумме":
                        tax_included = parse_bool(c.text)
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
        if not pid:
            return self._reject(Entity.PRICE_TYPES, None, "ТипЦены without Ид", el)
        return PriceType(pid, name, currency, tax_name, tax_included, deleted, self._source(el))

    def _warehouse(self, el):
        names = self.names
        wid = name = address = None
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                wid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "Адрес":
                address = _t(ch)
                for c in ch:
                    if names[c.tag] == "Представление":
                        address = _t(c) or address
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
        if not wid:
            return self._reject(Entity.WAREHOUSES, None, "Склад without Ид", el)
        return Warehouse(wid, name, address, deleted, self._source(el))

    def _unit(self, el):
        names = self.names
        uid = code = name = full = intl = None
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                uid = _t(ch)
            elif t == "Код":
                code = _t(ch)
            elif t == "НаименованиеКраткое":
                name = _t(ch)
            elif t == "НаименованиеПолное":
                full = _t(ch)
            elif t == "МеждународноеСокращение":
                intl = _t(ch)
        if not uid:
            return self._reject(Entity.UNITS, None, "ЕдиницаИзмерения without Ид", el)
        return Unit(uid, code, name, full, intl, self._source(el))

    # ------------------------------------------------------------------ goods and offers

    def _property_values(self, box) -> list[PropertyValue]:
        """ЗначенияСвойств -> PropertyValue list; Справочник ids resolved, empty values skipped."""
        names = self.names
        props = self.lookups.properties
        out: list[PropertyValue] = []
        for item in box:
            pid = None
            vals: list[str] = []
            for c in item:
                t = names[c.tag]
                if t == "Ид":
                    pid = _t(c)
                elif t == "Значение" or t == "ИдЗначения":
                    v = _t(c)
                    if v is not None:
                        vals.append(v)
            if not pid or not vals:
                continue
            info = props.get(pid)
            if info is None:
                out.extend(PropertyValue(pid, v) for v in vals)
                continue
            for v in vals:
                resolved = info.values.get(v)
                if resolved is not None:
                    out.append(PropertyValue(pid, resolved, v, info.name))
                elif info.value_type == "Справочник":
                    out.append(PropertyValue(pid, None, v, info.name))  # dictionary value not in this upload
                else:
                    out.append(PropertyValue(pid, v, None, info.name))
        return out

    def _characteristics(self, box) -> list[tuple[str, str]]:
        names = self.names
        out = []
        for item in box:
            cname = cval = None
            for c in item:
                t = names[c.tag]
                if t == "Наименование":
                    cname = _t(c)
                elif t == "Значение":
                    cval = _t(c)
            if cname is not None or cval is not None:
                out.append((cname or "", cval or ""))
        return out

    def _unit_of(self, ch) -> tuple[str | None, str | None]:
        """БазоваяЕдиница in its shapes -> (unit as given, OKEI code)."""
        unit = _t(ch)
        code = ch.get("Код")
        code = code.strip() or None if code is not None else None
        if unit is None:
            unit = (ch.get("НаименованиеКраткое") or "").strip() or None
        if unit is None and code is None:
            for c in ch:
                if self.names[c.tag] == "Пересчет":
                    for cc in c:
                        if self.names[cc.tag] == "Единица":
                            unit = _t(cc)
                            break
        if code is None and unit is not None:
            known = self.lookups.units.get(unit)
            if known is not None:  # 3.1: the text is the Ид of Классификатор/ЕдиницыИзмерения
                code = known.code
                unit = known.name or unit
        return unit, code

    def _product(self, el):
        names = self.names
        pid = name = article = code = description = unit = unit_code = category = None
        barcodes: list[str] = []
        groups: list[str] = []
        images: list[str] = []
        manufacturer = None
        props: list[PropertyValue] = []
        requisites: dict[str, str] = {}
        taxes: dict[str, str] = {}
        chars: list[tuple[str, str]] = []
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                pid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "Артикул":
                article = _t(ch)
            elif t == "Штрихкод" or t == "ШтрихКод":
                v = _t(ch)
                if v and v not in barcodes:
                    barcodes.append(v)
            elif t == "Код":
                code = _t(ch)
            elif t == "Группы":
                for g in ch:
                    v = _t(g)
                    if v:
                        groups.append(v)
            elif t == "Описание":
                description = _t(ch)
            elif t == "БазоваяЕдиница":
                unit, unit_code = self._unit_of(ch)
            elif t == "Картинка":
                v = _t(ch)
                if v:
                    images.append(v)
            elif t == "Изготовитель":
                manufacturer = {names[c.tag]: _t(c) for c in ch if _t(c) is not None} or None
            elif t == "ЗначенияСвойств":
                props = self._property_values(ch)
            elif t == "ЗначенияРеквизитов":
                for item in ch:
                    rname = rval = None
                    for c in item:
                        tt = names[c.tag]
                        if tt == "Наименование":
                            rname = _t(c)
                        elif tt == "Значение":
                            v = _t(c)
                            rval = v if rval is None else (f"{rval}; {v}" if v else rval)
                    if rname:
                        requisites[rname] = rval or ""
            elif t == "СтавкиНалогов":
                for item in ch:
                    tname = rate = None
                    for c in item:
                        tt = names[c.tag]
                        if tt == "Наименование":
                            tname = _t(c)
                        elif tt == "Ставка":
                            rate = _t(c)
                    if tname:
                        taxes[tname] = rate or ""
            elif t == "ХарактеристикиТовара":
                chars = self._characteristics(ch)
            elif t == "Категория":
                category = _t(ch)
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
            elif t in ("Вес", "Страна", "ПолноеНаименование", "ТорговаяМарка"):
                v = _t(ch)
                if v is not None:
                    requisites.setdefault(t, v)
        if not pid:
            return self._reject(Entity.GOODS, None, "Товар without Ид", el)
        return Product(
            pid,
            name,
            article,
            code,
            barcodes,
            groups,
            description,
            unit,
            unit_code,
            images,
            manufacturer,
            props,
            requisites,
            taxes,
            chars,
            category,
            deleted,
            self._source(el),
        )

    def _offer(self, el, changes: bool) -> list[Record]:
        """One Предложение -> Offer (when it defines one), Price*, Stock*, StockTotal* (in that order)."""
        names = self.names
        wanted = self.wanted
        want_offer = self.want_offer
        want_prices = self.want_prices
        want_rests = self.want_rests
        want_totals = self.want_totals
        defining = _CHANGES_DEFINITION if changes else OFFER_DEFINITION_CHILDREN
        oid = char_id = None
        has_definition = False
        has_prices = False
        prices_el = stock_els = total_els = rests_els = None
        deleted = False
        status = el.get("Статус")
        if status is not None and status.strip() == _DELETED:
            deleted = True
        name = article = barcode = unit = None
        chars: list[tuple[str, str]] = []
        props_el = None
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                text = ch.text
                oid = text.strip() if text else None
            elif t == "Цены":
                has_prices = True
                if want_prices:
                    prices_el = ch
            elif t == "Количество":
                if want_totals:
                    total_els = ch
            elif t == "Склад" or t == "Склады" or t == "КоличествоНаСкладах":
                if want_rests:
                    if stock_els is None:
                        stock_els = [ch]
                    else:
                        stock_els.append(ch)
            elif t == "Остатки":
                if want_rests or want_totals:
                    rests_els = ch
            elif t == "ИдХарактеристики":
                char_id = _t(ch)
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
            else:
                if t in defining:
                    has_definition = True
                if not want_offer:
                    continue
                if t == "Наименование":
                    name = _t(ch)
                elif t == "Артикул":
                    article = _t(ch)
                elif t == "Штрихкод" or t == "ШтрихКод":
                    barcode = barcode or _t(ch)
                elif t == "БазоваяЕдиница":
                    unit = self._unit_of(ch)[0]
                elif t == "ХарактеристикиТовара":
                    chars = self._characteristics(ch)
                elif t == "ЗначенияСвойств":
                    props_el = ch
        out: list[Record] = []
        if not oid:
            entity = Entity.OFFERS
            if not (has_definition or deleted):
                entity = Entity.PRICES if has_prices else Entity.RESTS
            if entity in wanted:
                out.append(self._counted_reject(entity, None, "Предложение without Ид", el))
            return out
        if char_id and "#" not in oid:
            oid = f"{oid}#{char_id}"
        if want_offer and (has_definition or deleted):
            product_id, characteristic_id = split_offer_id(oid)
            props = self._property_values(props_el) if props_el is not None else []
            if not chars and props:
                chars = [(p.property_name or p.property_id, p.value or p.value_id or "") for p in props]
            out.append(
                Offer(
                    oid,
                    product_id,
                    characteristic_id,
                    name,
                    article,
                    barcode,
                    unit,
                    chars,
                    props,
                    deleted,
                    _source(self.rel, el.sourceline),
                )
            )
            self.stats.counts[Entity.OFFERS] += 1
        if prices_el is not None:
            self._prices(oid, prices_el, out)
        if stock_els is not None:
            for st in stock_els:
                self._stock(oid, st, out)
        if rests_els is not None:
            self._rests(oid, rests_els, out)
        if total_els is not None:
            self._total(oid, total_els, total_els, out)
        return out

    def _prices(self, oid: str, box, out: list) -> None:
        """Цены/Цена* -> Price records (an empty ЦенаЗаЕдиницу is counted and skipped)."""
        names = self.names
        rel = self.rel
        currencies = self.currencies
        made = 0
        for el in box:
            raw_value = type_id = currency = unit = ratio = presentation = None
            for ch in el:
                t = names[ch.tag]
                if t == "ЦенаЗаЕдиницу":
                    raw_value = ch.text
                elif t == "ИдТипаЦены":
                    type_id = ch.text
                elif t == "Валюта":
                    currency = ch.text
                elif t == "Единица":
                    unit = ch.text
                elif t == "Коэффициент":
                    ratio = ch.text
                elif t == "Представление":
                    presentation = ch.text
            value = None
            if raw_value is not None and "_" not in raw_value:
                try:  # fast path: a plain xsd:decimal, as parse_decimal's own first step
                    value = Decimal(raw_value)
                except InvalidOperation:
                    pass
                else:
                    if not value.is_finite():
                        value = None
            if value is None:
                try:
                    value = parse_decimal(raw_value)
                except BadNumber as exc:
                    out.append(self._counted_reject(Entity.PRICES, oid, f"ЦенаЗаЕдиницу: {exc}", el))
                    continue
                if value is None:
                    self.stats.empty_prices += 1
                    continue
            if type_id is not None:
                type_id = type_id.strip()
            if not type_id:
                out.append(self._counted_reject(Entity.PRICES, oid, "Цена without ИдТипаЦены", el))
                continue
            if ratio is not None:
                ratio = self._small_decimal(ratio)
            out.append(
                PriceRecord(
                    oid,
                    type_id,
                    value,
                    currencies[currency] if currency is not None else None,
                    unit.strip() or None if unit is not None else None,
                    ratio,
                    presentation.strip() or None if presentation is not None else None,
                    _source(rel, el.sourceline),
                )
            )
            made += 1
        if made:
            self.stats.counts[Entity.PRICES] += made

    def _small_decimal(self, text: str) -> Decimal | None:
        """Lenient decimal of a value that repeats a lot (Коэффициент, stock quantities); None when it is
        empty or not a number. Memoised: Decimal is immutable, so equal texts may share one value."""
        cache = self.decimals
        value = cache.get(text)
        if value is None:
            try:
                value = parse_decimal(text)
            except BadNumber:
                return None
            if value is not None and len(cache) < _DECIMAL_CACHE_SIZE:
                cache[text] = value
        return value

    def _quantity(self, raw: str | None) -> Decimal | None:
        """A stock quantity: memoised for the common small values; BadNumber for a bad one."""
        if raw is None:
            return None
        value = self.decimals.get(raw)
        if value is None:
            value = parse_decimal(raw)
            if value is not None and len(self.decimals) < _DECIMAL_CACHE_SIZE:
                self.decimals[raw] = value
        return value

    def _stock_record(self, oid: str, warehouse_id: str | None, raw: str | None, el, out: list) -> None:
        if not warehouse_id:
            out.append(self._counted_reject(Entity.RESTS, oid, "stock without a warehouse Ид", el))
            return
        try:
            qty = self._quantity(raw)
        except BadNumber as exc:
            out.append(self._counted_reject(Entity.RESTS, oid, f"quantity: {exc}", el))
            return
        if qty is None:
            out.append(self._counted_reject(Entity.RESTS, oid, "stock without a quantity", el))
            return
        out.append(Stock(oid, warehouse_id, qty, _source(self.rel, el.sourceline)))
        self.stats.counts[Entity.RESTS] += 1

    def _stock(self, oid: str, el, out: list) -> None:
        names = self.names
        if names[el.tag] == "КоличествоНаСкладах":  # Bitrix: КоличествоНаСкладе{ИдСклада, Количество}
            for item in el:
                wid = qty = None
                for c in item:
                    tt = names[c.tag]
                    if tt == "ИдСклада":
                        wid = _t(c)
                    elif tt == "Количество":
                        qty = c.text
                self._stock_record(oid, wid, qty, item, out)
            return
        # Склад / Склады @ИдСклада @КоличествоНаСкладе (2.07/2.08 offers, ИзмененияПакетаПредложений)
        wid = el.get("ИдСклада")
        self._stock_record(oid, wid.strip() if wid else None, el.get("КоличествоНаСкладе"), el, out)

    def _rests(self, oid: str, box, out: list) -> None:
        """Остатки/Остаток*: Склад{Ид, Количество} -> Stock; a warehouse-less Количество -> StockTotal."""
        names = self.names
        want_rests = self.want_rests
        want_totals = self.want_totals
        decimals = self.decimals
        rel = self.rel
        made = 0
        for rest in box:
            store = None
            qty_el = None
            for c in rest:
                tt = names[c.tag]
                if tt == "Склад":
                    store = c
                elif tt == "Количество":
                    qty_el = c
            if store is not None:
                if not want_rests:
                    continue
                wid = qty = None
                for c in store:
                    tt = names[c.tag]
                    if tt == "Ид":
                        wid = c.text
                        if wid is not None:
                            wid = wid.strip() or None
                    elif tt == "Количество":
                        qty = c.text
                if qty is None and qty_el is not None:
                    qty = qty_el.text
                value = decimals.get(qty) if wid else None
                if value is None:  # not memoised yet, or a problem: the general path
                    self._stock_record(oid, wid, qty, rest, out)
                    continue
                out.append(Stock(oid, wid, value, _source(rel, rest.sourceline)))
                made += 1
            elif qty_el is not None and want_totals:
                self._total(oid, qty_el, rest, out)
        if made:
            self.stats.counts[Entity.RESTS] += made

    def _total(self, oid: str, qty_el, el, out: list) -> None:
        try:
            qty = self._quantity(qty_el.text)
        except BadNumber as exc:
            out.append(self._counted_reject(Entity.STOCK_TOTALS, oid, f"Количество: {exc}", el))
            return
        if qty is None:
            return  # an empty <Количество/> says nothing
        out.append(StockTotal(oid, qty, _source(self.rel, el.sourceline)))
        self.stats.counts[Entity.STOCK_TOTALS] += 1

    # ------------------------------------------------------------------ customers

    def _customer(self, el):
        """Контрагент -> Customer.

        ``kind``: "legal" when ОфициальноеНаименование, a non-empty КПП or a 10-digit ИНН is present;
        otherwise "individual" when ПолноеНаименование, Фамилия/Имя/Отчество or a 12-digit ИНН is present;
        otherwise None. E-mails come only from Контакт Тип "Электронная почта" (never "Почта", which is a
        postal address in 1C); phones from contacts whose Тип starts with "Телефон".
        """
        names = self.names
        cid = name = official = full = inn = kpp = okpo = role = None
        person = False
        emails: list[str] = []
        phones: list[str] = []
        addresses: list[dict] = []
        contacts: list[dict] = []
        reps: list[dict] = []
        deleted = self._deleted(el)
        for ch in el:
            t = names[ch.tag]
            if t == "Ид":
                cid = _t(ch)
            elif t == "Наименование":
                name = _t(ch)
            elif t == "ОфициальноеНаименование":
                official = _t(ch)
            elif t == "ПолноеНаименование":
                full = _t(ch)
            elif t in ("Фамилия", "Имя", "Отчество"):
                person = person or _t(ch) is not None
            elif t == "ИНН":
                inn = _t(ch)
            elif t == "КПП":
                kpp = _t(ch)
            elif t == "ОКПО" or t == "КодПоОКПО":
                okpo = _t(ch)
            elif t == "Роль":
                role = _t(ch)
            elif t in _ADDRESS_ELEMENTS:
                addresses.append(self._address(ch, t))
            elif t == "Контакты":
                for item in ch:
                    ctype = cval = comment = None
                    for c in item:
                        tt = names[c.tag]
                        if tt == "Тип":
                            ctype = _t(c)
                        elif tt == "Значение":
                            cval = _t(c)
                        elif tt == "Комментарий":
                            comment = _t(c)
                    contacts.append({"type": ctype, "value": cval, "comment": comment})
                    if cval is None:
                        continue
                    low = (ctype or "").lower()
                    if low in _EMAIL_TYPES:
                        emails.append(cval)
                    elif low.startswith("телефон"):
                        phones.append(cval)
            elif t == "Представители":
                for item in ch:
                    rep = {"relation": None, "id": None, "name": None}
                    fields = [item]
                    fields.extend(c for c in item if names[c.tag] == "Контрагент")
                    for holder in fields:
                        for c in holder:
                            tt = names[c.tag]
                            if tt == "Отношение":
                                rep["relation"] = _t(c)
                            elif tt == "Ид":
                                rep["id"] = _t(c)
                            elif tt == "Наименование":
                                rep["name"] = _t(c)
                    if rep["id"] or rep["name"]:
                        reps.append(rep)
            elif t == "ПометкаУдаления":
                deleted = deleted or bool(parse_bool(ch.text))
            elif t == "Статус":
                deleted = deleted or _t(ch) == _DELETED
        if not cid:
            return self._reject(Entity.CUSTOMERS, None, "Контрагент without Ид", el)
        inn_digits = inn if inn and inn.isdigit() else ""
        if official or kpp or len(inn_digits) == 10:
            kind = "legal"
        elif full or person or len(inn_digits) == 12:
            kind = "individual"
        else:
            kind = None
        return Customer(
            cid,
            name,
            official or full,
            kind,
            inn,
            kpp,
            okpo,
            emails,
            phones,
            addresses,
            contacts,
            role,
            reps,
            deleted,
            self._source(el),
        )

    def _address(self, el, kind: str) -> dict:
        names = self.names
        presentation = None
        fields: dict[str, str] = {}
        for c in el:
            tt = names[c.tag]
            if tt == "Представление":
                presentation = _t(c)
            elif tt == "АдресноеПоле":
                ftype = fval = None
                for cc in c:
                    t3 = names[cc.tag]
                    if t3 == "Тип":
                        ftype = _t(cc)
                    elif t3 == "Значение":
                        fval = _t(cc)
                if ftype:
                    fields[ftype] = fval or ""
        if presentation is None and not len(el):
            presentation = _t(el)
        return {"type": kind, "presentation": presentation, "fields": fields}


def _free(el) -> None:
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _purge_before(el) -> None:
    """Remove the (already cleared) siblings before ``el`` from its parent in one slice deletion."""
    parent = el.getparent()
    if parent is not None:
        i = parent.index(el)
        if i:
            del parent[:i]


# ---------------------------------------------------------------------- public API


def _open_checked(opener, rel: str) -> IO[bytes]:
    try:
        fh = opener()
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
    return fh


def _read_one(opener, header: FileHeader, reader: _FileReader) -> Iterator[Sequence[Record]]:
    with _open_checked(opener, header.path) as fh:
        head = fh.read(PROLOG_BYTES)
    check_prolog(head, header.path)
    with _open_checked(opener, header.path) as fh:
        try:
            yield from reader.run(fh)
        except OSError as exc:
            raise CommerceMLError(f"cannot read file: {exc}", file=header.path) from None


def iter_file_records(
    source: Upload | str | os.PathLike[str],
    header: FileHeader | None = None,
    entities: Iterable[Entity] | None = None,
    *,
    stats: ReadStats | None = None,
    lookups: Lookups | None = None,
) -> Iterator[Record]:
    """Records of one file: ``source`` is an :class:`Upload` (then ``header`` names the file) or a path.

    ``entities`` defaults to all. Справочник values resolve against ``lookups`` (and against the
    properties of the file itself, read before its goods/offers when the classifier comes first).
    """
    wanted = ALL_ENTITIES if entities is None else frozenset(entities)
    stats = stats if stats is not None else ReadStats()
    lookups = lookups if lookups is not None else Lookups()
    if isinstance(source, Upload):
        if header is None:
            raise ValueError("iter_file_records(upload, header, ...) needs the header of the file")
        upload = source

        def opener():
            return upload.open(header)
    else:
        path = Path(source)
        if header is None:
            header = header_from(lambda: open(path, "rb"), path.name, path.stat().st_size)

        def opener():
            return open(path, "rb")

    stats.files += 1
    stats.bytes += header.size
    # stats.seconds counts the reader's own time only, not the consumer's time between records
    clock = time.perf_counter
    started: float | None = clock()
    try:
        # the file reader yields small batches (the records of one element): the clock runs per batch
        for batch in _read_one(opener, header, _FileReader(header, wanted, lookups, stats)):
            stats.seconds += clock() - started
            started = None
            yield from batch
            started = clock()
    finally:
        if started is not None:
            stats.seconds += clock() - started


def collect_lookups(upload: Upload, lookups: Lookups | None = None) -> Lookups:
    """Property dictionaries and units of every classifier section of the upload (stops after each
    file's Классификатор, so a classic 2 GB import.xml costs only its classifier)."""
    lookups = lookups if lookups is not None else Lookups()
    scratch = ReadStats()
    for header in upload.files:
        if header.entities.isdisjoint(_LOOKUP_ENTITIES):
            continue
        reader = _FileReader(header, frozenset(), lookups, scratch, lookups_only=True)
        for _ in _read_one(lambda header=header: upload.open(header), header, reader):
            pass
    return lookups


def read_upload(
    upload: Upload,
    entities: Iterable[Entity],
    stats: ReadStats | None = None,
) -> Iterator[Record]:
    """Stream records of the wanted entities from the files that can hold them, in import order.

    Справочник property values are resolved through the classifier files of the same upload (a cheap
    pre-pass when goods or offers are wanted). Reject records are yielded for entity-level problems;
    :class:`CommerceMLError` is raised for document-level problems.
    """
    wanted = frozenset(entities)
    stats = stats if stats is not None else ReadStats()
    lookups = Lookups()
    if Entity.GOODS in wanted or Entity.OFFERS in wanted:
        started = time.perf_counter()
        collect_lookups(upload, lookups)
        stats.seconds += time.perf_counter() - started
    for header in upload.files:
        if header.entities.isdisjoint(wanted):
            continue
        yield from iter_file_records(upload, header, wanted, stats=stats, lookups=lookups)
