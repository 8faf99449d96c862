"""CommerceML orders out: site orders as ``Документ``s «Заказ товара» for 1C (FORMAT.md §9, §10, §11).

One writer, three dialects, chosen by the schema version the exchange node asks for:

* **2.03 / 2.04 / 2.05** — no namespace, top-level ``Документ``s (what Bitrix answers ``mode=query`` with);
* **2.08 / 2.09 / 2.10** — namespace ``urn:1C.ru:commerceml_2``, the same elements in the order the published
  XSD declares (the output validates against ``commerceml-2.08.xsd``);
* **3.1** — namespace ``urn:1C.ru:commerceml_3``, each ``Документ`` wrapped in a ``Контейнер``.

UTF-8 or windows-1251 (characters windows-1251 cannot hold become character references, so nothing is lost).
Each ``Документ`` is built as a small element and written at once (:class:`lxml.etree.xmlfile`): memory does
not grow with the number of orders. The customer travels as the ``Контрагент`` (Роль «Покупатель»): its 1C
Ид when known, else the site's id with its details. Order lines carry the offer id (``product`` or
``product#characteristic``), price, quantity and sum; ``ORDER_DELIVERY`` and other service lines are marked
``ВидНоменклатуры``/``ТипНоменклатуры`` «Услуга». Payment and delivery go in ``ЗначенияРеквизитов``. What
:mod:`onec_pipeline.commerceml.reader.documents` reads back is the same :class:`Order`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO

from lxml import etree

from .records import Customer, Order, OrderItem
from .writer import atomic_file, xml_text

NAMESPACE_2 = "urn:1C.ru:commerceml_2"
NAMESPACE_3 = "urn:1C.ru:commerceml_3"
ENCODINGS = {"utf-8": "UTF-8", "windows-1251": "windows-1251"}
OPERATION = "Заказ товара"
SELLER_ROLE = "Продавец"
BUYER_ROLE = "Покупатель"
SERVICE = "Услуга"
GOODS = "Товар"
OTHER_CONTACT = "Прочее"
XSD_EMAIL = "Почта"
EMAIL_TYPES = frozenset({"электронная почта", "email", "e-mail", "эл. почта"})
XSD_CONTACT_TYPES = frozenset(
    {"Телефон внутренний", "Телефон рабочий", "Телефон мобильный", "Телефон домашний", "Пейджер", "Факс"}
    | {XSD_EMAIL, "ICQ", "ВебСайт", "Координаты на карте", OTHER_CONTACT}
)
# Order field -> the document-level ЗначениеРеквизита that carries it to 1C
SITE_REQUISITES = (
    ("payment_method", "Метод оплаты"),
    ("delivery_method", "Способ доставки"),
    ("delivery_address", "Адрес доставки"),
    ("status", "Статус заказа"),
)


@dataclass(frozen=True)
class Dialect:
    version: str
    namespace: str | None
    container: bool = False


DIALECTS = {
    "2.03": Dialect("2.03", None),
    "2.04": Dialect("2.04", None),
    "2.05": Dialect("2.05", None),
    "2.08": Dialect("2.08", NAMESPACE_2),
    "2.09": Dialect("2.09", NAMESPACE_2),
    "2.10": Dialect("2.10", NAMESPACE_2),
    "3.1": Dialect("3.1", NAMESPACE_3, container=True),
}
DEFAULT_VERSION = "2.05"


def dialect_for(version: str | None) -> Dialect:
    """The dialect of a schema version (``None``: 2.05, Bitrix's default); ValueError names the known ones."""
    dialect = DIALECTS.get((version or DEFAULT_VERSION).strip())
    if dialect is None:
        raise ValueError(
            f"unsupported CommerceML version {version!r} for orders (known: {', '.join(DIALECTS)})"
        )
    return dialect


def encoding_for(encoding: str | None) -> str:
    """``utf-8`` (default) or ``windows-1251`` (also ``cp1251``); ValueError otherwise."""
    key = (encoding or "utf-8").strip().lower().replace("cp1251", "windows-1251").replace("utf8", "utf-8")
    if key not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding!r} for orders (known: utf-8, windows-1251)")
    return ENCODINGS[key]


def _number(value: Decimal | None) -> str:
    return "0" if value is None else format(value, "f")


class _Builder:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.ns = dialect.namespace

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}" if self.ns else name

    def sub(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, self.q(name))
        if text is not None:
            el.text = xml_text(text)
        return el

    def document(self, order: Order) -> etree._Element:
        nsmap = {None: self.ns} if self.ns else None
        doc = etree.Element(self.q("Документ"), nsmap=nsmap)
        sub = self.sub
        sub(doc, "Ид", order.id)
        sub(doc, "Номер", order.number or order.id)
        sub(doc, "Дата", order.date or "")
        sub(doc, "ХозОперация", order.operation or OPERATION)
        sub(doc, "Роль", order.role or SELLER_ROLE)
        sub(doc, "Валюта", order.currency or "RUB")
        sub(doc, "Курс", _number(order.rate if order.rate is not None else Decimal(1)))
        sub(doc, "Сумма", _number(order.total))
        parties = sub(doc, "Контрагенты")
        if order.customer is not None:
            self.party(parties, order.customer)
        if order.time:
            sub(doc, "Время", order.time)
        if order.comment:
            sub(doc, "Комментарий", order.comment)
        goods = sub(doc, "Товары")
        for item in order.items:
            self.item(goods, item)
        self.requisites(doc, _document_requisites(order))
        return doc

    def party(self, parent: etree._Element, customer: Customer) -> None:
        """A Контрагент in the XSD's order: Ид, Наименование, the legal or the individual group, Адрес,
        Контакты, Представители, Роль."""
        sub = self.sub
        el = sub(parent, "Контрагент")
        sub(el, "Ид", customer.id)
        sub(el, "Наименование", customer.name or customer.official_name or customer.id)
        if customer.kind == "legal":
            sub(el, "ОфициальноеНаименование", customer.official_name or customer.name or customer.id)
            for name, value in (("ИНН", customer.inn), ("КПП", customer.kpp)):
                if value:
                    sub(el, name, value)
        else:
            sub(el, "ПолноеНаименование", customer.official_name or customer.name or customer.id)
            if customer.inn:
                sub(el, "ИНН", customer.inn)
        for address in customer.addresses[:1]:
            self.address(el, address)
        contacts = [c for c in customer.contacts if c.get("value")]
        if contacts:
            box = sub(el, "Контакты")
            for contact in contacts:
                item = sub(box, "Контакт")
                sub(item, "Тип", self.contact_type(contact.get("type")))
                sub(item, "Значение", contact["value"])
                if contact.get("comment"):
                    sub(item, "Комментарий", contact["comment"])
        sub(el, "Роль", customer.role or BUYER_ROLE)

    def contact_type(self, kind: str | None) -> str:
        """The XSD (2.08–2.10) spells an e-mail contact «Почта» and knows a closed list of types; the other
        dialects keep what 1C itself writes («Электронная почта»)."""
        if not self.ns or self.dialect.container:
            return kind or OTHER_CONTACT
        if (kind or "").lower() in EMAIL_TYPES:
            return XSD_EMAIL
        return kind if kind in XSD_CONTACT_TYPES else OTHER_CONTACT

    def address(self, parent: etree._Element, address: dict) -> None:
        el = self.sub(parent, "Адрес")
        self.sub(el, "Представление", address.get("presentation") or "")
        for field_type, value in list((address.get("fields") or {}).items())[:10]:
            field = self.sub(el, "АдресноеПоле")
            self.sub(field, "Тип", field_type)
            self.sub(field, "Значение", value)

    def item(self, parent: etree._Element, item: OrderItem) -> None:
        sub = self.sub
        el = sub(parent, "Товар")
        sub(el, "Ид", item.offer_id or "")
        sub(el, "Наименование", item.name or item.offer_id or "")
        unit = sub(el, "БазоваяЕдиница", item.unit or "шт")
        unit.set("Код", item.unit_code or "796")
        kind = SERVICE if item.service else GOODS
        self.requisites(el, {"ВидНоменклатуры": kind, "ТипНоменклатуры": kind})
        sub(el, "ЦенаЗаЕдиницу", _number(item.price))
        sub(el, "Количество", _number(item.quantity))
        sub(el, "Сумма", _number(item.total))

    def requisites(self, parent: etree._Element, values: dict[str, str]) -> None:
        if not values:
            return
        box = self.sub(parent, "ЗначенияРеквизитов")
        for name, value in values.items():
            item = self.sub(box, "ЗначениеРеквизита")
            self.sub(item, "Наименование", name)
            self.sub(item, "Значение", value)


def _document_requisites(order: Order) -> dict[str, str]:
    """The order's own requisites, then the site fields (payment, delivery, status) under their 1C names."""
    values = dict(order.requisites)
    for field, name in SITE_REQUISITES:
        value = getattr(order, field)
        if value:
            values[name] = value
    return values


def write_orders_to(
    fh: IO[bytes],
    orders: Iterable[Order],
    *,
    version: str | None = None,
    encoding: str | None = None,
    generated_at: datetime | None = None,
) -> int:
    """Write ``orders`` as one CommerceML file to the binary stream ``fh``; return how many were written.

    ``version``: the schema version (see :data:`DIALECTS`); ``encoding``: ``utf-8`` or ``windows-1251``;
    ``generated_at``: ``ДатаФормирования`` (local time without offset, as 1C writes it; default now).
    """
    dialect = dialect_for(version)
    charset = encoding_for(encoding)
    builder = _Builder(dialect)
    stamp = (generated_at or datetime.now()).replace(microsecond=0, tzinfo=None)
    count = 0
    fh.write(f'<?xml version="1.0" encoding="{charset}"?>\n'.encode("ascii"))
    with etree.xmlfile(fh, encoding=charset) as xf:
        root_attrs = {"ВерсияСхемы": dialect.version, "ДатаФормирования": stamp.isoformat()}
        nsmap = {None: dialect.namespace} if dialect.namespace else None
        with xf.element(builder.q("КоммерческаяИнформация"), root_attrs, nsmap=nsmap):
            for order in orders:
                element = builder.document(order)
                if dialect.container:
                    box = etree.Element(builder.q("Контейнер"), nsmap=element.nsmap)
                    box.append(element)
                    element = box
                etree.indent(element, space="\t", level=1)
                xf.write("\n\t", element)
                count += 1
            xf.write("\n")
    fh.write(b"\n")
    return count


def write_orders(
    path: str | os.PathLike[str],
    orders: Iterable[Order],
    *,
    version: str | None = None,
    encoding: str | None = None,
    generated_at: datetime | None = None,
) -> int:
    """:func:`write_orders_to` into the file ``path``, which appears atomically (``<path>.part``, renamed)."""
    with atomic_file(path) as fh:
        return write_orders_to(fh, orders, version=version, encoding=encoding, generated_at=generated_at)


# the root of mode=info's status list as Bitrix spells it: a Latin "C", then Cyrillic (1C expects exactly this)
INFO_STATUSES = "C" + "татусы"


def info_document(statuses: Iterable[tuple[str, str]], payment_systems: Iterable[tuple[str, str]]) -> bytes:
    """``type=sale&mode=info``: the site's order statuses and payment systems, in windows-1251, in Bitrix's
    shape (``Справочник/Cтатусы/Элемент{Ид, Название}`` — the Latin C is Bitrix's and 1C matches it —,
    ``ПлатежныеСистемы/Элемент{Ид, Название, ТипОплаты}``)."""
    root = etree.Element("Справочник")
    for box_name, rows, extra in (
        (INFO_STATUSES, statuses, False),
        ("ПлатежныеСистемы", payment_systems, True),
    ):
        box = etree.SubElement(root, box_name)
        for ident, name in rows:
            item = etree.SubElement(box, "Элемент")
            etree.SubElement(item, "Ид").text = xml_text(ident)
            etree.SubElement(item, "Название").text = xml_text(name)
            if extra:
                etree.SubElement(item, "ТипОплаты").text = xml_text(name)
    etree.indent(root, space="\t")
    body = etree.tostring(root, encoding="windows-1251", xml_declaration=False)
    return b'<?xml version="1.0" encoding="windows-1251"?>\n' + body + b"\n"
