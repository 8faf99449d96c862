"""Orders in CommerceML: every shared sample holding Документs reads as the values hand-checked against the
files, and the writer's output reads back as the same orders in every dialect (XSD-valid where it applies)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from onec_pipeline.commerceml import (
    Customer,
    Entity,
    Order,
    OrderItem,
    discover_upload,
    iter_file_records,
    read_upload,
)
from onec_pipeline.commerceml.order_writer import DIALECTS, write_orders

from .helpers import NS3, doc, write


def _orders(path: Path) -> dict[str, Order]:
    records = list(read_upload(discover_upload(path), {Entity.ORDERS}))
    assert all(isinstance(r, Order) for r in records), records
    return {r.id: r for r in records if isinstance(r, Order)}


def test_official_204_orders(samples_dir):
    orders = _orders(samples_dir / "official-204" / "orders.xml")
    assert list(orders) == ["36", "92", "93"]
    site = orders["36"]
    assert (site.number, site.date, site.time, site.currency, site.total) == (
        "36",
        "2007-10-30",
        "15:19:27",
        "RUB",
        Decimal("6734.47"),
    )
    assert site.customer is not None and site.customer.id == "1#admin# admin"
    assert [(i.offer_id, i.price, i.quantity, i.total, i.service) for i in site.items] == [
        ("ORDER_DELIVERY", Decimal("340.00"), Decimal("1.00"), Decimal("340.00"), True),
        (
            "dee6e19a-55bc-11d9-848a-00112f43529a",
            Decimal("6394.47"),
            Decimal("1.00"),
            Decimal("6394.47"),
            False,
        ),
    ]
    assert (site.payment_method, site.paid, site.cancelled, site.status) == (
        "Наличный расчет",
        False,
        False,
        "[N] Принят",
    )
    # 2.03 updates from 1C: the 1C number and date as requisites
    update = orders["92"]
    assert (update.number_1c, update.date_1c, update.posted, update.deleted, update.status) == (
        "MM92",
        "2015-08-12",
        True,
        False,
        "Открыт",
    )
    assert orders["93"].number_1c == "MM93" and update.items == []


def test_documents_example_209(samples_dir):
    orders = _orders(samples_dir / "excerpts-31-with-customers" / "documents-example.xml")
    assert list(orders) == ["142", "235"]
    first = orders["142"]
    assert (first.number_1c, first.date_1c, first.version, first.posted) == (
        "ТДЦУ-000001",
        "2015-06-29",
        "AAAAEAAAAAA=",
        True,
    )
    assert (first.paid, first.payment_number, first.payment_date) == (
        True,
        "ТДЦУ-000001",
        "2015-06-29T15:39:10",
    )
    assert (first.shipped, first.shipment_number, first.shipment_date) == (
        True,
        "ТДЦУ-000003",
        "2015-06-29T17:32:27",
    )
    assert first.status_id == "P" and first.total == Decimal("8186.84")
    assert first.customer is not None and first.customer.id == "4a65ecb6-8b1b-11df-be16-e0cb4ed5f70f"
    assert (
        first.items[1].offer_id == "bd72d913-55bc-11d9-848a-00112f43529a#b02e2814-720f-11df-b436-0015e92f2802"
    )
    assert (first.items[0].price, first.items[0].unit) == (Decimal("3338"), "шт")
    second = orders["235"]
    assert (second.shipped, second.shipment_number) == (None, None)
    assert second.items[-1].offer_id == "ORDER_DELIVERY" and second.items[-1].service


def test_package_31_containers(samples_dir):
    folder = samples_dir / "package-31-subfolders"
    orders = _orders(folder)
    assert len(orders) == 24  # 20 in documents/1, 4 in documents/2 (grep -c '<Документ>')
    first = orders["319"]
    assert (first.number_1c, first.posted, first.cancelled, first.shipped, first.currency) == (
        "L319",
        True,
        False,
        False,
        "RUB",
    )
    assert first.customer is not None and first.customer.id == "f1eeedab-5cfb-11df-a14c-00155d3ebc00"
    assert [(i.offer_id, i.price, i.quantity, i.unit) for i in first.items] == [
        (
            "aa8085b0-ee4d-11e3-9438-00155d020201#9b62e395-ef8b-11e3-9438-00155d020201",
            Decimal("1320"),
            Decimal("1"),
            "шт",
        )
    ]
    shipped = orders["479"]
    assert (shipped.number_1c, shipped.shipped, shipped.shipment_number) == ("K479", True, "О0000000966")
    assert orders["480"].posted is False


def _site_order(number: int) -> Order:
    customer = Customer(
        f"site-{number}",
        "Иван Петров",
        official_name="Петров Иван Сергеевич",
        kind="individual",
        emails=["ivan@example.ru"],
        contacts=[{"type": "Электронная почта", "value": "ivan@example.ru", "comment": None}],
        addresses=[{"type": "Адрес", "presentation": "Москва, Тверская 1", "fields": {"Город": "Москва"}}],
    )
    return Order(
        str(number),
        number=f"S-{number}",
        date="2026-11-30",
        time="10:11:12",
        currency="RUB",
        total=Decimal("1340.50"),
        comment="звонить после 18:00 \u263a",
        customer=customer,
        items=[
            OrderItem("p1#c1", "Ботинки", Decimal("2"), Decimal("500.25"), Decimal("1000.50")),
            OrderItem(
                "ORDER_DELIVERY", "Доставка", Decimal("1"), Decimal("340"), Decimal("340"), service=True
            ),
        ],
        payment_method="Наличные",
        delivery_method="Курьер",
        delivery_address="Москва, Тверская 1",
    )


def _comparable(order: Order) -> tuple:
    c = order.customer
    assert c is not None
    party = (c.id, c.name, c.official_name, c.kind, c.emails, [a["presentation"] for a in c.addresses])
    fields = (order.id, order.number, order.date, order.time, order.currency, order.total, order.comment)
    site = (order.payment_method, order.delivery_method, order.delivery_address)
    items = [(i.offer_id, i.name, i.quantity, i.price, i.total, i.service) for i in order.items]
    return fields, site, party, items


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
@pytest.mark.parametrize("version", sorted(DIALECTS))
def test_written_orders_read_back_equal(tmp_path, version, encoding):
    orders = [_site_order(n) for n in (1, 2, 3)]
    path = tmp_path / "orders.xml"
    assert write_orders(path, orders, version=version, encoding=encoding) == 3
    assert path.read_bytes().startswith(
        f'<?xml version="1.0" encoding="{encoding.upper() if encoding == "utf-8" else encoding}"?>'.encode()
    )
    back = list(iter_file_records(path))
    assert [_comparable(o) for o in back] == [_comparable(o) for o in orders]  # type: ignore[arg-type]
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("version", ["2.08", "2.09", "2.10"])
def test_export_validates_against_the_published_xsd(tmp_path, samples_dir, version):
    xsd = samples_dir.parent / "xsd" / f"commerceml-{version}.xsd"  # the XSDs live beside the samples
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    path = tmp_path / "orders.xml"
    write_orders(path, [_site_order(1), _site_order(2)], version=version, encoding="windows-1251")
    assert schema.validate(etree.parse(str(path))), [str(e) for e in schema.error_log]


def test_unknown_version_and_encoding_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unsupported CommerceML version '4.0'"):
        write_orders(tmp_path / "x.xml", [], version="4.0")
    with pytest.raises(ValueError, match="unsupported encoding"):
        write_orders(tmp_path / "x.xml", [], encoding="latin-1")
    assert list(tmp_path.iterdir()) == []


def test_bad_number_rejects_the_document_naming_the_field(tmp_path):
    body = "<Документ><Ид>7</Ид><Товары><Товар><Ид>p</Ид><Количество>abc</Количество></Товар></Товары></Документ>"
    path = write(tmp_path, "orders.xml", doc(body, version="2.05"))
    (record,) = list(iter_file_records(path))
    assert record.entity == Entity.ORDERS and "Товар/Количество" in record.reason  # type: ignore[union-attr]
    assert record.entity_id == "7"  # type: ignore[union-attr]


def test_nested_document_is_part_of_its_owner(tmp_path):
    body = (
        "<Контейнер><Документ><Ид>1</Ид><ПодчиненныеДокументы><Документ><Ид>inner</Ид></Документ>"
        "</ПодчиненныеДокументы></Документ></Контейнер>"
    )
    path = write(tmp_path, "documents.xml", doc(body, version="3.1", ns=NS3))
    assert [r.id for r in iter_file_records(path)] == ["1"]  # type: ignore[union-attr]
