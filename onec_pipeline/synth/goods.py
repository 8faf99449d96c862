"""Goods: one Товар per product (barcode, article, groups, description, image, property values, tax rate,
requisites) and the package's goods file (``import___`` with Каталог/Товары)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .document import XmlWriter, open_catalog, open_root
from .spec import SynthSpec
from .values import SeedIds, ean13, escape, guid, in_share, mix64, version_stamp
from .words import BRANDS, COUNTRIES, KIND_WORDS, MATERIALS, TAX_RATES


def product_bits(product: int) -> int:
    """The hash every attribute of a product is drawn from."""
    return mix64(product * 7 + 3)


def product_kind(product: int) -> str:
    return KIND_WORDS[(product_bits(product) >> 8) % len(KIND_WORDS)]


def product_name(product: int) -> str:
    """``<kind> <brand> модель <n>``; offers of the product add their characteristics."""
    return f"{product_kind(product)} {BRANDS[product_bits(product) % len(BRANDS)]} модель {product}"


def product_xml(product: int, spec: SynthSpec, ids: SeedIds, versions: bool) -> str:
    """One Товар; ``versions``: 2.09 (НомерВерсии, ПометкаУдаления) rather than 2.07 (Статус="Удален")."""
    bits = product_bits(product)
    kind, name = product_kind(product), product_name(product)
    product_guid = guid(ids.product, product)
    deleted = in_share(product, 11, spec.deleted_share)
    status = ' Статус="Удален"' if deleted and not versions else ""
    parts = [f"\t\t\t<Товар{status}>\n\t\t\t\t<Ид>{product_guid}</Ид>\n"]
    if versions:
        parts.append(
            f"\t\t\t\t<НомерВерсии>{version_stamp(product, 7)}</НомерВерсии>\n"
            f"\t\t\t\t<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
        )
    barcode = (
        f"\t\t\t\t<Штрихкод>{ean13(product + spec.seed * 7919)}</Штрихкод>\n"
        if bits % 5
        else "\t\t\t\t<Штрихкод/>\n"
    )
    article = f"Б- {product:06d}" if bits % 11 == 0 else f"{kind[:2].upper()}-{product:06d}"
    parts.append(
        f"{barcode}\t\t\t\t<Артикул>{article}</Артикул>\n\t\t\t\t<Наименование>{escape(name)}</Наименование>\n"
        '\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт'
        "</БазоваяЕдиница>\n"
    )
    group_count = spec.group_count
    if group_count:
        first_group = (bits >> 16) % group_count
        parts.append(f"\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{guid(ids.group, first_group)}</Ид>\n")
        if bits % 17 == 0 and group_count > 1:
            parts.append(f"\t\t\t\t\t<Ид>{guid(ids.group, (first_group + 1) % group_count)}</Ид>\n")
        parts.append("\t\t\t\t</Группы>\n")
    if bits % 3 == 0:
        parts.append(
            "\t\t\t\t<Описание>&lt;p&gt;Описание товара &lt;b&gt;"
            + escape(name)
            + "&lt;/b&gt;&lt;/p&gt;</Описание>\n"
        )
    else:
        parts.append("\t\t\t\t<Описание/>\n")
    if bits % 4:
        image = f"import_files/{product_guid[:2]}/{product_guid}_{guid(ids.image, product)}.jpg"
        parts.append(f"\t\t\t\t<Картинка>{image}</Картинка>\n")
    parts.append(_product_values_xml(product, ids))
    parts.append("\t\t\t</Товар>\n")
    return "".join(parts)


def _product_values_xml(product: int, ids: SeedIds) -> str:
    """ЗначенияСвойств (brand, material, weight, country, gift wrap), СтавкиНалогов and ЗначенияРеквизитов."""
    bits = product_bits(product)
    weight = f"{(bits >> 20) % 5000 / 1000:.3f}"
    country = COUNTRIES[(bits >> 24) % len(COUNTRIES)]
    gift = (
        f"\t\t\t\t\t\t<Значение>{ids.value_id(4, (bits >> 28) % 2)}</Значение>\n"
        if bits % 6
        else "\t\t\t\t\t\t<Значение/>\n"
    )
    return (
        "\t\t\t\t<ЗначенияСвойств>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{guid(ids.prop, 0)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{ids.value_id(0, bits % len(BRANDS))}</Значение>\n"
        "\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{guid(ids.prop, 1)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{ids.value_id(1, (bits >> 12) % len(MATERIALS))}</Значение>\n"
        "\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{guid(ids.prop, 2)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{weight}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{guid(ids.prop, 3)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{country}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{guid(ids.prop, 4)}</Ид>\n"
        f"{gift}\t\t\t\t\t</ЗначенияСвойства>\n"
        "\t\t\t\t</ЗначенияСвойств>\n"
        "\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС</Наименование>\n"
        f"\t\t\t\t\t\t<Ставка>{TAX_RATES[(bits >> 32) % len(TAX_RATES)]}</Ставка>\n"
        "\t\t\t\t\t</СтавкаНалога>\n\t\t\t\t</СтавкиНалогов>\n"
        "\t\t\t\t<ЗначенияРеквизитов>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n"
        f"\t\t\t\t\t\t<Значение>{product_kind(product)}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ТипНоменклатуры</Наименование>\n"
        "\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>Полное наименование</Наименование>\n"
        f"\t\t\t\t\t\t<Значение>{escape(product_name(product))}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t</ЗначенияРеквизитов>\n"
    )


def goods_xml(out: XmlWriter, spec: SynthSpec, ids: SeedIds, first: int, stop: int, versions: bool) -> None:
    """Каталог with the products ``first`` ≤ p < ``stop`` (open, Товары, close)."""
    open_catalog(out, spec, ids)
    out.add("\t\t<Товары>\n")
    for product in range(first, stop):
        out.add(product_xml(product, spec, ids, versions=versions))
        out.flush_every_chunk(product - first)
    out.add("\t\t</Товары>\n\t</Каталог>\n")


def write_goods(spec: SynthSpec, path: Path, when: datetime, first: int, stop: int) -> None:
    """A package's goods file (``import___``) with the products ``first`` ≤ p < ``stop``."""
    ids = SeedIds.for_seed(spec.seed)
    out = XmlWriter(path, spec)
    open_root(out, "2.09", when)
    goods_xml(out, spec, ids, first, stop, versions=True)
    out.add("</КоммерческаяИнформация>\n")
    out.close()
