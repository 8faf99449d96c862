"""The Контрагенты writer: what it writes reads back through our own reader as the same customers."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from onec_pipeline.commerceml import Customer, Entity, FileKind, discover_upload, read_upload
from onec_pipeline.commerceml.writer import write_customers


def read_back(directory) -> list[Customer]:
    upload = discover_upload(directory)
    assert [h.kind for h in upload.files] == [FileKind.CUSTOMERS]
    records = list(read_upload(upload, {Entity.CUSTOMERS}))
    assert all(isinstance(r, Customer) for r in records), records
    return records


def without_source(customers) -> list[Customer]:
    return [dataclasses.replace(c, source=None) for c in customers]


CUSTOMERS = [
    Customer(
        id="site-1",
        name='ООО "Ромашка" & <Ко>',
        official_name='Общество с ограниченной ответственностью "Ромашка"',
        kind="legal",
        inn="7707083893",
        kpp="773601001",
        okpo="00032537",
        emails=["info@romashka.ru"],
        phones=["+7 (495) 123-45-67"],
        addresses=[
            {
                "type": "ЮридическийАдрес",
                "presentation": "123456, Москва, ул. Ленина, д. 1",
                "fields": {"Почтовый индекс": "123456", "Город": "Москва", "Улица": "Ленина", "Дом": "1"},
            }
        ],
        contacts=[
            {"type": "Электронная почта", "value": "info@romashka.ru", "comment": None},
            {"type": "Телефон рабочий", "value": "+7 (495) 123-45-67", "comment": "приёмная"},
            {"type": "Почта", "value": "Москва, а/я 15", "comment": None},
        ],
        role="Покупатель",
        representatives=[{"relation": "Контактное лицо", "id": "rep-1", "name": "Иванов Иван Иванович"}],
    ),
    Customer(
        id="site-2",
        name="Петров Пётр",
        official_name="Петров Пётр Петрович",
        kind="individual",
        inn="500100732259",
        emails=["petrov@example.com"],
        contacts=[{"type": "Электронная почта", "value": "petrov@example.com", "comment": None}],
        addresses=[
            {"type": "Адрес", "presentation": "Тверь", "fields": {}},
            {"type": "ФактическийАдрес", "presentation": "Тверь, ул. Советская, 5", "fields": {"Дом": "5"}},
        ],
    ),
    Customer(id="site-3", name="Удалённый", deleted=True),
]


def test_written_customers_read_back_identically(tmp_path):
    target = tmp_path / "upload" / "customers.xml"
    assert write_customers(target, CUSTOMERS, generated_at=datetime(2026, 11, 22, 10, 15, 0)) == 3
    assert not list(target.parent.glob("*.part"))
    assert without_source(read_back(target.parent)) == CUSTOMERS
    upload = discover_upload(target.parent)
    header = upload.files[0]
    assert header.exported_at == datetime(2026, 11, 22, 10, 15, 0)
    assert header.only_changes is True and header.encoding.upper().replace("-", "") == "UTF8"
    raw = target.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    raw.decode("utf-8")  # valid UTF-8 throughout


def test_sample_customers_survive_a_round_trip(samples_dir, tmp_path):
    original = read_back(samples_dir / "excerpts-31-with-customers" / "contractors-example.xml")
    assert len(original) == 4
    target = tmp_path / "out" / "customers.xml"
    write_customers(target, original, only_changes=False)
    again = read_back(target.parent)
    assert without_source(again) == without_source(original)
    assert discover_upload(target.parent).is_full(Entity.CUSTOMERS)


def test_e_mails_and_phones_without_contacts_become_contacts(tmp_path):
    customer = Customer(id="x", name="Без контактов", emails=["a@b.ru"], phones=["+79160000000"])
    write_customers(tmp_path / "c.xml", [customer])
    [back] = read_back(tmp_path)
    assert (back.emails, back.phones) == (["a@b.ru"], ["+79160000000"])
    assert [c["type"] for c in back.contacts] == ["Электронная почта", "Телефон рабочий"]


def test_empty_export_is_a_valid_file(tmp_path):
    from lxml import etree

    assert write_customers(tmp_path / "empty.xml", []) == 0
    root = etree.parse(str(tmp_path / "empty.xml")).getroot()
    assert etree.QName(root).localname == "КоммерческаяИнформация"
    assert [etree.QName(c).localname for c in root] == ["Контрагенты"] and len(root[0]) == 0
    assert list(read_upload(discover_upload(tmp_path), {Entity.CUSTOMERS})) == []


def test_failed_write_leaves_no_file(tmp_path):
    def broken():
        yield CUSTOMERS[0]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_customers(tmp_path / "c.xml", broken())
    assert list(tmp_path.iterdir()) == []


def test_writer_streams_to_disk_while_customers_are_still_coming(tmp_path):
    """No whole-document tree: most of the output is on disk before the generator is exhausted."""
    target = tmp_path / "big.xml"
    partial = tmp_path / "big.xml.part"
    sizes = []

    def many(n):
        for i in range(n):
            if i in (1_000, 2_999):
                sizes.append(partial.stat().st_size)
            yield Customer(id=f"site-{i}", name=f"Покупатель {i}", emails=[f"c{i}@example.com"])

    assert write_customers(target, many(3_000)) == 3_000
    final = target.stat().st_size
    assert sizes[0] > 0.2 * final and sizes[1] > 0.8 * final


def test_characters_xml_cannot_hold_are_dropped_not_fatal(tmp_path):
    customer = Customer(id="site-9", name="Bad\x00name\x07 ок\x1f", emails=["a@b.ru"])
    assert write_customers(tmp_path / "c.xml", [customer]) == 1
    [back] = read_back(tmp_path)
    assert back.name == "Badname ок"
