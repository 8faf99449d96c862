"""Root-level Контрагенты/Контрагент -> Customer (a Документ's Контрагенты are order parties, not customers)."""

from __future__ import annotations

from typing import Any

from ..elements import MARK_ELEMENT, STATUS_ELEMENT, deleted_mark, element_text
from ..records import Customer, Entity, Record
from ..xmlsafe import LocalNames, free_element
from .context import ParseContext
from .handler import Batch, Handler

_TEXT_FIELDS = {
    "Ид": "id",
    "Наименование": "name",
    "ОфициальноеНаименование": "official_name",
    "ПолноеНаименование": "full_name",
    "ИНН": "inn",
    "КПП": "kpp",
    "ОКПО": "okpo",
    "КодПоОКПО": "okpo",
    "Роль": "role",
}
_PERSON_NAMES = frozenset({"Фамилия", "Имя", "Отчество"})
_EMAIL_TYPES = frozenset({"электронная почта", "email", "e-mail", "эл. почта", "электроннаяпочта"})
_ADDRESS_ELEMENTS = frozenset({"Адрес", "АдресРегистрации", "ЮридическийАдрес", "ФактическийАдрес"})


class CustomerHandler(Handler):
    """Контрагенты/Контрагент -> Customer (only the section's own items: a representative's nested
    Контрагент is part of its owner).

    ``kind``: "legal" when ОфициальноеНаименование, a non-empty КПП or a 10-digit ИНН is present; otherwise
    "individual" when ПолноеНаименование, Фамилия/Имя/Отчество or a 12-digit ИНН is present; otherwise None.
    E-mails come only from Контакт Тип "Электронная почта" (never "Почта", which is a postal address in 1C);
    phones from contacts whose Тип starts with "Телефон".
    """

    entities = frozenset({Entity.CUSTOMERS})

    def __init__(self, context: ParseContext) -> None:
        super().__init__(context)
        self.want = Entity.CUSTOMERS in context.wanted

    def end(self, element: Any) -> Batch | None:
        if not self.context.in_section(element):
            return None
        batch = (self.context.counted(self.customer(element)),) if self.want else None
        free_element(element)
        return batch

    def customer(self, element: Any) -> Record:
        """One Контрагент element as a Customer (a Reject without Ид); also a Документ's parties."""
        names = self.names
        texts: dict[str, str | None] = {}
        customer = Customer("", None, source=self.context.source(element))
        person = False
        mark = status = None
        for child in element:
            tag = names[child.tag]
            field = _TEXT_FIELDS.get(tag)
            if field is not None:
                texts[field] = element_text(child)
            elif tag in _PERSON_NAMES:
                person = person or element_text(child) is not None
            elif tag in _ADDRESS_ELEMENTS:
                customer.addresses.append(address(child, tag, names))
            elif tag == "Контакты":
                self._contacts(child, customer)
            elif tag == "Представители":
                customer.representatives.extend(representatives(child, names))
            elif tag == MARK_ELEMENT:
                mark = child
            elif tag == STATUS_ELEMENT:
                status = child
        customer_id = texts.get("id")
        if not customer_id:
            return self.context.reject(Entity.CUSTOMERS, None, "Контрагент without Ид", element)
        customer.id = customer_id
        customer.name = texts.get("name")
        official, full = texts.get("official_name"), texts.get("full_name")
        customer.official_name = official or full
        customer.inn, customer.kpp = texts.get("inn"), texts.get("kpp")
        customer.okpo, customer.role = texts.get("okpo"), texts.get("role")
        customer.kind = _kind(official, full, person, customer.inn, customer.kpp)
        customer.deleted = deleted_mark(element, mark, status)
        return customer

    def _contacts(self, box: Any, customer: Customer) -> None:
        """Контакты/Контакт{Тип, Значение, Комментарий}: every contact, and the e-mails and phones."""
        names = self.names
        for item in box:
            contact: dict[str, str | None] = {"type": None, "value": None, "comment": None}
            for part in item:
                tag = names[part.tag]
                if tag == "Тип":
                    contact["type"] = element_text(part)
                elif tag == "Значение":
                    contact["value"] = element_text(part)
                elif tag == "Комментарий":
                    contact["comment"] = element_text(part)
            customer.contacts.append(contact)
            value = contact["value"]
            if value is None:
                continue
            kind = (contact["type"] or "").lower()
            if kind in _EMAIL_TYPES:
                customer.emails.append(value)
            elif kind.startswith("телефон"):
                customer.phones.append(value)


def _kind(
    official: str | None, full: str | None, person: bool, inn: str | None, kpp: str | None
) -> str | None:
    inn_digits = inn if inn and inn.isdigit() else ""
    if official or kpp or len(inn_digits) == 10:
        return "legal"
    if full or person or len(inn_digits) == 12:
        return "individual"
    return None


def representatives(box: Any, names: LocalNames) -> list[dict]:
    """Представители/Представитель: UT 11 ``{Отношение, Ид, Наименование}`` or Bitrix's
    ``Контрагент{Отношение, Ид, Наименование}`` -> ``{"relation", "id", "name"}`` (nameless and id-less skipped)."""
    out = []
    for item in box:
        representative: dict[str, str | None] = {"relation": None, "id": None, "name": None}
        holders = [item]
        holders.extend(part for part in item if names[part.tag] == "Контрагент")
        for holder in holders:
            for part in holder:
                tag = names[part.tag]
                if tag == "Отношение":
                    representative["relation"] = element_text(part)
                elif tag == "Ид":
                    representative["id"] = element_text(part)
                elif tag == "Наименование":
                    representative["name"] = element_text(part)
        if representative["id"] or representative["name"]:
            out.append(representative)
    return out


def address(element: Any, kind: str, names: LocalNames) -> dict:
    """Адрес | АдресРегистрации | ЮридическийАдрес | ФактическийАдрес -> ``{"type", "presentation",
    "fields": {Тип: Значение}}`` (a plain-text address is its own presentation)."""
    presentation = None
    fields: dict[str, str] = {}
    for child in element:
        tag = names[child.tag]
        if tag == "Представление":
            presentation = element_text(child)
        elif tag == "АдресноеПоле":
            field_type = field_value = None
            for part in child:
                part_tag = names[part.tag]
                if part_tag == "Тип":
                    field_type = element_text(part)
                elif part_tag == "Значение":
                    field_value = element_text(part)
            if field_type:
                fields[field_type] = field_value or ""
    if presentation is None and not len(element):
        presentation = element_text(element)
    return {"type": kind, "presentation": presentation, "fields": fields}
