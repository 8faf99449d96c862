"""Каталог/Товары/Товар -> Product: one small reader per child element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..elements import MARK_ELEMENT, STATUS_ELEMENT, deleted_mark, element_text
from ..records import Entity, Product, Record
from ..xmlsafe import free_element
from .context import ParseContext
from .handler import Batch, Handler
from .item_fields import base_unit, characteristics, property_values

# children whose stripped text is one Product field
_TEXT_FIELDS = {
    "Ид": "id",
    "Наименование": "name",
    "Артикул": "article",
    "Код": "code",
    "Описание": "description",
    "Категория": "category_id",
}
# non-standard extras kept as requisites unless ЗначенияРеквизитов already names them
_EXTRA_REQUISITES = frozenset({"Вес", "Страна", "ПолноеНаименование", "ТорговаяМарка"})


class ProductHandler(Handler):
    """Каталог/Товары/Товар -> Product (a Товар elsewhere, e.g. a Документ's lines, is not a product)."""

    entities = frozenset({Entity.GOODS})

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = Entity.GOODS in context.wanted

    def end(self, element: Any) -> Batch | None:
        if self.names[element.getparent().tag] != "Товары":
            return None
        batch = (self.context.counted(self._product(element)),) if self.want else None
        free_element(element)
        return batch

    def _product(self, element: Any) -> Record:
        names = self.names
        product = Product("", None, source=self.context.source(element))
        mark = status = None
        for child in element:
            tag = names[child.tag]
            field = _TEXT_FIELDS.get(tag)
            if field is not None:
                setattr(product, field, element_text(child))
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
            else:
                read = _CHILD_READERS.get(tag)
                if read is not None:
                    read(self, product, child)
                elif tag in _EXTRA_REQUISITES:
                    text = element_text(child)
                    if text is not None:
                        product.requisites.setdefault(tag, text)
        if not product.id:
            return self.context.reject(Entity.GOODS, None, "Товар without Ид", element)
        product.deleted = deleted_mark(element, mark, status)
        return product

    # one reader per child element that is more than a text field

    def _barcode(self, product: Product, child: Any) -> None:  # Штрихкод (2.03: ШтрихКод), repeatable
        text = element_text(child)
        if text and text not in product.barcodes:
            product.barcodes.append(text)

    def _groups(self, product: Product, child: Any) -> None:  # Группы/Ид*
        for group in child:
            text = element_text(group)
            if text:
                product.group_ids.append(text)

    def _unit(self, product: Product, child: Any) -> None:  # БазоваяЕдиница
        product.unit, product.unit_code = base_unit(child, self.names, self.context.lookups.units)

    def _image(self, product: Product, child: Any) -> None:  # Картинка, repeatable, may be empty
        text = element_text(child)
        if text:
            product.images.append(text)

    def _manufacturer(self, product: Product, child: Any) -> None:  # Изготовитель: a Контрагент shape
        fields = {}
        for part in child:
            text = element_text(part)
            if text is not None:
                fields[self.names[part.tag]] = text
        product.manufacturer = fields or None

    def _properties(self, product: Product, child: Any) -> None:  # ЗначенияСвойств
        product.properties = property_values(child, self.names, self.context.lookups.properties)

    def _requisites(self, product: Product, child: Any) -> None:  # ЗначенияРеквизитов/ЗначениеРеквизита
        names = self.names
        for item in child:
            name = value = None
            for part in item:
                tag = names[part.tag]
                if tag == "Наименование":
                    name = element_text(part)
                elif tag == "Значение":  # several values are joined
                    text = element_text(part)
                    value = text if value is None else (f"{value}; {text}" if text else value)
            if name:
                product.requisites[name] = value or ""

    def _tax_rates(self, product: Product, child: Any) -> None:  # СтавкиНалогов/СтавкаНалога
        names = self.names
        for item in child:
            name = rate = None
            for part in item:
                tag = names[part.tag]
                if tag == "Наименование":
                    name = element_text(part)
                elif tag == "Ставка":
                    rate = element_text(part)
            if name:
                product.tax_rates[name] = rate or ""

    def _characteristics(self, product: Product, child: Any) -> None:  # ХарактеристикиТовара (2.03/2.04)
        product.characteristics = characteristics(child, self.names)


_CHILD_READERS: dict[str, Callable[[ProductHandler, Product, Any], None]] = {
    "Штрихкод": ProductHandler._barcode,
    "ШтрихКод": ProductHandler._barcode,
    "Группы": ProductHandler._groups,
    "БазоваяЕдиница": ProductHandler._unit,
    "Картинка": ProductHandler._image,
    "Изготовитель": ProductHandler._manufacturer,
    "ЗначенияСвойств": ProductHandler._properties,
    "ЗначенияРеквизитов": ProductHandler._requisites,
    "СтавкиНалогов": ProductHandler._tax_rates,
    "ХарактеристикиТовара": ProductHandler._characteristics,
}
