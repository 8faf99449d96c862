"""Классификатор: groups (nested), properties, and the small lists — price types, warehouses, units."""

from __future__ import annotations

from typing import Any, ClassVar

from ..elements import MARK_ELEMENT, STATUS_ELEMENT, deleted_mark, element_text
from ..records import Entity, Group, PriceType, Property, Record, Unit, Warehouse
from ..values import normalise_currency, parse_bool
from ..xmlsafe import free_element
from .context import ParseContext
from .handler import Batch, Handler


class _OpenGroup:
    """A Группа whose end has not been reached yet (its nested groups are being read)."""

    __slots__ = ("element", "id", "emitted")

    def __init__(self, element: Any) -> None:
        self.element = element
        self.id: str | None = None  # known once emitted (None for a Группа without Ид)
        self.emitted = False


class GroupHandler(Handler):
    """Классификатор/Группы/Группа, nested to any depth: ``parent_id`` from the nesting, and every parent is
    yielded before its children (when its first nested Группа starts, its own fields are complete)."""

    entities = frozenset({Entity.GROUPS})
    starts = True

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = Entity.GROUPS in context.wanted
        self.open: list[_OpenGroup] = []  # outermost first

    def start(self, element: Any) -> Batch | None:
        open_groups = self.open
        batch = None
        if open_groups and not open_groups[-1].emitted:
            parent = open_groups[-1]
            parent.emitted = True
            record = self._group(parent.element, open_groups[-2].id if len(open_groups) > 1 else None)
            parent.id = record.id if type(record) is Group else None
            if self.want:
                batch = (self.context.counted(record),)
        open_groups.append(_OpenGroup(element))
        return batch

    def end(self, element: Any) -> Batch | None:
        if not self.open:
            return None
        group = self.open.pop()
        batch = None
        if not group.emitted and self.want:
            parent_id = self.open[-1].id if self.open else None
            batch = (self.context.counted(self._group(element, parent_id)),)
        free_element(element)
        return batch

    def _group(self, element: Any, parent_id: str | None) -> Record:
        names = self.names
        group_id = name = mark = status = None
        for child in element:
            tag = names[child.tag]
            if tag == "Ид":
                group_id = element_text(child)
            elif tag == "Наименование":
                name = element_text(child)
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
            elif tag == "Группы":
                break  # nested groups come after the group's own fields
        if not group_id:
            return self.context.reject(Entity.GROUPS, None, "Группа without Ид", element)
        return Group(
            group_id, name, parent_id, deleted_mark(element, mark, status), self.context.source(element)
        )


class PropertyHandler(Handler):
    """Классификатор/Свойства/Свойство (2.03: СвойствоНоменклатуры) -> Property; its dictionary also goes
    into the lookups (read even when properties are not wanted: goods and offers resolve values with it).
    ``for_offers`` when ``ДляПредложений=true`` or the classifier sits in an offers / offer-classifier file."""

    entities = frozenset({Entity.PROPERTIES})

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = Entity.PROPERTIES in context.wanted

    def end(self, element: Any) -> Batch | None:
        record = self._property(element)
        if type(record) is Property:
            self.context.lookups.add_property(record)
        free_element(element)
        return (self.context.counted(record),) if self.want else None

    def _property(self, element: Any) -> Record:
        names = self.names
        property_id = name = value_type = mark = status = None
        for_offers = self.context.offers_file
        multiple = False
        values: dict[str, str] = {}
        for child in element:
            tag = names[child.tag]
            if tag == "Ид":
                property_id = element_text(child)
            elif tag == "Наименование":
                name = element_text(child)
            elif tag == "ТипЗначений":
                value_type = element_text(child)
            elif tag == "ВариантыЗначений":
                values = self._dictionary(child)
            elif tag == "ДляПредложений":
                for_offers = for_offers or bool(parse_bool(child.text))
            elif tag == "Множественное":
                multiple = bool(parse_bool(child.text))
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
        if not property_id:
            reason = f"{names[element.tag]} without Ид"
            return self.context.reject(Entity.PROPERTIES, None, reason, element)
        if value_type is None and values:
            value_type = "Справочник"
        deleted = deleted_mark(element, mark, status)
        source = self.context.source(element)
        return Property(property_id, name, value_type, for_offers, multiple, values, deleted, source)

    def _dictionary(self, box: Any) -> dict[str, str]:
        """ВариантыЗначений/Справочник{ИдЗначения, Значение} -> {ИдЗначения: Значение}; a list of allowed
        literals (Значение without ИдЗначения) has nothing to resolve."""
        names = self.names
        values: dict[str, str] = {}
        for item in box:
            value_id = value = None
            for part in item:
                tag = names[part.tag]
                if tag == "ИдЗначения":
                    value_id = element_text(part)
                elif tag == "Значение":
                    value = element_text(part)
            if value_id:
                values[value_id] = value if value is not None else ""
        return values


class _ListHandler(Handler):
    """A small list that is a direct child of its section, read whole when it ends: ТипыЦен, Склады,
    ЕдиницыИзмерения (so the thousands of Склад elements inside offers cost no parser event)."""

    item: ClassVar[str]  # the local name of the list's items
    feeds_lookups: ClassVar[bool] = False  # read even when not wanted

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = not self.entities.isdisjoint(context.wanted)

    def end(self, element: Any) -> Batch | None:
        context = self.context
        if not context.in_section(element):
            return None  # e.g. the Склады of an offer in ИзмененияПакетаПредложений: part of the offer
        batch = []
        if self.want or self.feeds_lookups:
            names = self.names
            for item in element:
                if names[item.tag] == self.item:
                    record = self.build(item)
                    self.remember(record)
                    if self.want:
                        batch.append(context.counted(record))
        free_element(element)
        return batch

    def build(self, item: Any) -> Record:
        raise NotImplementedError

    def remember(self, record: Record) -> None:
        pass


class PriceTypesHandler(_ListHandler):
    """ТипыЦен/ТипЦены of the classifier (2.09/3.1 packages) or of the offer package (classic) -> PriceType."""

    entities = frozenset({Entity.PRICE_TYPES})
    item = "ТипЦены"

    def build(self, item: Any) -> Record:
        names = self.names
        price_type_id = name = currency = tax_name = tax_included = mark = status = None
        for child in item:
            tag = names[child.tag]
            if tag == "Ид":
                price_type_id = element_text(child)
            elif tag == "Наименование":
                name = element_text(child)
            elif tag == "Валюта":
                currency = normalise_currency(child.text)
            elif tag == "Налог":
                for part in child:
                    part_tag = names[part.tag]
                    if part_tag == "Наименование":
                        tax_name = element_text(part)
                    elif part_tag == "УчтеноВСумме":
                        tax_included = parse_bool(part.text)
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
        if not price_type_id:
            return self.context.reject(Entity.PRICE_TYPES, None, "ТипЦены without Ид", item)
        deleted = deleted_mark(item, mark, status)
        source = self.context.source(item)
        return PriceType(price_type_id, name, currency, tax_name, tax_included, deleted, source)


class WarehousesHandler(_ListHandler):
    """Склады/Склад of the classifier (2.09/3.1 packages) or of the offer package (classic) -> Warehouse."""

    entities = frozenset({Entity.WAREHOUSES})
    item = "Склад"

    def build(self, item: Any) -> Record:
        names = self.names
        warehouse_id = name = address = mark = status = None
        for child in item:
            tag = names[child.tag]
            if tag == "Ид":
                warehouse_id = element_text(child)
            elif tag == "Наименование":
                name = element_text(child)
            elif tag == "Адрес":
                address = element_text(child)
                for part in child:
                    if names[part.tag] == "Представление":
                        address = element_text(part) or address
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
        if not warehouse_id:
            return self.context.reject(Entity.WAREHOUSES, None, "Склад without Ид", item)
        deleted = deleted_mark(item, mark, status)
        return Warehouse(warehouse_id, name, address, deleted, self.context.source(item))


_UNIT_FIELDS = {
    "Ид": "id",
    "Код": "code",
    "НаименованиеКраткое": "name",
    "НаименованиеПолное": "full_name",
    "МеждународноеСокращение": "international",
}


class UnitsHandler(_ListHandler):
    """Классификатор/ЕдиницыИзмерения/ЕдиницаИзмерения -> Unit; also kept in the lookups (3.1 goods name
    their БазоваяЕдиница by the unit's Ид)."""

    entities = frozenset({Entity.UNITS})
    item = "ЕдиницаИзмерения"
    feeds_lookups = True

    def build(self, item: Any) -> Record:
        names = self.names
        unit = Unit("", source=self.context.source(item))
        for child in item:
            field = _UNIT_FIELDS.get(names[child.tag])
            if field is not None:
                setattr(unit, field, element_text(child))
        if not unit.id:
            return self.context.reject(Entity.UNITS, None, "ЕдиницаИзмерения without Ид", item)
        return unit

    def remember(self, record: Record) -> None:
        if type(record) is Unit:
            self.context.lookups.units[record.id] = record
