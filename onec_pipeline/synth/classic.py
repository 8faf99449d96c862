"""The classic layout (CommerceML 2.07): ``import.xml`` (classifier and goods) and ``offers.xml`` (price
types and warehouses inside the ПакетПредложений; prices, ``Количество`` and
``<Склад ИдСклада КоличествоНаСкладе/>`` inline in every offer)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .classifier import groups_xml, open_classifier, price_types_xml, properties_xml, warehouses_xml
from .document import XmlWriter, catalog_name, open_root, package_head
from .goods import goods_xml
from .offers import offer_body_xml, prices_xml
from .spec import SynthSpec
from .values import SeedIds, format_thousandths, guid, rest_quantity, thousandths
from .words import PRODUCT_PROPERTIES


def write_classic_import(spec: SynthSpec, path: Path, when: datetime) -> None:
    """``import.xml``: the classifier (groups, properties) and the goods, as the sections ask."""
    ids = SeedIds.for_seed(spec.seed)
    out = XmlWriter(path, spec)
    open_root(out, "2.07", when)
    if spec.has("classifier"):
        open_classifier(out, spec, ids, attr=False)
        groups_xml(out, spec, ids)
        properties_xml(out, ids, PRODUCT_PROPERTIES, for_offers=False, with_versions=False)
        out.add("\t</Классификатор>\n")
    if spec.has("goods"):
        goods_xml(out, spec, ids, 0, spec.goods_count, versions=False)
    out.add("</КоммерческаяИнформация>\n")
    out.close()


def _inline_rests_xml(offer: int, spec: SynthSpec, indent: str, warehouse_guids: list[str]) -> str:
    """Количество (the total) and one ``<Склад ИдСклада КоличествоНаСкладе/>`` per warehouse."""
    quantities = [rest_quantity(offer, warehouse, spec) for warehouse in range(spec.warehouses)]
    total = sum(thousandths(quantity) for quantity in quantities)
    parts = [f"{indent}<Количество>{format_thousandths(total)}</Количество>\n"]
    for warehouse_guid, quantity in zip(warehouse_guids, quantities, strict=True):
        parts.append(f'{indent}<Склад ИдСклада="{warehouse_guid}" КоличествоНаСкладе="{quantity}"/>\n')
    return "".join(parts)


def write_classic_offers(spec: SynthSpec, path: Path, when: datetime) -> None:
    """``offers.xml``: every offer with its definition, prices and rests, as the sections ask."""
    ids = SeedIds.for_seed(spec.seed)
    price_type_guids = [guid(ids.price_type, price_type) for price_type in range(spec.price_types)]
    warehouse_guids = [guid(ids.warehouse, warehouse) for warehouse in range(spec.warehouses)]
    with_offers, with_prices, with_rests = spec.has("offers"), spec.has("prices"), spec.has("rests")
    out = XmlWriter(path, spec)
    open_root(out, "2.07", when)
    out.add(  # the stub classifier УТ 11 puts first
        f"\t<Классификатор>\n\t\t<Ид>{guid(ids.catalog, 0)}</Ид>\n"
        f"\t\t<Наименование>{catalog_name(spec)}</Наименование>\n\t</Классификатор>\n"
    )
    package_head(out, spec, ids)
    if with_prices:
        price_types_xml(out, spec, ids, "\t\t", with_versions=False)
    if with_rests:
        warehouses_xml(out, spec, ids, "\t\t", with_versions=False)
    out.add("\t\t<Предложения>\n")
    indent = "\t\t\t\t"
    for offer in range(spec.offers):
        out.add("\t\t\t<Предложение>\n")
        if with_offers:
            out.add(offer_body_xml(offer, spec, ids, indent, versions=False))
        else:
            out.add(f"{indent}<Ид>{ids.offer_id(offer, spec.goods_count)}</Ид>\n")
        if with_prices:
            out.add(prices_xml(offer, spec, indent, price_type_guids))
        if with_rests:
            out.add(_inline_rests_xml(offer, spec, indent, warehouse_guids))
        out.add("\t\t\t</Предложение>\n")
        out.flush_every_chunk(offer)
    out.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    out.close()
