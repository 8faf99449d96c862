"""Synthetic 1C:Enterprise CommerceML uploads for the demo, the benchmarks and tests.

Two layouts:

* ``"package"`` — a 1C:УТ 11 split package, CommerceML 2.09: ``import___<uuid>.xml`` (classifier: groups,
  properties, price types, warehouses, units + empty Каталог), ``import___`` goods, ``offers___`` offer
  classifier (empty ПакетПредложений, then Классификатор/Свойства of the variant axes), ``offers___`` offers,
  ``prices___`` and ``rests___`` (``Остатки/Остаток/Склад{Ид, Количество}``), plus ``contragents___`` when
  customers are requested. ``subfolders=True`` lays them out like the 3.1 zip (``goods/1/``, ``properties/1/``).
* ``"classic"`` — ``import.xml`` + ``offers.xml``, CommerceML 2.07, price types and warehouses inside the
  ПакетПредложений, prices, ``Количество`` and ``<Склад ИдСклада КоличествоНаСкладе/>`` inline.

Everything is derived from integers: the ``seed`` fixes the catalog (ids, names, structure) and ``version``
changes a deterministic share of prices and stock (``changed_share``), so two uploads with the same seed and
different versions overlap ids exactly. The files are written as formatted strings in chunks (never a tree),
so memory does not grow with the number of offers.

``generate_upload`` returns a list of paths that also carries ``.counts`` (exactly what was written);
``expected_counts`` computes the same numbers without writing anything.

Modules: ``spec`` (the parameters), ``values`` (hashes, ids, prices, quantities), ``words``, ``document``
(the writer and shared XML heads), one module per record family (``classifier``, ``goods``, ``offers`` with
prices and rests, ``customers``), ``classic`` (the 2.07 layout), ``plan`` (files and counts) and
``generate`` (the entry points).
"""

from __future__ import annotations

from .generate import expected_counts, generate_demo_upload, generate_upload
from .spec import ALL_SECTIONS, DEFAULT_EXPORTED_AT, GeneratedUpload, SynthSpec
from .values import offer_id, price_type_ids, product_id, warehouse_ids

__all__ = [
    "ALL_SECTIONS",
    "DEFAULT_EXPORTED_AT",
    "GeneratedUpload",
    "SynthSpec",
    "expected_counts",
    "generate_demo_upload",
    "generate_upload",
    "offer_id",
    "price_type_ids",
    "product_id",
    "warehouse_ids",
]
