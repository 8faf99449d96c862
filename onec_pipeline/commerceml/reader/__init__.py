"""The streaming record reader: one driver loop, and one handler per record family (pure Python + lxml).

Layout (after philipmat/discogs-xml2db's one-loop-one-class-per-entity parser and python-mwxml's module per
element):

* :mod:`.stream` — the public functions: :func:`read_upload`, :func:`iter_file_records`,
  :func:`collect_lookups`;
* :mod:`.driver` — the one loop over a file's parser events: tracks the top-level section and sends each
  element the table names to its handler;
* :mod:`.table` — ``HANDLERS``, the ``(section, element) -> handler`` table;
* :mod:`.context` — ``ParseContext`` (lookups, counters, source and reject builders, per-file caches),
  :class:`ReadStats`, :class:`Lookups`;
* :mod:`.handler` — the ``Handler`` base and the section names;
* one module per record family: :mod:`.classifier`, :mod:`.goods`, :mod:`.offers` (the hot path),
  :mod:`.customers`, :mod:`.documents` (orders); :mod:`.item_fields` holds what goods and offers share.

Where records come from (FORMAT.md); ``test_reader_handlers.py`` checks this table against ``HANDLERS``:

================================  ========================  ==================================================
section                           element                   records
================================  ========================  ==================================================
Классификатор                     Группа                    Group (nested: ``parent_id``, parents first)
Классификатор                     Свойство                  Property (and the lookups)
Классификатор                     СвойствоНоменклатуры      Property (2.03)
Классификатор                     ТипыЦен                   PriceType (2.09/3.1 packages)
Классификатор                     Склады                    Warehouse (2.09/3.1 packages)
Классификатор                     ЕдиницыИзмерения          Unit (and the lookups)
Каталог                           Товар                     Product (under Товары)
ПакетПредложений                  ТипыЦен                   PriceType (classic)
ПакетПредложений                  Склады                    Warehouse (classic)
ПакетПредложений                  Предложение               Offer, Price, Stock, StockTotal
ИзмененияПакетаПредложений        ТипыЦен                   PriceType
ИзмененияПакетаПредложений        Склады                    Warehouse
ИзмененияПакетаПредложений        Предложение               Offer, Price, Stock, StockTotal
Контрагенты                       Контрагент                Customer (the section's own items)
Документ                          Документ                  Order (2.03–2.10: the section itself)
Контейнер                         Документ                  Order (3.1)
================================  ========================  ==================================================

A Документ's Контрагент and Товар are part of its Order (``customer``, ``items``), never Customer or Product
records. Not read: anything the table does not name. Namespaces are ignored (local names only). Deletion marks in all three forms set ``deleted``
(:func:`onec_pipeline.commerceml.elements.deleted_mark`).
"""

from __future__ import annotations

from .context import Lookups, PropertyInfo, ReadStats
from .stream import collect_lookups, iter_file_records, read_upload

__all__ = ["Lookups", "PropertyInfo", "ReadStats", "collect_lookups", "iter_file_records", "read_upload"]
