"""Loader behaviour on SQLite and real PostgreSQL (same assertions on both, via ``db_url_schema``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from onec_pipeline.commerceml.records import (
    Customer,
    Entity,
    PriceType,
    Product,
    PropertyValue,
    Reject,
    Source,
    Warehouse,
)
from onec_pipeline.store import MassDeactivationError, StoreError, catalog, pgcopy, staging
from onec_pipeline_tests.store.helpers import (
    group,
    key,
    offer,
    price,
    product,
    ref,
    row,
    rows,
    snapshot,
    stock,
    total,
)


def test_first_load_inserts_rows_with_exact_values(store):
    recs = [
        group("g1", "Root"),
        group("g2", "Child", parent_id="g1"),
        Product(
            id="p1",
            name="Ботфорты ",
            article="Б- 130005",
            barcodes=["4600000000001", "4600000000002"],
            group_ids=["g2", "g1"],
            images=["import_files/ab/p1.jpg"],
            manufacturer={"id": "m1", "name": "Завод"},
            properties=[PropertyValue("prop1", "Красный", value_id="v1", property_name="Цвет")],
            requisites={"ВидНоменклатуры": "Товар"},
            tax_rates={"НДС": "20"},
        ),
        offer("p1"),
        offer("p1#c38", characteristics=[("Размер", "38")]),
        price("p1", "231.7400", currency="RUB"),
        price("p1#c38", "1620", pt="pt2"),
        stock("p1", "w1", "-70.687"),
        stock("p1#c38", "w1", "2.635"),
        total("p1", "30.5"),
    ]
    res = store.load(recs, ref(1))
    assert res[Entity.GOODS].inserted == 1
    assert res[Entity.OFFERS].inserted == 2
    assert res[Entity.PRICES].inserted == 2
    assert res[Entity.RESTS].inserted == 2
    assert res[Entity.GROUPS].inserted == 2

    g = row(store, "goods", id="p1")
    assert g["name"] == "Ботфорты "
    assert g["barcode"] == "4600000000001" and g["barcodes"] == ["4600000000001", "4600000000002"]
    assert g["group_id"] == "g2" and g["group_ids"] == ["g2", "g1"]
    assert g["manufacturer"] == {"id": "m1", "name": "Завод"}
    assert g["properties"] == [
        {"property_id": "prop1", "value": "Красный", "value_id": "v1", "property_name": "Цвет"}
    ]
    assert g["requisites"] == {"ВидНоменклатуры": "Товар"} and g["tax_rates"] == {"НДС": "20"}
    assert g["is_active"] is True and g["deleted"] is False
    assert g["upload_key"] == g["data_key"] == key(1)

    o = row(store, "offers", id="p1#c38")
    assert o["product_id"] == "p1" and o["characteristic_id"] == "c38"
    assert o["characteristics"] == [["Размер", "38"]]
    assert row(store, "offers", id="p1")["characteristic_id"] is None

    assert row(store, "prices", offer_id="p1", price_type_id="pt1")["price"] == Decimal("231.74")
    assert row(store, "rests", offer_id="p1", warehouse_id="w1")["quantity"] == Decimal("-70.687")
    assert row(store, "rests", offer_id="p1#c38", warehouse_id="w1")["quantity"] == Decimal("2.635")
    assert row(store, "offers", id="p1")["quantity"] == Decimal("30.5")
    # no total from 1C: the sum over warehouses (issue 16)
    assert row(store, "offers", id="p1#c38")["quantity"] == Decimal("2.635")


def test_ids_are_trimmed(store):
    store.load([product(" p1 "), offer("p1"), price(" p1", 5, pt=" pt1 ")], ref(1))
    assert rows(store, "goods", "id") == [("p1",)]
    assert rows(store, "prices", "offer_id", "price_type_id") == [("p1", "pt1")]


def test_replay_of_the_same_upload_changes_nothing(store):
    recs = [group("g1"), product("p1"), offer("p1"), price("p1", 10), stock("p1", "w1", 3), total("p1", 3)]
    store.load(recs, ref(1, Entity.GOODS, Entity.OFFERS))
    before = snapshot(store)
    res = store.load(recs, ref(1, Entity.GOODS, Entity.OFFERS))
    for entity, r in res.items():
        assert (r.inserted, r.updated, r.stale, r.deactivated) == (0, 0, 0, 0), entity
        assert r.unchanged == 1, entity
    assert snapshot(store) == before


def test_newer_upload_updates_only_changed_rows(store):
    store.load([product("p1", "old"), product("p2", "same"), price("p1", 10), price("p2", 20)], ref(1))
    res = store.load(
        [product("p1", "new"), product("p2", "same"), price("p1", 11), price("p2", "20.00")], ref(2)
    )
    assert (res[Entity.GOODS].updated, res[Entity.GOODS].unchanged) == (1, 1)
    assert (res[Entity.PRICES].updated, res[Entity.PRICES].unchanged) == (1, 1)
    assert row(store, "goods", id="p1")["name"] == "new"
    assert row(store, "prices", offer_id="p1", price_type_id="pt1")["price"] == Decimal("11")
    # identical content re-sent by a newer upload still advances the version (older uploads can't win)
    assert row(store, "goods", id="p2")["data_key"] == key(2)


def test_older_upload_never_overwrites_newer_data(store):
    store.load([product("p1", "newer"), price("p1", 11), stock("p1", "w1", 5)], ref(5))
    res = store.load([product("p1", "older"), price("p1", 10), stock("p1", "w1", 1), product("p2")], ref(3))
    assert res[Entity.GOODS].stale == 1 and res[Entity.GOODS].inserted == 1
    assert res[Entity.PRICES].stale == 1 and res[Entity.RESTS].stale == 1
    assert row(store, "goods", id="p1")["name"] == "newer"
    assert row(store, "goods", id="p1")["upload_key"] == key(5)
    assert row(store, "prices", offer_id="p1", price_type_id="pt1")["price"] == Decimal("11")
    assert row(store, "rests", offer_id="p1", warehouse_id="w1")["quantity"] == Decimal("5")


def test_duplicates_in_one_upload_last_occurrence_wins(store):
    res = store.load([product("p1", "first"), price("p1", 1), product("p1", "last"), price("p1", 2)], ref(1))
    assert res[Entity.GOODS].inserted == 1 and res[Entity.GOODS].duplicates == 1
    assert row(store, "goods", id="p1")["name"] == "last"
    assert row(store, "prices", offer_id="p1", price_type_id="pt1")["price"] == Decimal("2")


@pytest.mark.postgres
@pytest.mark.parametrize("bytewise", [True, False], ids=["COLLATE C sort", "database collation sort"])
def test_the_dedup_sort_keeps_the_same_rows_in_either_collation(pg_store, bytewise, monkeypatch):
    """The dedup step sorts ids ``COLLATE "C"`` where the database orders text bytewise: the rows kept (the
    last occurrence of every key, ids with Cyrillic, case and punctuation) are the same either way."""
    with pg_store.engine.connect() as conn:
        collation = conn.execute(
            sa.text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    assert pg_store.sorts_bytewise is (collation.lower().replace("-", "") in catalog.BYTEWISE_COLLATIONS)
    monkeypatch.setattr(type(pg_store), "sorts_bytewise", bytewise)
    ids = ["Ёж-1", "еж-1", "a#b", "A#b", "z", "Z!", "10", "9", "ёж-1"]
    records = [product(i, f"first {i}") for i in ids] + [price(i, 1, pt="Цена") for i in ids]
    records += [product(i, f"last {i}") for i in reversed(ids)] + [price(i, 2, pt="Цена") for i in ids]
    res = pg_store.load(records, ref(1))
    assert res[Entity.GOODS].inserted == len(ids) and res[Entity.GOODS].duplicates == len(ids)
    assert dict(rows(pg_store, "goods", "id", "name")) == {i: f"last {i}" for i in ids}
    assert {r[0]: r[1] for r in rows(pg_store, "prices", "offer_id", "price")} == {i: Decimal(2) for i in ids}


def test_several_load_calls_in_one_transaction_last_wins(store):
    with store.transaction(ref(1)) as tx:
        tx.load([product("p1", "first"), product("p2")])
        results = tx.load([product("p1", "second")])
    assert results[Entity.GOODS].inserted == 2 and results[Entity.GOODS].updated == 1
    assert row(store, "goods", id="p1")["name"] == "second"


def test_deletion_marks_deactivate_and_a_newer_record_reactivates(store):
    store.load(
        [group("g1"), product("p1"), offer("p1"), PriceType("pt1", "Retail"), Warehouse("w1", "W")], ref(1)
    )
    res = store.load(
        [
            group("g1", deleted=True),
            product("p1", deleted=True),
            offer("p1", deleted=True),
            PriceType("pt1", "Retail", deleted=True),
            Warehouse("w1", "W", deleted=True),
        ],
        ref(2),
    )
    assert all(res[e].updated == 1 for e in res)
    for table, k in [
        ("groups", "g1"),
        ("goods", "p1"),
        ("offers", "p1"),
        ("price_types", "pt1"),
        ("warehouses", "w1"),
    ]:
        r = row(store, table, id=k)
        assert r is not None, "deletion marks never delete rows"
        assert (r["is_active"], r["deleted"]) == (False, True), table
    store.load([product("p1")], ref(3))
    assert row(store, "goods", id="p1")["is_active"] is True


def test_partial_upload_deactivates_nothing(store):
    store.load([product("p1"), product("p2"), product("p3")], ref(1))
    res = store.load([product("p1", "x")], ref(2))
    assert res[Entity.GOODS].deactivated == 0
    assert rows(store, "goods", "id", "is_active") == [("p1", True), ("p2", True), ("p3", True)]


def test_full_export_deactivates_missing_rows_it_is_newer_than(store):
    store.load([product(f"p{i}") for i in range(1, 5)] + [offer("p1"), offer("p2")], ref(1))
    store.load([product("p9")], ref(3))  # newer than the full export below
    res = store.load(
        [product("p1"), product("p2"), product("p3"), offer("p1")], ref(2, Entity.GOODS, Entity.OFFERS)
    )
    assert res[Entity.GOODS].deactivated == 1 and res[Entity.OFFERS].deactivated == 1
    assert rows(store, "goods", "id", "is_active", "upload_key") == [
        ("p1", True, key(2)),
        ("p2", True, key(2)),
        ("p3", True, key(2)),
        ("p4", False, key(2)),
        ("p9", True, key(3)),
    ]
    assert row(store, "goods", id="p4")["data_key"] == key(1), "deactivation keeps the content"
    assert rows(store, "offers", "id", "is_active") == [("p1", True), ("p2", False)]
    assert rows(store, "full_exports", "entity", "upload_key") == [("goods", key(2)), ("offers", key(2))]
    # replaying the full export deactivates nothing more
    res = store.load(
        [product("p1"), product("p2"), product("p3"), offer("p1")], ref(2, Entity.GOODS, Entity.OFFERS)
    )
    assert res[Entity.GOODS].deactivated == 0 and res[Entity.GOODS].unchanged == 3


def test_older_upload_after_a_newer_full_export_is_inserted_inactive(store):
    store.load([product("p1"), product("p2")], ref(5, Entity.GOODS))
    res = store.load([product("p1", "older"), product("p3")], ref(2))
    assert res[Entity.GOODS].stale == 1 and res[Entity.GOODS].inserted == 1
    p3 = row(store, "goods", id="p3")
    assert (p3["is_active"], p3["upload_key"], p3["data_key"]) == (False, key(5), key(2))
    # chronologically: p3 written by 2, then dropped by the full export 5
    assert row(store, "goods", id="p1")["name"] == "name"


def test_older_data_under_a_deactivation_updates_content_but_stays_inactive(store):
    store.load([product("p1", "v1"), product("p2")], ref(1))
    store.load([product("p2")], ref(5, Entity.GOODS), allow_mass_deactivation=True)
    store.load([product("p1", "v3")], ref(3))
    p1 = row(store, "goods", id="p1")
    assert (p1["name"], p1["is_active"], p1["data_key"], p1["upload_key"]) == ("v3", False, key(3), key(5))


def test_breaker_refuses_mass_deactivation_and_changes_nothing(store):
    store.load([product(f"p{i}") for i in range(10)] + [price("p1", 1)], ref(1))
    before = snapshot(store)
    with pytest.raises(MassDeactivationError) as err:
        store.load([product("p1", "renamed"), product("p2"), price("p1", 2)], ref(2, Entity.GOODS))
    msg = str(err.value)
    assert "goods" in msg and key(2) in msg and "80.0%" in msg and "50%" in msg
    assert (err.value.would_deactivate, err.value.active) == (8, 10)
    assert snapshot(store) == before
    # a lower share passes; an explicit override allows the mass deactivation
    res = store.load([product(f"p{i}") for i in range(6)], ref(2, Entity.GOODS))
    assert res[Entity.GOODS].deactivated == 4
    with pytest.raises(MassDeactivationError):
        store.load([product("p0")], ref(3, Entity.GOODS), max_deactivation_share=0.8)
    res = store.load([product("p0")], ref(3, Entity.GOODS), allow_mass_deactivation=True)
    assert res[Entity.GOODS].deactivated == 5
    assert rows(store, "goods", "id", "is_active")[:2] == [("p0", True), ("p1", False)]


def test_rejects_are_stored_and_the_rest_loads(store):
    src = Source("goods/import.xml", 42)
    recs = [
        product("p1"),
        Reject(Entity.GOODS, None, "missing Ид", "<Товар><Наименование>x</Наименование></Товар>", src),
        product("   "),  # no id after trimming
        product("p2", "bad\x00name"),  # PostgreSQL text cannot hold NUL
        price("p1", 10),
        price("p2", "NaN"),
        price("p3", "1e30"),  # out of range
        stock("p1", "w1", "Infinity"),
        offer("p1"),
    ]
    res = store.load(recs, ref(1))
    assert res[Entity.GOODS].inserted == 1 and res[Entity.GOODS].rejected == 3
    assert res[Entity.PRICES].inserted == 1 and res[Entity.PRICES].rejected == 2
    assert res[Entity.RESTS].rejected == 1 and res[Entity.OFFERS].inserted == 1
    got = rows(store, "rejects", "upload", "entity", "entity_id", "reason", "file", "line")
    assert (key(1), "goods", None, "missing Ид", "goods/import.xml", 42) in got
    reasons = {(r[1], r[2]): r[3] for r in got}
    assert reasons[("goods", "   ")] == "missing product id"
    assert "NUL" in reasons[("goods", "p2")]
    assert "not a finite number" in reasons[("prices", "p2")]
    assert "out of range" in reasons[("prices", "p3")]
    assert "not a finite number" in reasons[("rests", "p1")]
    raw = row(store, "rejects", entity="goods", reason="missing Ид")["raw"]
    assert raw.startswith("<Товар>")
    # a replay replaces the upload's rejects instead of duplicating them
    store.load(recs, ref(1))
    assert len(rows(store, "rejects")) == 6


def test_dry_run_returns_counts_and_changes_nothing(store):
    store.load([product("p1"), product("p2"), product("p3")], ref(1))
    before = snapshot(store)
    res = store.load(
        [product("p1", "x"), product("p4"), Reject(Entity.GOODS, None, "bad", "<x/>")],
        ref(2, Entity.GOODS),
        dry_run=True,
        allow_mass_deactivation=True,
    )
    g = res[Entity.GOODS]
    assert (g.inserted, g.updated, g.deactivated, g.rejected) == (1, 1, 2, 1)
    assert g.as_dict()["deactivated"] == 2 and g.as_dict()["rows"] == 3
    assert snapshot(store) == before


class Boom(RuntimeError):
    pass


def _failing(records, after: int):
    for i, rec in enumerate(records):
        if i == after:
            raise Boom(f"injected failure after {after} records")
        yield rec


def test_failure_mid_load_leaves_tables_as_they_were(store, monkeypatch):
    monkeypatch.setattr(staging, "COPY_BATCH", 7)  # make sure some batches were flushed already
    monkeypatch.setattr(staging, "SQLITE_BATCH", 7)
    store.load([product("p0", "orig"), price("p0", 1)], ref(1))
    before = snapshot(store)
    recs = [product(f"p{i}", "new") for i in range(50)] + [price(f"p{i}", 2) for i in range(50)]
    recs.insert(10, Reject(Entity.GOODS, None, "bad", "<x/>"))
    with pytest.raises(Boom):
        store.load(_failing(recs, 80), ref(2))
    assert snapshot(store) == before
    # the same failure after the goods were applied, in a second load call of the transaction
    with pytest.raises(Boom):
        with store.transaction(ref(2)) as tx:
            tx.load(recs[:50])
            tx.load(_failing(recs[50:], 20))
    assert snapshot(store) == before
    # and the store is still usable
    store.load(recs, ref(2))
    assert row(store, "goods", id="p0")["name"] == "new"


@pytest.mark.postgres
def test_copy_error_in_the_background_sender_fails_the_load_and_rolls_back(pg_store, monkeypatch):
    """PostgreSQL sends COPY batches from a background thread: its error must reach the caller, roll the
    whole transaction back and leave the connection usable."""
    store = pg_store
    monkeypatch.setattr(staging, "COPY_BATCH", 7)
    store.load([product("p0", "orig"), price("p0", 1)], ref(1))
    before = snapshot(store)
    sent = []
    real_send = pgcopy.CopySender.send

    def send(self, sql, data):
        sent.append(sql)
        if len(sent) == 3:  # the third batch goes to a table that does not exist
            sql = sql.replace("COPY onec_stg_", "COPY onec_missing_")
        real_send(self, sql, data)

    monkeypatch.setattr(pgcopy.CopySender, "send", send)
    recs = [product(f"p{i}", "new") for i in range(50)] + [price(f"p{i}", 2) for i in range(50)]
    import psycopg2

    with pytest.raises(psycopg2.errors.UndefinedTable, match="onec_missing_"):
        store.load(recs, ref(2))
    assert len(sent) >= 3
    assert snapshot(store) == before
    monkeypatch.setattr(pgcopy.CopySender, "send", real_send)
    store.load(recs, ref(2))
    assert row(store, "goods", id="p49")["name"] == "new"
    assert len(rows(store, "prices", "offer_id")) == 50


@pytest.mark.postgres
def test_bulk_load_refreshes_planner_statistics_of_the_tables_it_wrote(pg_store, monkeypatch):
    """After a load that wrote many rows the planner must know (ANALYZE), not wait for autovacuum."""
    store = pg_store
    monkeypatch.setattr(catalog, "ANALYZE_MIN_ROWS", 20)

    def reltuples(table: str) -> float:
        with store.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                {"t": f"{store.schema}.{table}"},
            ).scalar_one()

    store.load([product("p0", "x")] + [offer(f"o{i}") for i in range(30)], ref(1))
    assert reltuples("offers") == 30  # analyzed: 30 rows written
    with store.engine.connect() as conn:
        analyzed = set(
            conn.execute(
                sa.text("SELECT attname FROM pg_stats WHERE schemaname = :s AND tablename = 'offers'"),
                {"s": store.schema},
            ).scalars()
        )
    # the keys and versions have statistics; the JSON documents and descriptive texts (costly, never
    # filtered on) are left to autovacuum
    assert {"id", "product_id", "upload_key", "data_key", "is_active", "quantity", "admitted"} <= analyzed
    assert not analyzed & {"characteristics", "properties", "name", "article", "barcode", "updated_at"}
    assert reltuples("goods") < 0  # one row written: left to autovacuum (never analyzed: -1)
    store.load([offer(f"o{i}") for i in range(30, 45)], ref(2))
    assert reltuples("offers") == 30  # 15 rows: below the threshold
    with store.transaction(ref(3), dry_run=True) as tx:
        tx.load([offer(f"o{i}") for i in range(100, 200)])
    assert reltuples("offers") == 30  # a dry run changes nothing, statistics included


def test_stock_totals_and_offer_quantity_in_both_arrival_orders(store):
    # rests (stock totals) before offers
    store.load([total("a", "5"), total("b", "-1.5")], ref(1))
    store.load([offer("a"), offer("b"), offer("c")], ref(2))
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("5")),
        ("b", Decimal("0")),  # a negative total is kept in stock_totals, never sellable
        ("c", None),
    ]
    # offers before rests; a newer offers upload keeps the quantity
    store.load([total("c", "7"), total("a", "6")], ref(3))
    store.load([offer("a", "renamed")], ref(4))
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("6")),
        ("b", Decimal("0")),
        ("c", Decimal("7")),
    ]
    # a stale total changes nothing
    store.load([total("a", "100")], ref(2))
    assert row(store, "offers", id="a")["quantity"] == Decimal("6")


def test_references_to_unknown_entities_are_kept(store):
    res = store.load(
        [offer("ghost#c1"), price("ghost#c1", 3, pt="unknown-type"), stock("x", "nowhere", 1)], ref(1)
    )
    assert (
        res[Entity.OFFERS].inserted == 1
        and res[Entity.PRICES].inserted == 1
        and res[Entity.RESTS].inserted == 1
    )
    assert rows(store, "prices", "offer_id", "price_type_id") == [("ghost#c1", "unknown-type")]


def test_progress_is_reported_at_least_every_10000_records(store):
    calls = []
    with store.transaction(ref(1), progress=lambda e, n: calls.append((e, n))) as tx:
        tx.load(stock(f"o{i}", "w1", i) for i in range(25_003))
    assert calls == [(Entity.RESTS, 10_000), (Entity.RESTS, 20_000), (Entity.RESTS, 25_003)]
    assert tx.results[Entity.RESTS].inserted == 25_003


def test_customer_records_are_refused_with_a_clear_error(store):
    with pytest.raises(StoreError, match="customers"):
        store.load([Customer(id="c1", name="ACME")], ref(1))


def test_counts_and_uploads_bookkeeping(store):
    store.load([product("p1"), product("p2", deleted=True), price("p1", 1)], ref(1))
    counts = store.counts()
    assert counts["goods"] == 2 and counts["goods_active"] == 1 and counts["prices"] == 1
    assert counts["uploads"] == 1
    assert rows(store, "uploads", "key") == [(key(1),)]
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.tables["offers"])).scalar_one() == 0


@pytest.mark.postgres
def test_a_first_load_into_an_empty_table_counts_without_the_classifying_join(pg_store):
    """Into an empty table every de-duplicated row is new: the counts come from the de-duplication's own
    row count, and the classifying query is not run; into a table with rows it is, and tells them apart."""
    store = pg_store
    statements: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", spy)
    try:
        first = store.load([product("p1", "a"), product("p2", "b"), product("p1", "c")], ref(1))
        classified_first = [s for s in statements if _classifies(s, "goods")]
        assert row(store, "goods", id="p1")["name"] == "c"  # the last occurrence
        statements.clear()
        second = store.load([product("p1", "d"), product("p3", "e"), product("p2", "b")], ref(2))
        classified_second = [s for s in statements if _classifies(s, "goods")]
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", spy)
    goods = first[Entity.GOODS]
    assert (goods.inserted, goods.updated, goods.unchanged, goods.duplicates) == (2, 0, 0, 1)
    assert classified_first == []
    goods = second[Entity.GOODS]
    assert (goods.inserted, goods.updated, goods.unchanged, goods.duplicates) == (1, 1, 1, 0)
    assert len(classified_second) == 1


def _classifies(statement: str, table: str) -> bool:
    """Whether ``statement`` is the classifying query of ``table``'s de-duplicated rows."""
    text = statement.lstrip()
    return text.startswith("SELECT") and f"onec_dd_{table}" in text and "LEFT JOIN" in text
