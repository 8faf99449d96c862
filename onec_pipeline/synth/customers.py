"""Customers: one Контрагент each (two in three a company with INN/KPP/OKPO and a contact person, the rest
people with a 12-digit INN), with an address, contacts, and the ``contragents___`` file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .document import XmlWriter, only_changes, open_root
from .spec import SynthSpec
from .values import SeedIds, guid, in_share, inn10, inn12, mix64, version_stamp
from .words import CITIES, COMPANIES, FIRST_NAMES, LAST_NAMES, LEGAL_FORMS, MIDDLE_NAMES, STREETS


def _company_xml(customer: int, spec: SynthSpec, bits: int) -> tuple[str, str]:
    """(names, INN, KPP and OKPO of a company; its e-mail)."""
    form, form_full = LEGAL_FORMS[customer % 2]
    company = COMPANIES[(bits >> 16) % len(COMPANIES)]
    inn = inn10(customer * 7 + spec.seed)
    xml = (
        f'\t\t\t<Наименование>{form} "{company} {customer}"</Наименование>\n'
        f'\t\t\t<ОфициальноеНаименование>{form_full} "{company} {customer}"</ОфициальноеНаименование>\n'
        "\t\t\t<Роль>Покупатель</Роль>\n"
        f"\t\t\t<ИНН>{inn}</ИНН>\n\t\t\t<КПП>{inn[:4]}01001</КПП>\n"
        f"\t\t\t<КодПоОКПО>{(bits >> 20) % 10**8:08d}</КодПоОКПО>\n"
    )
    email = f"info{customer}@{company.lower().replace(' ', '-')}.example.ru".encode(
        "ascii", "ignore"
    ).decode()
    if email.startswith("info") and "@." in email:
        email = f"info{customer}@company{customer}.example.ru"
    return xml, email


def _person_xml(customer: int, spec: SynthSpec, bits: int) -> tuple[str, str]:
    """(name parts and INN of a person; their e-mail)."""
    last = LAST_NAMES[bits % len(LAST_NAMES)]
    first = FIRST_NAMES[(bits >> 3) % len(FIRST_NAMES)]
    middle = MIDDLE_NAMES[(bits >> 6) % len(MIDDLE_NAMES)]
    inn = inn12(customer * 13 + spec.seed)
    inn_xml = f"\t\t\t<ИНН>{inn}</ИНН>\n" if bits % 2 else "\t\t\t<ИНН/>\n"
    xml = (
        f"\t\t\t<Наименование>{last} {first} {middle}</Наименование>\n"
        f"\t\t\t<ПолноеНаименование>{last} {first} {middle}</ПолноеНаименование>\n"
        f"\t\t\t<Фамилия>{last}</Фамилия>\n\t\t\t<Имя>{first}</Имя>\n\t\t\t<Отчество>{middle}</Отчество>\n"
        f"\t\t\t<Роль>Покупатель</Роль>\n{inn_xml}\t\t\t<КПП/>\n"
    )
    return xml, f"client{customer}@mail.example.ru"


def _address_field(kind: str, value: object) -> str:
    return f"\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>{kind}</Тип>\n\t\t\t\t\t<Значение>{value}</Значение>\n\t\t\t\t</АдресноеПоле>\n"


def _contact(kind: str, value: str) -> str:
    return f"\t\t\t\t<Контакт>\n\t\t\t\t\t<Тип>{kind}</Тип>\n\t\t\t\t\t<Значение>{value}</Значение>\n\t\t\t\t</Контакт>\n"


def customer_xml(customer: int, spec: SynthSpec, ids: SeedIds) -> str:
    bits = mix64(customer * 101 + 17)
    city = CITIES[bits % len(CITIES)]
    street = STREETS[(bits >> 4) % len(STREETS)]
    house = (bits >> 8) % 150 + 1
    zipcode = f"{100000 + (bits >> 12) % 800000:06d}"
    deleted = in_share(customer, 19, spec.deleted_share)
    legal = customer % 3 != 2
    parts = [
        f"\t\t<Контрагент>\n\t\t\t<Ид>{guid(ids.customer, customer)}</Ид>\n"
        f"\t\t\t<НомерВерсии>{version_stamp(customer, 9)}</НомерВерсии>\n"
        f"\t\t\t<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
    ]
    names, email = (_company_xml if legal else _person_xml)(customer, spec, bits)
    address_tag = "ЮридическийАдрес" if legal else "АдресРегистрации"
    phone = (
        f"+7 ({900 + bits % 99}) {(bits >> 10) % 900 + 100}-{(bits >> 20) % 90 + 10}-{(bits >> 27) % 90 + 10}"
    )
    parts += [
        names,
        f"\t\t\t<{address_tag}>\n"
        f"\t\t\t\t<Представление>{zipcode}, {city}, ул. {street}, дом № {house}</Представление>\n",
        _address_field("Почтовый индекс", zipcode),
        _address_field("Страна", "РОССИЯ"),
        _address_field("Город", city),
        _address_field("Улица", street),
        _address_field("Дом", house),
        f"\t\t\t</{address_tag}>\n\t\t\t<Контакты>\n",
        _contact("Электронная почта", email),
        _contact("Телефон рабочий" if legal else "Телефон мобильный", phone),
    ]
    if customer % 4 == 0:  # "Почта" is a postal address, not an e-mail
        parts.append(_contact("Почта", f"{city}, {street}, д.{house}"))
    parts.append("\t\t\t</Контакты>\n")
    if legal:
        parts.append(
            "\t\t\t<Представители>\n\t\t\t\t<Представитель>\n\t\t\t\t\t<Отношение>Контактное лицо</Отношение>\n"
            f"\t\t\t\t\t<Ид>{guid(ids.person, customer)}</Ид>\n"
            f"\t\t\t\t\t<Наименование>{LAST_NAMES[(bits >> 5) % len(LAST_NAMES)]} "
            f"{FIRST_NAMES[(bits >> 9) % len(FIRST_NAMES)]}"
            "</Наименование>\n\t\t\t\t</Представитель>\n\t\t\t</Представители>\n"
        )
    parts.append("\t\t</Контрагент>\n")
    return "".join(parts)


def write_customers(spec: SynthSpec, path: Path, when: datetime) -> None:
    """The ``contragents___`` file: root-level Контрагенты."""
    ids = SeedIds.for_seed(spec.seed)
    out = XmlWriter(path, spec)
    open_root(out, "2.09", when)
    out.add(f'\t<Контрагенты СодержитТолькоИзменения="{only_changes(spec)}">\n')
    for customer in range(spec.customers):
        out.add(customer_xml(customer, spec, ids))
        out.flush_every_chunk(customer)
    out.add("\t</Контрагенты>\n</КоммерческаяИнформация>\n")
    out.close()
