"""The classifier: groups (a nested tree), properties, price types, warehouses and units; the package's
classifier file (``import___``) and its offer classifier (``offers___`` with the variant axes)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .document import XmlWriter, catalog_name, only_changes, open_catalog, open_root, package_head
from .spec import SynthSpec
from .values import SeedIds, escape, guid, in_share, inn10, version_stamp
from .words import (
    CITIES,
    GROUP_WORDS,
    OFFER_PROPERTIES,
    PRICE_TYPE_NAMES,
    PRODUCT_PROPERTIES,
    STREETS,
    UNITS,
    WAREHOUSE_NAMES,
    PropertyDef,
)


def numbered(names: list[str], index: int) -> str:
    """The ``index``-th name of a word list, with the index appended once the list is used up."""
    return names[index % len(names)] + ("" if index < len(names) else f" {index}")


def open_classifier(out: XmlWriter, spec: SynthSpec, ids: SeedIds, attr: bool = True) -> None:
    """The opening Классификатор with its id, name and owner."""
    changes = f' СодержитТолькоИзменения="{only_changes(spec)}"' if attr else ""
    out.add(
        f"\t<Классификатор{changes}>\n\t\t<Ид>{guid(ids.catalog, 0)}</Ид>\n"
        f"\t\t<Наименование>{catalog_name(spec)}</Наименование>\n"
        f"\t\t<Владелец>\n\t\t\t<Ид>{guid(ids.customer, 10**9)}</Ид>\n"
        "\t\t\t<Наименование>Стройснаб</Наименование>\n"
        f"\t\t\t<ИНН>{inn10(spec.seed)}</ИНН>\n\t\t\t<КПП>772301001</КПП>\n\t\t</Владелец>\n"
    )


def groups_xml(out: XmlWriter, spec: SynthSpec, ids: SeedIds) -> None:
    """Nested groups: 3 roots, then group j hangs under group (j - 3) // 4 (a 4-ary tree)."""
    total = spec.group_count
    if total == 0:
        return
    children: dict[int, list[int]] = {}
    for group in range(3, total):
        children.setdefault((group - 3) // 4, []).append(group)

    def emit(group: int, depth: int) -> None:
        indent = "\t" * depth
        deleted = "true" if in_share(group, 5, spec.deleted_share) else "false"
        out.add(
            f"{indent}<Группа>\n{indent}\t<Ид>{guid(ids.group, group)}</Ид>\n"
            f"{indent}\t<НомерВерсии>{version_stamp(group, 1)}</НомерВерсии>\n"
            f"{indent}\t<ПометкаУдаления>{deleted}</ПометкаУдаления>\n"
            f"{indent}\t<Наименование>{escape(numbered(GROUP_WORDS, group))}</Наименование>\n"
        )
        subgroups = children.get(group)
        if subgroups:
            out.add(f"{indent}\t<Группы>\n")
            for subgroup in subgroups:
                emit(subgroup, depth + 2)
            out.add(f"{indent}\t</Группы>\n")
        out.add(f"{indent}</Группа>\n")

    # recursion depth is log4(n) (≤ 8 for 2000 groups)
    out.add("\t\t<Группы>\n")
    for root in range(min(3, total)):
        emit(root, 3)
    out.add("\t\t</Группы>\n")


def properties_xml(
    out: XmlWriter, ids: SeedIds, properties: list[PropertyDef], for_offers: bool, with_versions: bool
) -> None:
    out.add("\t\t<Свойства>\n")
    for index, name, value_type, values in properties:
        out.add(f"\t\t\t<Свойство>\n\t\t\t\t<Ид>{guid(ids.prop, index)}</Ид>\n")
        if with_versions:
            out.add(
                f"\t\t\t\t<НомерВерсии>{version_stamp(index, 2)}</НомерВерсии>\n"
                "\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            )
        out.add(
            f"\t\t\t\t<Наименование>{name}</Наименование>\n\t\t\t\t<Внешний>false</Внешний>\n"
            f"\t\t\t\t<ТипЗначений>{value_type}</ТипЗначений>\n"
        )
        if values:
            out.add("\t\t\t\t<ВариантыЗначений>\n")
            for position, value in enumerate(values):
                out.add(
                    f"\t\t\t\t\t<Справочник>\n\t\t\t\t\t\t<ИдЗначения>{ids.value_id(index, position)}</ИдЗначения>\n"
                    f"\t\t\t\t\t\t<Значение>{value}</Значение>\n\t\t\t\t\t</Справочник>\n"
                )
            out.add("\t\t\t\t</ВариантыЗначений>\n")
        out.add(
            f"\t\t\t\t<ДляТоваров>{'false' if for_offers else 'true'}</ДляТоваров>\n"
            f"\t\t\t\t<ДляПредложений>{'true' if for_offers else 'false'}</ДляПредложений>\n"
            "\t\t\t</Свойство>\n"
        )
    out.add("\t\t</Свойства>\n")


def _versions_xml(indent: str, index: int, salt: int) -> str:
    return (
        f"{indent}<НомерВерсии>{version_stamp(index, salt)}</НомерВерсии>\n"
        f"{indent}<ПометкаУдаления>false</ПометкаУдаления>\n"
    )


def price_types_xml(out: XmlWriter, spec: SynthSpec, ids: SeedIds, indent: str, with_versions: bool) -> None:
    if not spec.price_types:
        return
    out.add(f"{indent}<ТипыЦен>\n")
    for price_type in range(spec.price_types):
        name = numbered(PRICE_TYPE_NAMES, price_type)
        out.add(f"{indent}\t<ТипЦены>\n{indent}\t\t<Ид>{guid(ids.price_type, price_type)}</Ид>\n")
        if with_versions:
            out.add(_versions_xml(f"{indent}\t\t", price_type, 3))
        out.add(
            f"{indent}\t\t<Наименование>{escape(name)}</Наименование>\n{indent}\t\t<Валюта>RUB</Валюта>\n"
            f"{indent}\t\t<Налог>\n{indent}\t\t\t<Наименование>НДС</Наименование>\n"
            f"{indent}\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n{indent}\t\t</Налог>\n{indent}\t</ТипЦены>\n"
        )
    out.add(f"{indent}</ТипыЦен>\n")


def warehouses_xml(out: XmlWriter, spec: SynthSpec, ids: SeedIds, indent: str, with_versions: bool) -> None:
    if not spec.warehouses:
        return
    out.add(f"{indent}<Склады>\n")
    for warehouse in range(spec.warehouses):
        name = numbered(WAREHOUSE_NAMES, warehouse)
        city = CITIES[warehouse % len(CITIES)]
        street = STREETS[warehouse % len(STREETS)]
        out.add(f"{indent}\t<Склад>\n{indent}\t\t<Ид>{guid(ids.warehouse, warehouse)}</Ид>\n")
        if with_versions:
            out.add(_versions_xml(f"{indent}\t\t", warehouse, 4))
        out.add(
            f"{indent}\t\t<Наименование>{escape(name)}</Наименование>\n"
            f"{indent}\t\t<Адрес>\n{indent}\t\t\t<Представление>РОССИЯ, {city}, {street}, "
            f"{warehouse + 1}</Представление>\n"
            f"{indent}\t\t\t<АдресноеПоле>\n{indent}\t\t\t\t<Тип>Город</Тип>\n"
            f"{indent}\t\t\t\t<Значение>{city}</Значение>\n"
            f"{indent}\t\t\t</АдресноеПоле>\n{indent}\t\t</Адрес>\n{indent}\t</Склад>\n"
        )
    out.add(f"{indent}</Склады>\n")


def units_xml(out: XmlWriter, ids: SeedIds) -> None:
    out.add("\t\t<ЕдиницыИзмерения>\n")
    for index, (short, code, full, international) in enumerate(UNITS):
        international_xml = (
            f"<МеждународноеСокращение>{international}</МеждународноеСокращение>"
            if international
            else "<МеждународноеСокращение/>"
        )
        out.add(
            f"\t\t\t<ЕдиницаИзмерения>\n\t\t\t\t<Ид>{guid(ids.unit, index)}</Ид>\n"
            f"\t\t\t\t<НомерВерсии>{version_stamp(index, 6)}</НомерВерсии>\n"
            "\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            f"\t\t\t\t<НаименованиеКраткое>{short}</НаименованиеКраткое>\n\t\t\t\t<Код>{code}</Код>\n"
            f"\t\t\t\t<НаименованиеПолное>{full}</НаименованиеПолное>\n\t\t\t\t{international_xml}\n"
            "\t\t\t</ЕдиницаИзмерения>\n"
        )
    out.add("\t\t</ЕдиницыИзмерения>\n")


def write_classifier(spec: SynthSpec, path: Path, when: datetime) -> None:
    """The package's ``import___`` classifier file (and an empty Каталог, as УТ 11 writes it)."""
    ids = SeedIds.for_seed(spec.seed)
    out = XmlWriter(path, spec)
    open_root(out, "2.09", when)
    open_classifier(out, spec, ids)
    groups_xml(out, spec, ids)
    properties_xml(out, ids, PRODUCT_PROPERTIES, for_offers=False, with_versions=True)
    price_types_xml(out, spec, ids, "\t\t", with_versions=True)
    warehouses_xml(out, spec, ids, "\t\t", with_versions=True)
    units_xml(out, ids)
    out.add("\t</Классификатор>\n")
    open_catalog(out, spec, ids)
    out.add("\t</Каталог>\n</КоммерческаяИнформация>\n")
    out.close()


def write_offer_classifier(spec: SynthSpec, path: Path, when: datetime) -> None:
    """The package's offer classifier: an empty ПакетПредложений, then the properties of the variant axes."""
    ids = SeedIds.for_seed(spec.seed)
    out = XmlWriter(path, spec)
    open_root(out, "2.09", when)
    package_head(out, spec, ids, close=True)
    out.add(
        f'\t<Классификатор СодержитТолькоИзменения="{only_changes(spec)}">\n\t\t<Ид>{guid(ids.catalog, 0)}</Ид>\n'
        f"\t\t<Наименование>{catalog_name(spec)}</Наименование>\n"
    )
    properties_xml(out, ids, OFFER_PROPERTIES, for_offers=True, with_versions=True)
    out.add("\t</Классификатор>\n</КоммерческаяИнформация>\n")
    out.close()
