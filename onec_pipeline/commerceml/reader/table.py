"""The (section, element) -> handler table: which element of which top-level section becomes records.

The driver asks the parser only for the elements named here (and the root and the sections), so an element
that no entry names costs no parser event. A new record family is one new handler module plus its entries;
orders, for instance, are::

    (DOCUMENT, "Документ"): DocumentHandler,  # 2.03–2.10: Документ is a top-level section itself
    (CONTAINER, "Документ"): DocumentHandler,  # 3.1: Контейнер/Документ

(the section of a top-level Документ is the Документ itself, so its handler runs when the section ends).
"""

from __future__ import annotations

from .classifier import GroupHandler, PriceTypesHandler, PropertyHandler, UnitsHandler, WarehousesHandler
from .customers import CustomerHandler
from .documents import DocumentHandler
from .goods import ProductHandler
from .handler import CATALOG, CHANGES, CLASSIFIER, CONTAINER, CUSTOMERS, DOCUMENT, PACKAGE, Handler
from .offers import OfferHandler

HANDLERS: dict[tuple[str, str], type[Handler]] = {
    (CLASSIFIER, "Группа"): GroupHandler,
    (CLASSIFIER, "Свойство"): PropertyHandler,
    (CLASSIFIER, "СвойствоНоменклатуры"): PropertyHandler,  # 2.03
    (CLASSIFIER, "ТипыЦен"): PriceTypesHandler,  # 2.09/3.1 packages
    (CLASSIFIER, "Склады"): WarehousesHandler,  # 2.09/3.1 packages
    (CLASSIFIER, "ЕдиницыИзмерения"): UnitsHandler,
    (CATALOG, "Товар"): ProductHandler,
    (PACKAGE, "ТипыЦен"): PriceTypesHandler,  # classic offers.xml
    (PACKAGE, "Склады"): WarehousesHandler,  # classic offers.xml
    (PACKAGE, "Предложение"): OfferHandler,
    (CHANGES, "ТипыЦен"): PriceTypesHandler,
    (CHANGES, "Склады"): WarehousesHandler,
    (CHANGES, "Предложение"): OfferHandler,
    (CUSTOMERS, "Контрагент"): CustomerHandler,
    (DOCUMENT, "Документ"): DocumentHandler,  # 2.03–2.10: Документ is a top-level section itself
    (CONTAINER, "Документ"): DocumentHandler,  # 3.1: Контейнер/Документ
}
