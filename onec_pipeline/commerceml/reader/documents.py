"""Документ (2.03–2.10: a top-level section; 3.1: Контейнер/Документ) -> Order (FORMAT.md §9).

Both directions read the same way: a site → 1C order (Bitrix's ``mode=query`` answer, our own export) and
1C's order update (``Номер1С``, ``Проведен``, payment and shipment numbers...). What the requisites mean:

* «Номер по 1С» / «Дата по 1С» (2.03) are the ``Номер1С`` / ``Дата1С`` elements of 2.09/3.1;
* «ПометкаУдаления» as a requisite (2.03) is the ``ПометкаУдаления`` element;
* a flag (Проведен, «Заказ оплачен», Отгружен, Отменен) is None when the document does not say; a payment
  (shipment) number from 1C without the flag means paid (shipped), as Bitrix reads it.

A number that is not one rejects the whole document (naming the field); so does a Документ without Ид.
A nested Документ (ПодчиненныеДокументы) is part of its owner, never an order of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..elements import MARK_ELEMENT, element_text
from ..records import Customer, Entity, Order, OrderItem, Record
from ..values import BadNumber, normalise_currency, parse_bool, parse_decimal
from ..xmlsafe import LocalNames, free_element
from .context import ParseContext
from .customers import CustomerHandler
from .handler import Batch, Handler

DELIVERY_ITEM_ID = "ORDER_DELIVERY"
SERVICE = "услуга"
BUYER_ROLE = "покупатель"
XSD_EMAIL = "Почта"

# ЗначениеРеквизита name -> Order field holding the text as sent
TEXT_REQUISITES = {
    "Номер по 1С": "number_1c",
    "Дата по 1С": "date_1c",
    "Номер оплаты по 1С": "payment_number",
    "Дата оплаты по 1С": "payment_date",
    "Номер отгрузки по 1С": "shipment_number",
    "Дата отгрузки по 1С": "shipment_date",
    "Статуса заказа ИД": "status_id",
    "Статус заказа": "status",
    "Метод оплаты": "payment_method",
    "Способ доставки": "delivery_method",
    "Адрес доставки": "delivery_address",
}
# ЗначениеРеквизита name -> boolean Order field
FLAG_REQUISITES = {
    "Проведен": "posted",
    "Заказ оплачен": "paid",
    "Отгружен": "shipped",
    "Отменен": "cancelled",
}
_TEXT_ELEMENTS = {
    "Ид": "id",
    "Номер": "number",
    "Дата": "date",
    "Время": "time",
    "ХозОперация": "operation",
    "Роль": "role",
    "Комментарий": "comment",
    "НомерВерсии": "version",
    "Номер1С": "number_1c",
    "Дата1С": "date_1c",
}


class DocumentHandler(Handler):
    """Документ -> Order (and the Контрагент of the buyer, read as a Customer inside the order)."""

    entities = frozenset({Entity.ORDERS})

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = Entity.ORDERS in context.wanted
        self.parties = CustomerHandler(context)

    def end(self, element: Any) -> Batch | None:
        context = self.context
        if element is not context.section_element and not context.in_section(element):
            return None  # a nested Документ: its owner reads it
        batch = (context.counted(self._order(element)),) if self.want else None
        free_element(element)
        return batch

    def _order(self, element: Any) -> Record:
        names = self.names
        order = Order("", source=self.context.source(element))
        texts: dict[str, str | None] = {}
        numbers: dict[str, str | None] = {}
        try:
            for child in element:
                tag = names[child.tag]
                field = _TEXT_ELEMENTS.get(tag)
                if field is not None:
                    texts[field] = element_text(child)
                elif tag in ("Валюта", "Курс", "Сумма"):
                    numbers[tag] = element_text(child)
                elif tag == MARK_ELEMENT:
                    order.deleted = bool(parse_bool(child.text))
                elif tag == "Контрагенты":
                    order.customer = self._buyer(child)
                elif tag == "Товары":
                    order.items = [_item(item, names) for item in child]
                elif tag == "ЗначенияРеквизитов":
                    order.requisites.update(requisites(child, names))
            order.rate = parse_decimal(numbers.get("Курс"))
            order.total = parse_decimal(numbers.get("Сумма"))
        except _BadField as exc:
            return self.context.reject(Entity.ORDERS, texts.get("id"), str(exc), element)
        except BadNumber as exc:
            return self.context.reject(Entity.ORDERS, texts.get("id"), f"Документ: {exc}", element)
        if not texts.get("id"):
            return self.context.reject(Entity.ORDERS, None, "Документ without Ид", element)
        for field, value in texts.items():
            setattr(order, field, value)
        order.currency = normalise_currency(numbers.get("Валюта"))
        apply_requisites(order)
        return order

    def _buyer(self, box: Any) -> Customer | None:
        """The Контрагент whose Роль is «Покупатель», else the first one (None when none has an Ид)."""
        parties = [p for p in box if self.names[p.tag] == "Контрагент"]
        for party in parties:
            role = next((element_text(c) for c in party if self.names[c.tag] == "Роль"), None)
            if (role or "").lower() == BUYER_ROLE:
                parties = [party]
                break
        for party in parties[:1]:
            record = self.parties.customer(party)
            if isinstance(record, Customer):
                _xsd_emails(record)
                return record
        return None


def _xsd_emails(customer: Customer) -> None:
    """An order party's «Почта» contact holding an address with ``@`` is its e-mail (the 2.08 XSD's
    spelling, which our 2.08–2.10 export writes); elsewhere «Почта» stays a postal address."""
    for contact in customer.contacts:
        value = contact.get("value")
        if contact.get("type") == XSD_EMAIL and value and "@" in value and value not in customer.emails:
            customer.emails.append(value)


class _BadField(ValueError):
    """A Товар field that should be a number and is not one (rejects the whole Документ)."""


def requisites(box: Any, names: LocalNames) -> dict[str, str]:
    """ЗначенияРеквизитов/ЗначениеРеквизита{Наименование, Значение} -> {name: value} (nameless skipped)."""
    out: dict[str, str] = {}
    for item in box:
        name = value = None
        for part in item:
            tag = names[part.tag]
            if tag == "Наименование":
                name = element_text(part)
            elif tag == "Значение":
                value = element_text(part)
        if name:
            out[name] = value or ""
    return out


def apply_requisites(order: Order) -> None:
    """Set the order's fields from its document-level requisites (an element already read wins)."""
    values = order.requisites
    for name, field in TEXT_REQUISITES.items():
        value = values.get(name)
        if value and getattr(order, field) is None:
            setattr(order, field, value)
    for name, field in FLAG_REQUISITES.items():
        if name in values:
            setattr(order, field, parse_bool(values[name]))
    if "ПометкаУдаления" in values and parse_bool(values["ПометкаУдаления"]):
        order.deleted = True
    if order.paid is None and order.payment_number:
        order.paid = True
    if order.shipped is None and order.shipment_number:
        order.shipped = True


def _number(text: str | None, what: str) -> Decimal | None:
    try:
        return parse_decimal(text)
    except BadNumber as exc:
        raise _BadField(f"Товар/{what}: {exc}") from None


def _item(element: Any, names: LocalNames) -> OrderItem:
    item = OrderItem(None)
    price = unit_price = None
    for child in element:
        tag = names[child.tag]
        if tag == "Ид":
            item.offer_id = element_text(child)
        elif tag == "Наименование":
            item.name = element_text(child)
        elif tag == "Количество":
            item.quantity = _number(element_text(child), tag)
        elif tag == "Сумма":
            item.total = _number(element_text(child), tag)
        elif tag == "ЦенаЗаЕдиницу":
            unit_price = _number(element_text(child), tag)
        elif tag == "Цена":
            price = _number(element_text(child), tag)
        elif tag == "БазоваяЕдиница":
            item.unit, item.unit_code = element_text(child), child.get("Код")
        elif tag == "Единица":
            parts = {names[p.tag]: element_text(p) for p in child}
            item.unit, item.unit_code = parts.get("НаименованиеКраткое"), parts.get("Код")
        elif tag == "ЗначенияРеквизитов":
            kinds = requisites(child, names)
            item.service = SERVICE in {
                (kinds.get("ВидНоменклатуры") or "").lower(),
                (kinds.get("ТипНоменклатуры") or "").lower(),
            }
    item.price = unit_price if unit_price is not None else price
    item.service = item.service or item.offer_id == DELIVERY_ITEM_ID
    return item
