"""Offers, prices and rests: the definition of each Предложение (name, barcode, characteristics, variant
property values), its Цены and its Остатки, and the package's ``offers___``, ``prices___`` and ``rests___``
files. Offer ``i`` belongs to product ``i % goods`` (see ``values.offer_product``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .document import XmlWriter, open_root, package_head
from .goods import product_name
from .spec import SynthSpec
from .values import (
    SeedIds,
    ean13,
    escape,
    format_cents,
    guid,
    in_share,
    mix64,
    offer_product,
    price_cents,
    price_presentation,
    rest_quantity,
    version_stamp,
)
from .words import COLORS, SIZES


def offer_body_xml(offer: int, spec: SynthSpec, ids: SeedIds, indent: str, versions: bool) -> str:
    """The definition children of Предложение: id, versions, name, barcode, characteristics."""
    product, plain = offer_product(offer, spec.goods_count)
    bits = mix64(offer * 13 + 5)
    deleted = in_share(offer, 13, spec.deleted_share)
    parts = [f"{indent}<Ид>{ids.offer_id(offer, spec.goods_count)}</Ид>\n"]
    if versions:
        parts.append(
            f"{indent}<НомерВерсии>{version_stamp(offer, 8)}</НомерВерсии>\n"
            f"{indent}<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
        )
    if plain:
        parts.append(f"{indent}<Наименование>{escape(product_name(product))}</Наименование>\n")
    else:
        parts.append(_characteristics_xml(offer, spec, ids, indent, versions, product, bits))
    if not versions and deleted:
        parts.append(f"{indent}<Статус>Удален</Статус>\n")
    return "".join(parts)


def _characteristics_xml(
    offer: int, spec: SynthSpec, ids: SeedIds, indent: str, versions: bool, product: int, bits: int
) -> str:
    """Barcode, name and ХарактеристикиТовара (colour, size) of a ``product#characteristic`` offer."""
    color_index = bits % len(COLORS)
    size_index = (bits >> 8) % len(SIZES)
    color, size = COLORS[color_index], SIZES[size_index]
    xml = (
        f"{indent}<Штрихкод>{ean13(10**9 + offer + spec.seed * 7919)}</Штрихкод>\n"
        f"{indent}<Наименование>{escape(product_name(product))} ({color}, {size})</Наименование>\n"
        f"{indent}<ХарактеристикиТовара>\n"
        f"{indent}\t<ХарактеристикаТовара>\n{indent}\t\t<Наименование>Цвет</Наименование>\n"
        f"{indent}\t\t<Значение>{color}</Значение>\n{indent}\t</ХарактеристикаТовара>\n"
        f"{indent}\t<ХарактеристикаТовара>\n{indent}\t\t<Наименование>Размер</Наименование>\n"
        f"{indent}\t\t<Значение>{size}</Значение>\n{indent}\t</ХарактеристикаТовара>\n"
        f"{indent}</ХарактеристикиТовара>\n"
    )
    if versions:  # 2.09 packages also give the variant axes as property values
        xml += (
            f"{indent}<ЗначенияСвойств>\n"
            f"{indent}\t<ЗначенияСвойства>\n{indent}\t\t<Ид>{guid(ids.prop, 10)}</Ид>\n"
            f"{indent}\t\t<Значение>{ids.value_id(10, color_index)}</Значение>\n{indent}\t</ЗначенияСвойства>\n"
            f"{indent}\t<ЗначенияСвойства>\n{indent}\t\t<Ид>{guid(ids.prop, 11)}</Ид>\n"
            f"{indent}\t\t<Значение>{ids.value_id(11, size_index)}</Значение>\n{indent}\t</ЗначенияСвойства>\n"
            f"{indent}</ЗначенияСвойств>\n"
        )
    return xml


def prices_xml(offer: int, spec: SynthSpec, indent: str, price_type_guids: list[str]) -> str:
    """Цены of an offer: one Цена per price type, the currency alternating ``руб`` / ``RUB``."""
    parts = [f"{indent}<Цены>\n"]
    for price_type, price_type_guid in enumerate(price_type_guids):
        cents = price_cents(offer, price_type, spec)
        currency = "руб" if (offer + price_type) % 3 == 0 else "RUB"
        parts.append(
            f"{indent}\t<Цена>\n"
            f"{indent}\t\t<Представление>{price_presentation(cents, currency, 'шт')}</Представление>\n"
            f"{indent}\t\t<ИдТипаЦены>{price_type_guid}</ИдТипаЦены>\n"
            f"{indent}\t\t<ЦенаЗаЕдиницу>{format_cents(cents)}</ЦенаЗаЕдиницу>\n"
            f"{indent}\t\t<Валюта>{currency}</Валюта>\n{indent}\t\t<Единица>шт</Единица>\n"
            f"{indent}\t\t<Коэффициент>1</Коэффициент>\n{indent}\t</Цена>\n"
        )
    parts.append(f"{indent}</Цены>\n")
    return "".join(parts)


def _open_offers(spec: SynthSpec, path: Path, when: datetime, ids: SeedIds) -> XmlWriter:
    out = XmlWriter(path, spec)
    open_root(out, "2.09", when)
    package_head(out, spec, ids)
    out.add("\t\t<Предложения>\n")
    return out


def _close_offers(out: XmlWriter) -> None:
    out.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    out.close()


def write_offers(spec: SynthSpec, path: Path, when: datetime, first: int, stop: int) -> None:
    """A package's ``offers___`` file: the definitions of offers ``first`` ≤ i < ``stop``."""
    ids = SeedIds.for_seed(spec.seed)
    out = _open_offers(spec, path, when, ids)
    for offer in range(first, stop):
        out.add("\t\t\t<Предложение>\n")
        out.add(offer_body_xml(offer, spec, ids, "\t\t\t\t", versions=True))
        out.add("\t\t\t</Предложение>\n")
        out.flush_every_chunk(offer - first)
    _close_offers(out)


def write_prices(spec: SynthSpec, path: Path, when: datetime, first: int, stop: int) -> None:
    """A package's ``prices___`` file: the prices of offers ``first`` ≤ i < ``stop``."""
    ids = SeedIds.for_seed(spec.seed)
    price_type_guids = [guid(ids.price_type, price_type) for price_type in range(spec.price_types)]
    out = _open_offers(spec, path, when, ids)
    for offer in range(first, stop):
        out.add(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{ids.offer_id(offer, spec.goods_count)}</Ид>\n")
        out.add(prices_xml(offer, spec, "\t\t\t\t", price_type_guids))
        out.add("\t\t\t</Предложение>\n")
        out.flush_every_chunk(offer - first)
    _close_offers(out)


def write_rests(spec: SynthSpec, path: Path, when: datetime, first: int, stop: int) -> None:
    """A package's ``rests___`` file: Остатки/Остаток/Склад{Ид, Количество} of offers ``first`` ≤ i < ``stop``."""
    ids = SeedIds.for_seed(spec.seed)
    heads = [
        f"\t\t\t\t\t<Остаток>\n\t\t\t\t\t\t<Склад>\n\t\t\t\t\t\t\t<Ид>{guid(ids.warehouse, warehouse)}</Ид>\n"
        "\t\t\t\t\t\t\t<Количество>"
        for warehouse in range(spec.warehouses)
    ]
    tail = "</Количество>\n\t\t\t\t\t\t</Склад>\n\t\t\t\t\t</Остаток>\n"
    out = _open_offers(spec, path, when, ids)
    add = out.add
    for offer in range(first, stop):
        add(
            f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{ids.offer_id(offer, spec.goods_count)}</Ид>\n\t\t\t\t<Остатки>\n"
        )
        for warehouse, head in enumerate(heads):
            add(head)
            add(rest_quantity(offer, warehouse, spec))
            add(tail)
        add("\t\t\t\t</Остатки>\n\t\t\t</Предложение>\n")
        out.flush_every_chunk(offer - first)
    _close_offers(out)
