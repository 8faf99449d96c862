"""CommerceML ``Контрагенты`` writer: customers from the site back to 1C.

Streams with :class:`lxml.etree.xmlfile`: the root and the ``Контрагенты`` section are opened once and each
``Контрагент`` is built as a small element and written immediately, so memory does not grow with the number
of customers. Output is UTF-8 with an XML declaration, namespace ``urn:1C.ru:commerceml_2``, schema
version 2.09 (the shape of UT 11's customers file, see FORMAT.md §8), and reads back through
:func:`onec_pipeline.commerceml.read_upload` as the same :class:`~onec_pipeline.commerceml.records.Customer`.

The file is written to ``<name>.part`` next to the target and renamed into place, so a reader (or 1C
polling the outbox) never sees a half-written file.

What survives the round trip: the kind is carried by ``ОфициальноеНаименование`` (legal) or
``ПолноеНаименование`` (individual), as the reader tells it; a customer of unknown kind with an official
name therefore reads back as legal. An address whose ``type`` is not one of :data:`ADDRESS_ELEMENTS` is
written as ``Адрес``. E-mails and phones that no contact holds are written as ``Электронная почта`` /
``Телефон рабочий`` contacts. Characters XML 1.0 cannot hold are dropped.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from .records import Customer

NAMESPACE = "urn:1C.ru:commerceml_2"
SCHEMA_VERSION = "2.09"
EMAIL_CONTACT_TYPE = "Электронная почта"
PHONE_CONTACT_TYPE = "Телефон рабочий"
ADDRESS_ELEMENTS = ("Адрес", "АдресРегистрации", "ЮридическийАдрес", "ФактическийАдрес")
KIND_LEGAL = "legal"
KIND_INDIVIDUAL = "individual"


# characters XML 1.0 cannot carry at all (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as text XML can hold: characters XML 1.0 forbids are dropped (a stray control character
    typed into a site form must not make the whole export fail)."""
    return _NOT_XML.sub("", str(value))


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _q(name))
    if text is not None:
        el.text = xml_text(text)
    return el


def _address_element(parent: etree._Element, address: dict) -> None:
    kind = address.get("type") or "Адрес"
    name = kind if kind in ADDRESS_ELEMENTS else "Адрес"
    el = _sub(parent, name)
    _sub(el, "Представление", address.get("presentation") or "")
    for field_type, value in (address.get("fields") or {}).items():
        field = _sub(el, "АдресноеПоле")
        _sub(field, "Тип", field_type)
        _sub(field, "Значение", value)


def _contacts(customer: Customer) -> list[dict]:
    """Every contact to write: the record's contacts, plus e-mails/phones they don't already hold."""
    contacts = [dict(c) for c in customer.contacts]
    present = {(c.get("value") or "").strip().lower() for c in contacts}
    for email in customer.emails:
        if email and email.strip().lower() not in present:
            contacts.append({"type": EMAIL_CONTACT_TYPE, "value": email, "comment": None})
            present.add(email.strip().lower())
    for phone in customer.phones:
        if phone and phone.strip().lower() not in present:
            contacts.append({"type": PHONE_CONTACT_TYPE, "value": phone, "comment": None})
            present.add(phone.strip().lower())
    return contacts


def customer_element(customer: Customer) -> etree._Element:
    """One ``Контрагент`` element (kept small: it is written and dropped right away)."""
    el = etree.Element(_q("Контрагент"), nsmap={None: NAMESPACE})
    _sub(el, "Ид", customer.id)
    _sub(el, "ПометкаУдаления", "true" if customer.deleted else "false")
    _sub(el, "Наименование", customer.name or "")
    if customer.kind == KIND_INDIVIDUAL:
        _sub(el, "ПолноеНаименование", customer.official_name or customer.name or "")
    elif customer.official_name is not None or customer.kind == KIND_LEGAL:
        _sub(el, "ОфициальноеНаименование", customer.official_name or customer.name or "")
    if customer.role:
        _sub(el, "Роль", customer.role)
    if customer.inn:
        _sub(el, "ИНН", customer.inn)
    if customer.kpp:
        _sub(el, "КПП", customer.kpp)
    if customer.okpo:
        _sub(el, "КодПоОКПО", customer.okpo)
    for address in customer.addresses:
        _address_element(el, address)
    _contacts_element(el, _contacts(customer))
    _representatives_element(el, customer.representatives)
    return el


def _contacts_element(parent: etree._Element, contacts: list[dict]) -> None:
    if not contacts:
        return
    box = _sub(parent, "Контакты")
    for contact in contacts:
        item = _sub(box, "Контакт")
        _sub(item, "Тип", contact.get("type") or "")
        _sub(item, "Значение", contact.get("value") or "")
        if contact.get("comment"):
            _sub(item, "Комментарий", contact["comment"])


def _representatives_element(parent: etree._Element, representatives: list[dict]) -> None:
    if not representatives:
        return
    box = _sub(parent, "Представители")
    for representative in representatives:
        item = _sub(box, "Представитель")
        for key, name in (("relation", "Отношение"), ("id", "Ид"), ("name", "Наименование")):
            if representative.get(key):
                _sub(item, name, representative[key])


def write_customers(
    path: str | os.PathLike[str],
    customers: Iterable[Customer],
    *,
    generated_at: datetime | None = None,
    only_changes: bool = True,
) -> int:
    """Write ``customers`` to a CommerceML ``Контрагенты`` file at ``path``; return how many were written.

    ``generated_at`` becomes ``ДатаФормирования`` (local time without offset, as 1C writes it; default: now).
    ``only_changes`` is the section's ``СодержитТолькоИзменения`` (True: the file is not a full directory).
    The file appears atomically (written to ``<path>.part``, then renamed).
    """
    stamp = (generated_at or datetime.now()).replace(microsecond=0)
    if stamp.tzinfo is not None:
        stamp = stamp.replace(tzinfo=None)
    count = 0
    with atomic_file(path) as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        with etree.xmlfile(fh, encoding="utf-8") as xf:
            root_attrs = {"ВерсияСхемы": SCHEMA_VERSION, "ДатаФормирования": stamp.isoformat()}
            with xf.element(_q("КоммерческаяИнформация"), root_attrs, nsmap={None: NAMESPACE}):
                xf.write("\n\t")
                section_attrs = {"СодержитТолькоИзменения": "true" if only_changes else "false"}
                with xf.element(_q("Контрагенты"), section_attrs):
                    for customer in customers:
                        element = customer_element(customer)
                        etree.indent(element, space="\t", level=2)
                        xf.write("\n\t\t", element)
                        count += 1
                    xf.write("\n\t")
                xf.write("\n")
        fh.write(b"\n")
    return count


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file written as ``<path>.part``, flushed to disk and renamed to ``path`` when the block ends
    (a reader, or 1C polling the outbox, never sees half a file); removed again when the block fails."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with open(partial, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
