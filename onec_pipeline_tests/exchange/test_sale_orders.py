"""Orders both ways through the served endpoint with a real HTTP client (issue 14, "Must show"):
``type=sale`` checkauth → init → query (the pending orders) → success (marked delivered; the next query does
not repeat them) → file + import of 1C's update (the real sensor and run) → the order's 1C columns set and its
customer linked. The confirmation rule both ways: without ``mode=success`` the orders come again (rule
``success``) or a later session's query confirms them (rule ``next_query``). ``mode=info`` in windows-1251."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from onec_pipeline.commerceml import Order, iter_file_records
from onec_pipeline.exchange import orders as exchange_orders
from onec_pipeline.exchange import sale
from onec_pipeline.settings import OrderSettings
from onec_pipeline_tests.store.customers.helpers import site_row
from onec_pipeline_tests.store.orders.helpers import order_row, site_order

from .harness import OneC

GUID = "4a65ecb6-8b1b-11df-be16-e0cb4ed5f70f"

UPDATE = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.09" ДатаФормирования="2026-12-01T09:30:00">
  <Документ>
    <Ид>{id}</Ид><НомерВерсии>AAAAEAAAAAA=</НомерВерсии><ПометкаУдаления>false</ПометкаУдаления>
    <Номер>{number}</Номер><Номер1С>ТДЦУ-000042</Номер1С><Дата>2026-11-30</Дата><Дата1С>2026-12-01</Дата1С>
    <ХозОперация>Заказ товара</ХозОперация>
    <Контрагенты><Контрагент><Ид>{guid}</Ид><Наименование>Иван Петров</Наименование>
      <ПолноеНаименование>Иван Петров</ПолноеНаименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
    <Валюта>RUB</Валюта><Курс>1</Курс><Сумма>1340.50</Сумма><Роль>Продавец</Роль>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Номер оплаты по 1С</Наименование><Значение>ПКО-7</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>2026-12-01T09:00:00</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Статуса заказа ИД</Наименование><Значение>P</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
</КоммерческаяИнформация>
"""


@pytest.fixture
def provider(catalog) -> Iterator[exchange_orders.OrderProvider]:
    installed = exchange_orders.install(catalog, OrderSettings(confirm="success"))
    yield installed
    sale.register_provider(None)
    sale.register_provider(None, mode="info")


@pytest.fixture
def site(catalog):
    """Two site orders as the storefront inserts them; the first one's customer is unknown to 1C."""
    schema = catalog.schema
    with catalog.engine.begin() as conn:
        customer = site_row(conn, schema, name="Иван Петров", kind="individual", email="ivan@example.ru")
        site_order(conn, schema, "1001", customer_id=customer, number="S-1001")
        site_order(conn, schema, "1002", number="S-1002", delivery=None)
    return customer


def _query(onec: OneC) -> tuple[bytes, list[Order]]:
    """1C's mode=query, and the orders our reader reads in the answer."""
    response = onec.http.get(
        onec.url, params={"type": "sale", "mode": "query"}, headers=onec._headers(), timeout=30
    )
    assert response.status_code == 200
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "query.xml"
        path.write_bytes(response.content)
        records = list(iter_file_records(path))
    return response.content, [r for r in records if isinstance(r, Order)]


def _row(catalog, order_id: str) -> dict:
    with catalog.engine.begin() as conn:
        return order_row(conn, catalog.schema, order_id)


def _import_until_done(onec: OneC, dagster, filename: str) -> list[str]:
    for _ in range(20):
        lines = onec.get("import", filename=filename)
        if lines[0] != "progress":
            return lines
        if not dagster.tick() and dagster.queued:
            dagster.run_next()
    raise AssertionError("no final answer to mode=import")


def test_orders_both_ways_through_the_endpoint(server, dagster, catalog, provider, site):
    onec = OneC(server.url, type_="sale")
    assert onec.checkauth()[0] == "success"
    assert onec.init(version="2.08")["version"]
    body, orders = _query(onec)
    assert body.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert [(o.id, o.number) for o in orders] == [("1001", "S-1001"), ("1002", "S-1002")]
    first = orders[0]
    assert first.customer is not None and first.customer.id == f"site-{site}"  # details, no 1C Ид yet
    assert first.customer.emails == ["ivan@example.ru"]
    assert [i.offer_id for i in first.items] == ["p1#c1", "ORDER_DELIVERY"] and first.items[1].service
    assert _row(catalog, "1001")["confirmed_at"] is None  # served, not delivered yet
    assert onec.get("success")[0] == "success"
    delivered = _row(catalog, "1001")
    assert delivered["confirmed_at"] is not None and not delivered["needs_1c_export"]
    # the next exchange does not repeat them
    onec.session()
    assert _query(onec)[1] == []

    # 1C sends its update of the first order back: file + import, the real sensor and run
    update = UPDATE.format(id="1001", number="S-1001", guid=GUID).encode("utf-8")
    assert onec.file("documents.xml", update)[0] == "success"
    assert _import_until_done(onec, dagster, "documents.xml")[0] == "success"
    row = _row(catalog, "1001")
    assert (row["number_1c"], row["date_1c"], row["posted"], row["paid"], row["payment_number"]) == (
        "ТДЦУ-000042",
        "2026-12-01",
        True,
        True,
        "ПКО-7",
    )
    assert row["status_id"] == "P" and row["upload_key"] and row["origin"] == "site"
    with catalog.engine.connect() as conn:
        customers = sa.table("customers", sa.column("id"), sa.column("onec_id"), schema=catalog.schema)
        linked = conn.execute(sa.select(customers.c.onec_id).where(customers.c.id == site)).scalar()
    assert linked == GUID  # 1C answered with its Ид: the site customer is linked


def test_without_success_the_orders_come_again(server, catalog, provider, site):
    onec = OneC(server.url, type_="sale")
    onec.session()
    assert len(_query(onec)[1]) == 2
    # 1C never said success (crashed, or does not call it): a later exchange gets the same orders again,
    # with the same Номер and Ид, so 1C updates the orders it may already have instead of creating new ones
    onec.session()
    assert [o.number for o in _query(onec)[1]] == ["S-1001", "S-1002"]
    assert _row(catalog, "1001")["needs_1c_export"]
    assert onec.get("success")[0] == "success"
    assert not _row(catalog, "1001")["needs_1c_export"] and not _row(catalog, "1002")["needs_1c_export"]


def test_rule_next_query_confirms_the_previous_batch(server, catalog, provider, site):
    provider.settings = OrderSettings(confirm="next_query")
    onec = OneC(server.url, type_="sale")
    onec.session()
    assert len(_query(onec)[1]) == 2  # no success follows
    onec.session()
    assert _query(onec)[1] == []  # the repeated query confirmed the previous batch, as the old importer did
    row = _row(catalog, "1002")
    assert row["confirmed_at"] is not None and not row["needs_1c_export"]
    with catalog.engine.connect() as conn:
        batches = sa.table(
            "order_export_batches", sa.column("confirmed_by"), sa.column("session"), schema=catalog.schema
        )
        assert [r.confirmed_by for r in conn.execute(sa.select(batches.c.confirmed_by))] == ["next_query"]


def test_info_lists_statuses_and_payment_systems_in_windows_1251(server, catalog, provider, site):
    onec = OneC(server.url, type_="sale")
    onec.session()
    response = onec.http.get(
        onec.url, params={"type": "sale", "mode": "info"}, headers=onec._headers(), timeout=30
    )
    assert response.headers["content-type"] == "application/xml; charset=windows-1251"
    text = response.content.decode("cp1251")
    assert text.startswith('<?xml version="1.0" encoding="windows-1251"?>')
    assert "<Cтатусы>" in text and "<Статусы>" not in text  # Bitrix's Latin C
    assert "<Ид>N</Ид>" in text and "<Название>Принят</Название>" in text
    assert "<Название>Наличные</Название>" in text  # the payment method the orders name
