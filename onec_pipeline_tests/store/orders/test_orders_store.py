"""Orders in the store: round trip through the export, batches and their confirmation, 1C's updates (version
guard, replays, 1C's own orders, customers linked, unknown offers) — on SQLite and real PostgreSQL."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
import sqlalchemy as sa

from onec_pipeline.commerceml import Entity, Order, discover_upload, iter_file_records, read_upload
from onec_pipeline.store import orders as so
from onec_pipeline_tests.store.customers.helpers import migrate, site_row
from onec_pipeline_tests.store.orders.helpers import KEY_NEW, KEY_OLD, order_row, site_order, tables


@pytest.fixture
def db(db_url_schema):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    yield engine, None if engine.dialect.name == "sqlite" else schema
    engine.dispose()


def _comparable(order: Order) -> tuple:
    c = order.customer
    party = (c.id, c.name, c.kind, c.emails) if c is not None else None
    head = (order.id, order.number, order.date, order.time, order.currency, order.total, order.comment)
    site = (order.payment_method, order.delivery_method, order.delivery_address, order.status)
    items = [(i.offer_id, i.name, i.quantity, i.price, i.total, i.service) for i in order.items]
    return head, site, party, items


@pytest.mark.parametrize("version", ["2.05", "2.08", "3.1"])
def test_orders_as_the_site_inserts_them_round_trip_through_the_export(db, tmp_path, version):
    engine, schema = db
    with engine.begin() as conn:
        known = site_row(
            conn,
            schema,
            name="ООО Вектор",
            kind="legal",
            official_name="ООО Вектор",
            onec_id="guid-1",
            needs_1c_export=False,
            sync_status="synced",
        )
        new = site_row(conn, schema, name="Иван Петров", kind="individual", email="ivan@example.ru")
        site_order(conn, schema, "101", customer_id=known)
        site_order(
            conn,
            schema,
            "102",
            customer_id=new,
            lines=(("p2", "Шапка", "1.5", "10.10"), ("p3", "Шарф", "3", "7")),
        )
        site_order(conn, schema, "103", delivery=None, site_status="Принят")
        batch = so.write_outbox(conn, tmp_path, version=version, encoding="windows-1251", schema=schema)
        t = tables(conn, schema)
        rows = list(conn.execute(sa.select(t.orders).order_by(t.orders.c.id)).mappings())
        expected = list(so.orders_with_lines(conn, t, rows))
    assert batch.order_ids == ["101", "102", "103"] and batch.path is not None
    back = [r for r in iter_file_records(batch.path) if isinstance(r, Order)]
    assert [_comparable(o) for o in back] == [_comparable(o) for o in expected]
    # the customer 1C knows travels with its 1C Ид, the new one with the site's id and its details
    assert back[0].customer.id == "guid-1" and back[0].customer.kind == "legal"
    assert back[1].customer.id == f"site-{new}" and back[1].customer.emails == ["ivan@example.ru"]
    assert back[0].items[-1].offer_id == "ORDER_DELIVERY" and back[0].items[-1].service
    with engine.begin() as conn:
        row = order_row(conn, schema, "101")
        assert (
            row["needs_1c_export"] and row["outbox_file"] == batch.path.name and row["confirmed_at"] is None
        )
        # written once: the next run has nothing new for the outbox
        assert so.write_outbox(conn, tmp_path, schema=schema).path is None


def test_query_repeats_until_success_then_never_again(db):
    engine, schema = db
    with engine.begin() as conn:
        site_order(conn, schema, "1")
        site_order(conn, schema, "2")
    with engine.begin() as conn:
        first = so.serve_query(conn, session="s1", version="2.05", encoding="windows-1251", schema=schema)
    assert first.order_ids == ["1", "2"] and first.body.startswith(
        b'<?xml version="1.0" encoding="windows-1251"?>'
    )
    with engine.begin() as conn:  # no success yet: asked again, the same orders come again (none lost)
        again = so.serve_query(conn, session="s1", schema=schema)
    assert again.order_ids == ["1", "2"]
    with engine.begin() as conn:
        assert so.confirm_session(conn, "s1", schema=schema) == 2
        row = order_row(conn, schema, "1")
    assert not row["needs_1c_export"] and row["confirmed_at"] is not None
    with engine.begin() as conn:
        assert so.serve_query(conn, session="s2", schema=schema).order_ids == []
        assert so.confirm_session(conn, "s2", schema=schema) == 0


def test_rule_next_query_takes_a_later_session_as_the_confirmation(db):
    engine, schema = db
    with engine.begin() as conn:
        site_order(conn, schema, "1")
        served = so.serve_query(conn, session="s1", rule="next_query", schema=schema)
        # the same session asking again confirms nothing: its batch comes again
        assert so.serve_query(conn, session="s1", rule="next_query", schema=schema).order_ids == ["1"]
        later = so.serve_query(conn, session="s2", rule="next_query", schema=schema)
        counts = so.order_counts(conn, schema)
    assert served.order_ids == ["1"] and later.order_ids == [] and later.confirmed_before == 1
    assert counts["confirmed"] == 1 and counts["pending_export"] == 0


def _sample_orders(samples_dir) -> list[Order]:
    upload = discover_upload(samples_dir / "excerpts-31-with-customers" / "documents-example.xml")
    return [r for r in read_upload(upload, {Entity.ORDERS}) if isinstance(r, Order)]


def test_updates_set_the_1c_columns_and_replays_change_nothing(db, samples_dir):
    engine, schema = db
    updates = _sample_orders(samples_dir)
    with engine.begin() as conn:
        customer = site_row(conn, schema, name="Kikinda", email="k@example.rs")
        site_order(conn, schema, "142", customer_id=customer, sent_to_1c_at=sa.func.now())
        site_order(conn, schema, "235")
        result = so.apply_order_updates(conn, updates, KEY_NEW, schema=schema)
    assert (result.updated, result.unchanged, result.stale, result.inserted) == (2, 0, 0, 0)
    assert result.confirmed == 1 and result.linked_customers == 1 and result.matched_by == {"number": 2}
    with engine.begin() as conn:
        row = order_row(conn, schema, "142")
        customers = tables(conn, schema).customers
        linked = conn.execute(sa.select(customers.c.onec_id).where(customers.c.id == customer)).scalar()
    assert (row["number_1c"], row["date_1c"], row["posted"], row["paid"], row["payment_number"]) == (
        "ТДЦУ-000001",
        "2015-06-29",
        True,
        True,
        "ТДЦУ-000001",
    )
    assert (row["shipped"], row["shipment_number"], row["status_id"], row["upload_key"]) == (
        True,
        "ТДЦУ-000003",
        "P",
        KEY_NEW,
    )
    assert row["confirmed_at"] is not None and not row["needs_1c_export"]
    assert row["comment"] == "звонить после 18:00" and row["total"] == Decimal(
        "1340.50"
    )  # site columns untouched
    assert linked == "4a65ecb6-8b1b-11df-be16-e0cb4ed5f70f"
    # the same update again, and an older one saying the opposite: nothing changes
    older = [_reopened(o) for o in updates]
    with engine.begin() as conn:
        replay = so.apply_order_updates(conn, updates, KEY_NEW, schema=schema)
        stale = so.apply_order_updates(conn, older, KEY_OLD, schema=schema)
        after = order_row(conn, schema, "142")
    assert (replay.updated, replay.unchanged) == (0, 2) and (stale.updated, stale.stale) == (0, 2)
    assert after == row


def _reopened(order: Order) -> Order:
    import dataclasses

    return dataclasses.replace(order, shipped=False, shipment_number=None, cancelled=False, posted=False)


def test_an_order_1c_created_is_stored_with_its_origin_and_unknown_offers_are_reported(db, samples_dir):
    engine, schema = db
    folder = samples_dir / "package-31-subfolders" / "documents" / "2"
    orders = [r for r in read_upload(discover_upload(folder), {Entity.ORDERS}) if isinstance(r, Order)]
    with engine.begin() as conn:
        result = so.apply_order_updates(conn, orders, KEY_NEW, schema=schema)
        row = order_row(conn, schema, "319")
        count, sample = so.unknown_offer_lines(conn, schema)
        counts = so.order_counts(conn, schema)
    assert result.inserted == 4 and counts["from_1c"] == 4 and counts["pending_export"] == 0
    assert (row["origin"], row["onec_id"], row["number_1c"], row["total"]) == (
        "1c",
        "319",
        "L319",
        Decimal("1320"),
    )
    assert (
        count == 4
        and sample[0]["offer_id"]
        == "aa8085b0-ee4d-11e3-9438-00155d020201#9b62e395-ef8b-11e3-9438-00155d020201"
    )


def test_outbox_dry_run_leaves_nothing(db, tmp_path, db_url_schema):
    engine, schema = db
    from onec_pipeline.store import CatalogStore

    with engine.begin() as conn:
        site_order(conn, schema, "9")
    store = CatalogStore(db_url_schema[0], schema=schema or "onec")
    batch = so.export_to_outbox(store, tmp_path / "out", dry_run=True)
    assert batch.order_ids == ["9"] and not list((tmp_path / "out").glob("*"))
    real = so.export_to_outbox(store, tmp_path / "out", version="3.1")
    assert real.path is not None and real.path.is_file()
    store.dispose()
    shutil.rmtree(tmp_path / "out")
