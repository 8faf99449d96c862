"""Предложение -> Offer, Price, Stock and StockTotal records: the hot path (millions of prices and stock rows).

The records of one Предложение are built from one pass over its children (Ид, prices and stock; the other
children, which prices and rests files do not have, are looked at once more by ``_describe``)
and returned as one batch. Prices and stock rows are built inline, with a plain-``Decimal`` fast path,
memoised quantities, ratios and currencies (``ParseContext``) and ``make_source``'s steps
instead of the frozen dataclass ``__init__``; the cleared Предложение shells are removed from their parent
in slices (``PURGE_EVERY``).
What remains is mostly lxml itself: building the tree, one proxy object and one ``tag`` string per child
element touched.

Stock comes in four encodings (FORMAT.md §4): ``Склад@ИдСклада+КоличествоНаСкладе`` (2.07/2.08),
``Остатки/Остаток/Склад{Ид,Количество}`` (2.09/3.1 rests files), ``КоличествоНаСкладах/КоличествоНаСкладе
{ИдСклада,Количество}`` (Bitrix), ``Склады@ИдСклада+КоличествоНаСкладе`` (ИзмененияПакетаПредложений);
total stock from ``Количество`` or a warehouse-less ``Остатки/Остаток/Количество``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..elements import MARK_ELEMENT, STATUS_ELEMENT, deleted_mark, element_text
from ..header import CHANGES_IDENTIFICATION_CHILDREN, OFFER_DEFINITION_CHILDREN, WAREHOUSE_STOCK_CHILDREN
from ..records import Entity, Offer, Price, Record, Source, Stock, StockTotal
from ..values import MAX_ADJUSTED, BadNumber, composite_id_problem, parse_decimal, split_offer_id
from .context import ParseContext, make_source, new_object, set_source_file, set_source_line
from .handler import CHANGES, Batch, Handler
from .item_fields import base_unit, characteristics, property_values

# Cleared Предложение shells are removed from their parent every this many elements (one slice deletion
# instead of a getprevious()/del pair per element); memory stays bounded by this many empty elements.
PURGE_EVERY = 512
# In ИзмененияПакетаПредложений Штрихкод/Артикул identify the offer and do not define one.
_CHANGES_DEFINITION = OFFER_DEFINITION_CHILDREN - CHANGES_IDENTIFICATION_CHILDREN


class OfferHandler(Handler):
    """ПакетПредложений|ИзмененияПакетаПредложений/Предложения/Предложение -> Offer (when it defines one,
    see :func:`header.offer_has_definition`; ``ИдХарактеристики`` is folded into the id as ``product#char``),
    then its Price, Stock and StockTotal records, in that order."""

    entities = frozenset({Entity.OFFERS, Entity.PRICES, Entity.RESTS, Entity.STOCK_TOTALS})

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        wanted = context.wanted
        # membership tests on enum members hash them in Python: done once, not per element
        self.want_offer = Entity.OFFERS in wanted
        self.want_prices = Entity.PRICES in wanted
        self.want_stock = Entity.RESTS in wanted
        self.want_totals = Entity.STOCK_TOTALS in wanted
        self.want_rests = self.want_stock or self.want_totals  # Остатки carry both
        self.pending = 0  # cleared Предложение shells not yet removed from their parent
        # what the children besides Ид, prices and stock say; chosen once per file: with the Offer read in
        # the same pass, or without it (the prices and stock assets read classic offers.xml files too)
        self.describe = self._describe_and_read_offer if self.want_offer else self._describe

    def end(self, element: Any) -> Batch | None:
        out = self._records(element)
        # Free the element now, its cleared shell and earlier siblings in slices. Only after _records has
        # returned: while Python proxies of its children are alive, lxml clears an element much slower.
        element.clear(keep_tail=False)
        self.pending += 1
        if self.pending >= PURGE_EVERY:
            self._purge_before(element)
        return out

    def _records(self, element: Any) -> list[Record]:
        names = self.names
        offer_id = prices = rests = total = None
        stock: list = []  # Склад / Склады / КоличествоНаСкладах children
        others: list | None = None  # (name, child) of every other child, for self.describe
        for child in element:
            name = names[child.tag]
            if name == "Ид":
                text = child.text
                offer_id = text.strip() if text else None
            elif name == "Цены":
                prices = child
            elif name == "Остатки":
                rests = child
            elif name == "Количество":
                total = child
            elif name in WAREHOUSE_STOCK_CHILDREN:
                stock.append(child)
            elif others is None:
                others = [(name, child)]
            else:
                others.append((name, child))
        if others is None and not deleted_mark(element):  # UT 11 prices and rests files: no Offer
            is_offer, offer = False, None
        else:
            offer_id, is_offer, offer = self.describe(element, offer_id, others or ())
        out: list[Record] = []
        problem = composite_id_problem(offer_id) if offer_id else "Предложение without Ид"
        if problem or not offer_id:
            out = self._without_id(element, is_offer, prices is not None, offer_id, problem or "")
        else:
            if offer is not None:
                out.append(offer)
            if prices is not None and self.want_prices:
                self._prices(offer_id, prices, out)
            if stock and self.want_stock:
                self._stock(offer_id, stock, out)
            if rests is not None and self.want_rests:
                self._rests(offer_id, rests, out)
            if total is not None and self.want_totals:
                self._total(offer_id, total, total, out)
        return out

    def _purge_before(self, element: Any) -> None:
        """Remove the (already cleared) siblings before ``element`` from its parent in one slice."""
        self.pending = 0
        parent = element.getparent()
        if parent is not None:
            del parent[: parent.index(element)]

    def _describe(
        self, element: Any, offer_id: str | None, others: Iterable
    ) -> tuple[str | None, bool, None]:
        """(the offer id with its ИдХарактеристики folded in, whether the Предложение is an Offer, None):
        what its other children say when the Offer itself is not wanted."""
        defining = _CHANGES_DEFINITION if self.context.section == CHANGES else OFFER_DEFINITION_CHILDREN
        defined = False
        characteristic_id = mark = status = None
        for name, child in others:
            if name in defining:
                defined = True
            elif name == "ИдХарактеристики":
                characteristic_id = element_text(child)
            elif name == MARK_ELEMENT:
                mark = child
            elif name == STATUS_ELEMENT:
                status = child
        offer_id = _with_characteristic(offer_id, characteristic_id)
        return offer_id, defined or deleted_mark(element, mark, status), None

    def _describe_and_read_offer(
        self, element: Any, offer_id: str | None, others: Iterable
    ) -> tuple[str | None, bool, Offer | None]:
        """As :meth:`_describe`, with the Offer itself (None when the Предложение is not one) read in the
        same pass over the children."""
        names = self.names
        lookups = self.context.lookups
        defining = _CHANGES_DEFINITION if self.context.section == CHANGES else OFFER_DEFINITION_CHILDREN
        defined = False
        characteristic_id = mark = status = name = article = barcode = unit = properties_box = None
        pairs: list[tuple[str, str]] = []  # ХарактеристикиТовара
        images: list[str] = []  # Картинка (3.x: pictures of the characteristic), repeatable, may be empty
        for tag, child in others:
            defined = defined or tag in defining
            if tag == "Наименование":
                name = element_text(child)
            elif tag == "Артикул":
                article = element_text(child)
            elif tag == "Штрихкод" or tag == "ШтрихКод":
                barcode = barcode or element_text(child)
            elif tag == "БазоваяЕдиница":
                unit = base_unit(child, names, lookups.units)[0]
            elif tag == "ХарактеристикиТовара":
                pairs = characteristics(child, names)
            elif tag == "ЗначенияСвойств":
                properties_box = child
            elif tag == "ИдХарактеристики":
                characteristic_id = element_text(child)
            elif tag == "Картинка":
                image = element_text(child)
                if image:
                    images.append(image)
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
        offer_id = _with_characteristic(offer_id, characteristic_id)
        deleted = deleted_mark(element, mark, status)
        if not (defined or deleted) or not offer_id:
            return offer_id, defined or deleted, None
        values = (
            property_values(properties_box, names, lookups.properties) if properties_box is not None else []
        )
        if not pairs and values:  # 3.1/2.09: the variant axes are property values
            pairs = [(v.property_name or v.property_id, v.value or v.value_id or "") for v in values]
        product_id, split_characteristic_id = split_offer_id(offer_id)
        self.context.stats.counts[Entity.OFFERS] += 1
        source = make_source(self.context.file, element.sourceline)
        offer = Offer(
            offer_id,
            product_id,
            split_characteristic_id,
            name,
            article,
            barcode,
            unit,
            pairs,
            values,
            deleted,
            source,
            images,
        )
        return offer_id, True, offer

    def _without_id(
        self,
        element: Any,
        is_offer: bool,
        has_prices: bool,
        offer_id: str | None,
        reason: str,
    ) -> list[Record]:
        """A Предложение without a usable Ид: a reject of what it would have been."""
        entity = Entity.OFFERS if is_offer else (Entity.PRICES if has_prices else Entity.RESTS)
        if entity not in self.context.wanted:
            return []
        return [self.context.counted_reject(entity, offer_id, reason, element)]

    def _prices(self, offer_id: str, box: Any, out: list) -> None:
        """Цены/Цена* -> Price records (an empty ЦенаЗаЕдиницу is counted and skipped)."""
        names = self.names
        context = self.context
        file = context.file
        currencies = context.currencies
        ratios = context.ratios
        made = 0
        for element in box:
            raw_value: Any = None  # the texts of the Цена's children (lxml: str | None)
            type_id = currency = unit = ratio = presentation = None
            for child in element:
                name = names[child.tag]
                if name == "ЦенаЗаЕдиницу":
                    raw_value = child.text
                elif name == "ИдТипаЦены":
                    type_id = child.text
                elif name == "Валюта":
                    currency = child.text
                elif name == "Единица":
                    unit = child.text
                elif name == "Коэффициент":
                    ratio = child.text
                elif name == "Представление":
                    presentation = child.text
            try:  # fast path: a plain xsd:decimal, as parse_decimal's own first step (None: TypeError)
                value = Decimal(raw_value)
            except (InvalidOperation, TypeError):
                value = None
            if (  # not plain, or beyond 1e±100: the slow path (which rejects what is no number)
                value is None
                or "_" in raw_value
                or not value.is_finite()
                or not -MAX_ADJUSTED <= value.adjusted() <= MAX_ADJUSTED
            ):
                value = self._price_value(offer_id, raw_value, element, out)
                if value is None:
                    continue
            if type_id is None or not (type_id := type_id.strip()):
                out.append(
                    context.counted_reject(Entity.PRICES, offer_id, "Цена without ИдТипаЦены", element)
                )
                continue
            source = new_object(Source)  # make_source, inlined
            set_source_file(source, file)
            set_source_line(source, element.sourceline)
            out.append(
                Price(
                    offer_id,
                    type_id,
                    value,
                    currencies[currency] if currency is not None else None,
                    unit.strip() or None if unit is not None else None,
                    ratios[ratio] if ratio is not None else None,
                    presentation.strip() or None if presentation is not None else None,
                    source,
                )
            )
            made += 1
        if made:
            context.stats.counts[Entity.PRICES] += made

    def _price_value(self, offer_id: str, raw_value: str | None, element: Any, out: list) -> Decimal | None:
        """The slow path of a ЦенаЗаЕдиницу (thousands separators, a decimal comma, empty, not a number):
        None when there is no price (an empty one is counted, a bad one rejected into ``out``)."""
        try:
            value = parse_decimal(raw_value)
        except BadNumber as exc:
            out.append(self.context.counted_reject(Entity.PRICES, offer_id, f"ЦенаЗаЕдиницу: {exc}", element))
            return None
        if value is None:
            self.context.stats.empty_prices += 1
        return value

    def _stock_record(
        self, offer_id: str, warehouse_id: str | None, raw: str | None, element: Any, out: list
    ) -> None:
        context = self.context
        if not warehouse_id:
            out.append(
                context.counted_reject(Entity.RESTS, offer_id, "stock without a warehouse Ид", element)
            )
            return
        try:
            quantity = context.quantity(raw)
        except BadNumber as exc:
            out.append(context.counted_reject(Entity.RESTS, offer_id, f"quantity: {exc}", element))
            return
        if quantity is None:
            out.append(context.counted_reject(Entity.RESTS, offer_id, "stock without a quantity", element))
            return
        out.append(Stock(offer_id, warehouse_id, quantity, make_source(context.file, element.sourceline)))
        context.stats.counts[Entity.RESTS] += 1

    def _stock(self, offer_id: str, boxes: list, out: list) -> None:
        """Склад / Склады @ИдСклада @КоличествоНаСкладе (2.07/2.08 offers, ИзмененияПакетаПредложений), or
        Bitrix's КоличествоНаСкладах/КоличествоНаСкладе{ИдСклада, Количество}."""
        names = self.names
        for box in boxes:
            if names[box.tag] != "КоличествоНаСкладах":
                warehouse_id = box.get("ИдСклада")
                warehouse_id = warehouse_id.strip() if warehouse_id else None
                self._stock_record(offer_id, warehouse_id, box.get("КоличествоНаСкладе"), box, out)
                continue
            for item in box:
                warehouse_id = quantity = None
                for part in item:
                    tag = names[part.tag]
                    if tag == "ИдСклада":
                        warehouse_id = element_text(part)
                    elif tag == "Количество":
                        quantity = part.text
                self._stock_record(offer_id, warehouse_id, quantity, item, out)

    def _rests(self, offer_id: str, box: Any, out: list) -> None:
        """Остатки/Остаток*: Склад{Ид, Количество} -> Stock; a warehouse-less Количество -> StockTotal."""
        names = self.names
        want_stock = self.want_stock
        want_totals = self.want_totals
        decimals: dict[Any, Decimal] = self.context.decimals
        file = self.context.file
        made = 0
        for rest in box:
            warehouse = quantity_element = None
            for child in rest:
                tag = names[child.tag]
                if tag == "Склад":
                    warehouse = child
                elif tag == "Количество":
                    quantity_element = child
            if warehouse is None or not want_stock:
                if warehouse is None and quantity_element is not None and want_totals:
                    self._total(offer_id, quantity_element, rest, out)
                continue
            warehouse_id = quantity = None
            for child in warehouse:
                tag = names[child.tag]
                if tag == "Ид":
                    warehouse_id = (child.text or "").strip()
                elif tag == "Количество":
                    quantity = child.text
            if quantity is None and quantity_element is not None:
                quantity = quantity_element.text
            if warehouse_id:
                value = decimals.get(quantity)
                if value is not None:  # memoised: the fast path
                    source = new_object(Source)  # make_source, inlined
                    set_source_file(source, file)
                    set_source_line(source, rest.sourceline)
                    out.append(Stock(offer_id, warehouse_id, value, source))
                    made += 1
                    continue
            self._stock_record(offer_id, warehouse_id or None, quantity, rest, out)  # the general path
        if made:
            self.context.stats.counts[Entity.RESTS] += made

    def _total(self, offer_id: str, quantity_element: Any, element: Any, out: list) -> None:
        context = self.context
        try:
            quantity = context.quantity(quantity_element.text)
        except BadNumber as exc:
            out.append(context.counted_reject(Entity.STOCK_TOTALS, offer_id, f"Количество: {exc}", element))
            return
        if quantity is None:
            return  # an empty <Количество/> says nothing
        out.append(StockTotal(offer_id, quantity, make_source(context.file, element.sourceline)))
        context.stats.counts[Entity.STOCK_TOTALS] += 1


def _with_characteristic(offer_id: str | None, characteristic_id: str | None) -> str | None:
    """The offer id with its ИдХарактеристики folded in (``product#characteristic``)."""
    if characteristic_id and offer_id and "#" not in offer_id:
        return f"{offer_id}#{characteristic_id}"
    return offer_id
