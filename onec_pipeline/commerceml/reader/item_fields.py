"""Children that Товар and Предложение share: property values, characteristics, the base unit."""

from __future__ import annotations

from typing import Any

from ..elements import element_text
from ..records import PropertyValue, Unit
from ..xmlsafe import LocalNames
from .context import PropertyInfo


def property_values(box: Any, names: LocalNames, properties: dict[str, PropertyInfo]) -> list[PropertyValue]:
    """ЗначенияСвойств/ЗначенияСвойства{Ид, Значение*|ИдЗначения*} -> PropertyValue list: Справочник ids
    resolved through ``properties``, empty values skipped, several values of one property kept in order.
    (Texts are stripped inline, not through element_text: this runs for every value of every offer.)"""
    out: list[PropertyValue] = []
    for item in box:
        property_id = None
        values: list[str] = []
        for part in item:
            tag = names[part.tag]
            if tag == "Ид":
                property_id = (part.text or "").strip()
            elif tag == "Значение" or tag == "ИдЗначения":
                value = (part.text or "").strip()
                if value:
                    values.append(value)
        if not property_id or not values:
            continue
        info = properties.get(property_id)
        if info is None:
            out.extend(PropertyValue(property_id, value) for value in values)
            continue
        for value in values:
            resolved = info.values.get(value)
            if resolved is not None:
                out.append(PropertyValue(property_id, resolved, value, info.name))
            elif info.value_type == "Справочник":  # a dictionary value not in this upload: keep its id
                out.append(PropertyValue(property_id, None, value, info.name))
            else:
                out.append(PropertyValue(property_id, value, None, info.name))
    return out


def characteristics(box: Any, names: LocalNames) -> list[tuple[str, str]]:
    """ХарактеристикиТовара/ХарактеристикаТовара{Наименование, Значение} -> (name, value) pairs (texts
    stripped inline, as in property_values)."""
    out = []
    for item in box:
        name = value = ""
        for part in item:
            tag = names[part.tag]
            if tag == "Наименование":
                name = (part.text or "").strip()
            elif tag == "Значение":
                value = (part.text or "").strip()
        if name or value:
            out.append((name, value))
    return out


def base_unit(element: Any, names: LocalNames, units: dict[str, Unit]) -> tuple[str | None, str | None]:
    """БазоваяЕдиница in its shapes -> (unit as given, OKEI code): text with ``@Код``, ``@НаименованиеКраткое``,
    a ``Пересчет/Единица`` child, or (3.1) the text is the Ид of a Классификатор/ЕдиницыИзмерения unit."""
    unit = element_text(element)
    code = element.get("Код")
    code = code.strip() or None if code is not None else None
    if unit is None:
        unit = (element.get("НаименованиеКраткое") or "").strip() or None
    if unit is None and code is None:
        unit = _recalculation_unit(element, names)
    if code is None and unit is not None:
        known = units.get(unit)
        if known is not None:
            code = known.code
            unit = known.name or unit
    return unit, code


def _recalculation_unit(element: Any, names: LocalNames) -> str | None:
    """The Единица of a БазоваяЕдиница's Пересчет (of the last one, when there are several)."""
    unit = None
    for child in element:
        if names[child.tag] == "Пересчет":
            for part in child:
                if names[part.tag] == "Единица":
                    unit = element_text(part)
                    break
    return unit
