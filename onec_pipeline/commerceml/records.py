"""Typed records produced by the CommerceML reader.

This module is the contract between the three layers: the reader (``commerceml``) yields these,
the store (``store``) loads them, the Dagster assets (``defs``) move them from one to the other.
Everything here is plain data: no lxml, no SQLAlchemy, no Dagster.

Conventions
-----------
* Ids are trimmed strings. Composite offer ids ``product#characteristic`` are kept whole in
  ``Offer.id`` and split into ``product_id`` / ``characteristic_id`` (``None`` when absent or empty).
* Money and quantities are :class:`decimal.Decimal` (negative and fractional stock exist).
* ``deleted`` is True when 1C marked the entity deleted in any of its three forms.
* ``source`` tells where the record came from (file path relative to the upload and the line of the
  element that produced it); errors and rejects quote it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was read: file (relative to the upload root) and 1-based line number."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class FileKind(enum.StrEnum):
    """What a file holds, decided by content (top-level sections and the children of Предложение)."""

    CLASSIFIER = "classifier"  # Классификатор with groups/properties/price types/warehouses/units
    GOODS = "goods"  # Каталог with Товары
    OFFER_CLASSIFIER = "offer_classifier"  # empty ПакетПредложений + Классификатор/Свойства (3.1/2.09)
    OFFERS = "offers"  # ПакетПредложений with offer definitions
    PRICES = "prices"  # ПакетПредложений whose offers carry only prices
    RESTS = "rests"  # ПакетПредложений whose offers carry only stock
    CUSTOMERS = "customers"  # root-level Контрагенты
    DOCUMENTS = "documents"  # Документ / Контейнер (orders): order records (Entity.ORDERS)
    UNKNOWN = "unknown"  # not CommerceML, or nothing we import


class Entity(enum.StrEnum):
    """Record families, one per store table (and per asset, roughly)."""

    GROUPS = "groups"
    PROPERTIES = "properties"
    UNITS = "units"
    PRICE_TYPES = "price_types"
    WAREHOUSES = "warehouses"
    GOODS = "goods"
    OFFERS = "offers"
    PRICES = "prices"
    RESTS = "rests"  # per-warehouse stock
    STOCK_TOTALS = "stock_totals"  # total stock per offer (offers.quantity)
    CUSTOMERS = "customers"
    ORDERS = "orders"  # Документ (ХозОперация «Заказ товара»), site → 1C and 1C → site


@dataclass(slots=True)
class Group:
    id: str
    name: str | None
    parent_id: str | None = None
    deleted: bool = False
    source: Source | None = None
    entity = Entity.GROUPS


@dataclass(slots=True)
class Property:
    id: str
    name: str | None
    value_type: str | None = None  # Строка | Число | Время | Справочник | None (2.03/2.04 have none)
    for_offers: bool = False  # ДляПредложений=true (variant axis) or read from an offer classifier
    multiple: bool = False
    values: dict[str, str] = field(default_factory=dict)  # ИдЗначения -> Значение (Справочник)
    deleted: bool = False
    source: Source | None = None
    entity = Entity.PROPERTIES


@dataclass(slots=True)
class Unit:
    id: str
    code: str | None = None  # OKEI code, e.g. "796"
    name: str | None = None  # short name, e.g. "шт"
    full_name: str | None = None
    international: str | None = None  # e.g. "PCE"
    source: Source | None = None
    entity = Entity.UNITS


@dataclass(slots=True)
class PriceType:
    id: str
    name: str | None
    currency: str | None = None  # normalised ISO code (RUB, UAH, ...) or the raw value when unknown
    tax_name: str | None = None
    tax_included: bool | None = None
    deleted: bool = False
    source: Source | None = None
    entity = Entity.PRICE_TYPES


@dataclass(slots=True)
class Warehouse:
    id: str
    name: str | None
    address: str | None = None
    deleted: bool = False
    source: Source | None = None
    entity = Entity.WAREHOUSES


@dataclass(slots=True)
class PropertyValue:
    """A property value on a product or offer. ``value`` is resolved for Справочник properties."""

    property_id: str
    value: str | None
    value_id: str | None = None  # the ИдЗначения when the value came from a dictionary
    property_name: str | None = None


@dataclass(slots=True, frozen=True)
class Picture:
    """One picture of a product or offer as the catalog stores it (``goods.images``, ``offers.images``).

    The reader gives only the paths 1C wrote (``Product.images``); the media store (``onec_pipeline.media``)
    resolves them in the upload and fills ``media``/``sha256``/``size``. ``media`` is the file's path under
    ``ONEC_MEDIA_DIR`` (served at ``/media/<media>``), None when the file was not in the upload.
    """

    source: str  # the path 1C wrote (Картинка), relative to its upload
    position: int  # 0-based, in the order 1C listed the pictures
    media: str | None = None  # "<sha256[:2]>/<sha256>.<ext>" under ONEC_MEDIA_DIR
    sha256: str | None = None
    size: int | None = None  # bytes

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the column contract (README, "Product pictures")."""
        return {
            "media": self.media,
            "sha256": self.sha256,
            "size": self.size,
            "source": self.source,
            "position": self.position,
        }


@dataclass(slots=True)
class Product:
    id: str
    name: str | None
    article: str | None = None
    code: str | None = None
    barcodes: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    description: str | None = None
    unit: str | None = None  # short name or code as given (БазоваяЕдиница)
    unit_code: str | None = None
    images: list[str] = field(default_factory=list)  # Картинка paths as 1C wrote them
    manufacturer: dict[str, str] | None = None
    properties: list[PropertyValue] = field(default_factory=list)
    requisites: dict[str, str] = field(default_factory=dict)  # ЗначенияРеквизитов
    tax_rates: dict[str, str] = field(default_factory=dict)  # СтавкиНалогов: name -> rate
    characteristics: list[tuple[str, str]] = field(default_factory=list)  # ХарактеристикиТовара (2.03/2.04)
    category_id: str | None = None
    deleted: bool = False
    source: Source | None = None
    # ``images`` resolved by the media store (None: not resolved, the column keeps the paths only)
    pictures: list[Picture] | None = None
    entity = Entity.GOODS

    @property
    def barcode(self) -> str | None:
        return self.barcodes[0] if self.barcodes else None

    @property
    def group_id(self) -> str | None:
        return self.group_ids[0] if self.group_ids else None


@dataclass(slots=True)
class Offer:
    id: str  # whole id as 1C sent it (trimmed): "product" or "product#characteristic"
    product_id: str
    characteristic_id: str | None = None
    name: str | None = None
    article: str | None = None
    barcode: str | None = None
    unit: str | None = None
    characteristics: list[tuple[str, str]] = field(default_factory=list)  # (name, value)
    properties: list[PropertyValue] = field(default_factory=list)
    deleted: bool = False
    source: Source | None = None
    images: list[str] = field(default_factory=list)  # Картинка paths (3.x: per characteristic)
    pictures: list[Picture] | None = None  # as Product.pictures
    entity = Entity.OFFERS


@dataclass(slots=True)
class Price:
    offer_id: str
    price_type_id: str
    price: Decimal
    currency: str | None = None  # normalised: руб/руб./RUR -> RUB, грн -> UAH
    unit: str | None = None
    ratio: Decimal | None = None  # Коэффициент
    presentation: str | None = None  # Представление (display text)
    source: Source | None = None
    entity = Entity.PRICES


@dataclass(slots=True)
class Stock:
    """Stock of one offer in one warehouse."""

    offer_id: str
    warehouse_id: str
    quantity: Decimal
    source: Source | None = None
    entity = Entity.RESTS


@dataclass(slots=True)
class StockTotal:
    """Total stock of one offer (Количество, or a warehouse-less Остаток)."""

    offer_id: str
    quantity: Decimal
    source: Source | None = None
    entity = Entity.STOCK_TOTALS


@dataclass(slots=True)
class Customer:
    id: str  # 1C Ид
    name: str | None
    official_name: str | None = None  # ОфициальноеНаименование or ПолноеНаименование
    kind: str | None = None  # "legal" | "individual" | None when it cannot be told
    inn: str | None = None
    kpp: str | None = None
    okpo: str | None = None
    emails: list[str] = field(default_factory=list)  # from Контакт Тип="Электронная почта" only
    phones: list[str] = field(default_factory=list)  # raw values from telephone contacts
    addresses: list[dict] = field(default_factory=list)  # {"type", "presentation", "fields": {Тип: Значение}}
    contacts: list[dict] = field(default_factory=list)  # every Контакт as {"type", "value", "comment"}
    role: str | None = None
    representatives: list[dict] = field(default_factory=list)  # {"relation", "id", "name"}
    deleted: bool = False
    source: Source | None = None
    entity = Entity.CUSTOMERS


@dataclass(slots=True)
class OrderItem:
    """One ``Товар`` of a ``Документ``: ``offer_id`` is ``product`` or ``product#characteristic`` (or the
    ``ORDER_DELIVERY`` pseudo-line); ``service`` when 1C calls it a service (ВидНоменклатуры/ТипНоменклатуры
    «Услуга») or it is the delivery line."""

    offer_id: str | None
    name: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None  # ЦенаЗаЕдиницу (2.x) or Цена (3.1)
    total: Decimal | None = None
    unit: str | None = None  # БазоваяЕдиница text or Единица/НаименованиеКраткое
    unit_code: str | None = None
    service: bool = False


@dataclass(slots=True)
class Order:
    """One ``Документ`` «Заказ товара», in either direction (FORMAT.md §9).

    ``id`` / ``number`` are the site's Ид and Номер (1C keeps them); ``number_1c`` / ``date_1c`` what 1C calls
    the order (``Номер1С``/``Дата1С`` elements in 2.09/3.1, «Номер по 1С»/«Дата по 1С» requisites in 2.03).
    The status fields are None when the document does not say. ``requisites`` keeps every document-level
    ЗначениеРеквизита as sent (name → value); ``customer`` is the buyer (the Контрагент with Роль «Покупатель»,
    else the first one).
    """

    id: str
    number: str | None = None
    date: str | None = None  # Дата, ISO ``YYYY-MM-DD`` as sent
    time: str | None = None  # Время, ``HH:MM:SS``
    operation: str | None = None  # ХозОперация
    role: str | None = None
    currency: str | None = None  # normalised (руб → RUB)
    rate: Decimal | None = None
    total: Decimal | None = None
    comment: str | None = None
    customer: Customer | None = None
    items: list[OrderItem] = field(default_factory=list)
    requisites: dict[str, str] = field(default_factory=dict)
    version: str | None = None  # НомерВерсии
    number_1c: str | None = None
    date_1c: str | None = None
    posted: bool | None = None  # Проведен
    paid: bool | None = None  # «Заказ оплачен», or a payment number from 1C
    payment_number: str | None = None  # «Номер оплаты по 1С»
    payment_date: str | None = None
    shipped: bool | None = None  # Отгружен, or a shipment number from 1C
    shipment_number: str | None = None  # «Номер отгрузки по 1С»
    shipment_date: str | None = None
    cancelled: bool | None = None  # Отменен
    status_id: str | None = None  # «Статуса заказа ИД»
    status: str | None = None  # «Статус заказа»
    payment_method: str | None = None  # «Метод оплаты»
    delivery_method: str | None = None  # «Способ доставки»
    delivery_address: str | None = None  # «Адрес доставки»
    deleted: bool = False
    source: Source | None = None
    entity = Entity.ORDERS


@dataclass(slots=True)
class Reject:
    """A record the reader could not turn into a valid entity (no id, a number that is not one...).

    The reader yields it instead of raising so that the rest of the upload loads; the store writes it
    to the ``rejects`` table.
    """

    entity: Entity
    entity_id: str | None
    reason: str
    raw: str  # the XML fragment, truncated to a few KB
    source: Source | None = None


@dataclass(slots=True)
class FileHeader:
    """What the root element and the top-level sections of one file say about it."""

    path: str  # relative to the upload root
    kind: FileKind
    schema_version: str | None = None
    namespace: str | None = None
    encoding: str | None = None
    exported_at: datetime | None = None  # ДатаФормирования, naive local time unless an offset was given
    only_changes: bool | None = None  # СодержитТолькоИзменения; None when the file does not say
    sections: tuple[str, ...] = ()  # local names of top-level sections in document order
    classifier_id: str | None = None
    catalog_id: str | None = None
    size: int = 0
    # record families this file can contribute, from the header peek (drives Upload.has / is_full)
    entities: frozenset[Entity] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (kept in an archived upload's manifest so that the files are not peeked again)."""
        return {
            "path": self.path,
            "kind": str(self.kind),
            "schema_version": self.schema_version,
            "namespace": self.namespace,
            "encoding": self.encoding,
            "exported_at": self.exported_at.isoformat() if self.exported_at else None,
            "only_changes": self.only_changes,
            "sections": list(self.sections),
            "classifier_id": self.classifier_id,
            "catalog_id": self.catalog_id,
            "size": self.size,
            "entities": sorted(str(e) for e in self.entities),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileHeader:
        """The header :meth:`to_dict` wrote (``ValueError``/``KeyError`` on a malformed dict)."""
        exported = data.get("exported_at")
        return cls(
            path=str(data["path"]),
            kind=FileKind(data["kind"]),
            schema_version=data.get("schema_version"),
            namespace=data.get("namespace"),
            encoding=data.get("encoding"),
            exported_at=datetime.fromisoformat(exported) if exported else None,
            only_changes=data.get("only_changes"),
            sections=tuple(data.get("sections") or ()),
            classifier_id=data.get("classifier_id"),
            catalog_id=data.get("catalog_id"),
            size=int(data.get("size") or 0),
            entities=frozenset(Entity(e) for e in data.get("entities") or ()),
        )


Record = (
    Group
    | Property
    | Unit
    | PriceType
    | Warehouse
    | Product
    | Offer
    | Price
    | Stock
    | StockTotal
    | Customer
    | Order
    | Reject
)
