"""Row specs, staging lines and table lists come from the SQLAlchemy tables: one source of truth."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from onec_pipeline.commerceml.records import (
    Entity,
    Group,
    Offer,
    Price,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Stock,
    StockTotal,
    Unit,
    Warehouse,
)
from onec_pipeline.store import rows, staging
from onec_pipeline.store.errors import RowError
from onec_pipeline.store.pgcopy import copy_line
from onec_pipeline.store.tables import (
    ACTIVE_TABLES,
    BOOKKEEPING_TABLES,
    CATALOG_TABLES,
    CUSTOMER_TABLES,
    FAMILIES,
    ORDER_TABLES,
    build_metadata,
    metadata,
    table_in,
)
from onec_pipeline.store.tables.columns import ExactDecimal

SAMPLES = {
    Entity.GROUPS: Group(id="g1", name="Группа", parent_id="g0"),
    Entity.PROPERTIES: Property(id="p1", name="Цвет", value_type="Справочник", values={"v1": "Красный"}),
    Entity.UNITS: Unit(id="796", code="796", name="шт", full_name="Штука", international="PCE"),
    Entity.PRICE_TYPES: PriceType(id="pt1", name="Розничная", currency="RUB", tax_included=True),
    Entity.WAREHOUSES: Warehouse(id="w1", name="Склад", address="Москва"),
    Entity.GOODS: Product(
        id="p1",
        name="Товар",
        barcodes=["4600000000000"],
        group_ids=["g1"],
        properties=[PropertyValue("p1", "Красный", "v1", "Цвет")],
        characteristics=[("Размер", "XL")],
        deleted=True,
    ),
    Entity.OFFERS: Offer(id="p1#c1", product_id="p1", characteristic_id="c1", characteristics=[("a", "b")]),
    Entity.PRICES: Price(offer_id="p1#c1", price_type_id="pt1", price=Decimal("10.50"), currency="RUB"),
    Entity.RESTS: Stock(offer_id="p1#c1", warehouse_id="w1", quantity=Decimal("3")),
    Entity.STOCK_TOTALS: StockTotal(offer_id="p1#c1", quantity=Decimal("3.000")),
}


def _kind(column: sa.Column) -> str:
    if isinstance(column.type, ExactDecimal):
        return "dec"
    if isinstance(column.type, sa.Boolean):
        return "bool"
    return "json" if isinstance(column.type, sa.JSON) else "text"


@pytest.mark.parametrize("name", CATALOG_TABLES)
def test_every_spec_stages_exactly_its_tables_columns(name):
    table = table_in(metadata(None), name)
    spec = rows.SPECS[Entity(name)]
    assert spec.table == name
    assert spec.keys == tuple(c.name for c in table.primary_key.columns)
    staged = [c for c in table.columns if c.info.get("staged", True)]
    assert [column for column, _ in spec.staged_columns] == [c.name for c in staged]
    assert [kind for _, kind in spec.staged_columns] == [_kind(c) for c in staged]
    store_owned = {c.name for c in table.columns} - {c.name for c in staged}
    version = {"data_key", "upload_key", "exported_at", "updated_at"}
    # the shop's rules (store/shop_rules.py) own the sellable quantity, the brand and root admission
    rules = {
        "goods": {"brand", "brand_id", "admitted", "admission_reason"},
        "offers": {"quantity", "admitted", "admission_reason"},
    }.get(name, set())
    assert store_owned == version | ({"is_active"} if "is_active" in table.c else set()) | rules | set(
        spec.derived_columns
    )
    assert spec.has_active == ("is_active" in table.c)
    assert spec.has_deleted == ("deleted" in table.c) == ("deleted" in spec.content_columns)
    assert spec.derived_columns == (("currency",) if name == "prices" else ())


@pytest.mark.parametrize("entity", list(SAMPLES))
def test_every_extractor_returns_one_value_per_staged_column(entity):
    spec = rows.SPECS[entity]
    values = spec.extract(SAMPLES[entity])
    assert len(values) == len(spec.staged_columns)
    assert all(v is None or isinstance(v, str | bool) for v in values)


def test_apply_order_deactivation_and_table_lists_come_from_the_tables():
    assert set(SAMPLES) == set(rows.SPECS)
    assert [e.value for e in rows.APPLY_ORDER] == list(CATALOG_TABLES)
    assert rows.DEACTIVATING_ENTITIES == {
        Entity.GROUPS,
        Entity.GOODS,
        Entity.OFFERS,
        Entity.PRICES,
        Entity.RESTS,
        Entity.STOCK_TOTALS,
    }
    assert CATALOG_TABLES[:2] == ("groups", "properties") and CATALOG_TABLES[-3:] == (
        "prices",
        "rests",
        "stock_totals",
    ), "references first"
    assert ACTIVE_TABLES == CATALOG_TABLES, "every catalog table has is_active (the README's contract)"
    assert BOOKKEEPING_TABLES == ("rejects", "full_exports", "uploads", "applied_uploads")
    assert CUSTOMER_TABLES == ("customers", "customer_conflicts", "customer_sync_log")


def test_one_metadata_holds_every_family_once():
    md = build_metadata("onec")
    names = [t.name for t in md.tables.values()]
    assert sorted(names) == sorted(CATALOG_TABLES + BOOKKEEPING_TABLES + CUSTOMER_TABLES + ORDER_TABLES)
    assert {t.info["family"] for t in md.tables.values()} == {f.FAMILY for f in FAMILIES}
    assert all(t.schema == "onec" for t in md.tables.values())
    assert metadata("onec") is metadata("onec"), "shared, built once per schema"


class _Collector:
    """Just enough of a StagingTable for the hand-written COPY lines (no database)."""

    def __init__(self, spec: rows.EntitySpec):
        self.spec, self.extract, self.seq, self.pending = spec, spec.extract, 0, []

    def add(self, row: tuple) -> None:
        self.seq += 1
        self.pending.append(copy_line(self.seq, row))

    def flush(self) -> None:
        raise AssertionError("not reached with one record")


@pytest.mark.parametrize(
    "record",
    [
        SAMPLES[Entity.PRICES],
        Price(
            offer_id=" o1 ", price_type_id="pt", price=Decimal("1.10"), ratio=Decimal("2"), presentation="x"
        ),
        Price(offer_id="o\t1", price_type_id="pt", price=Decimal("1")),  # escaped: the generic path
        SAMPLES[Entity.RESTS],
        Stock(offer_id="o1", warehouse_id="w\\1", quantity=Decimal("-2.50")),
    ],
)
def test_hand_written_copy_lines_equal_the_generic_ones(record):
    spec = rows.SPECS[record.entity]
    fast = _Collector(spec)
    staging.fast_push(fast)(record)  # type: ignore[arg-type, misc]
    assert fast.pending == [copy_line(1, spec.extract(record))]


def test_hand_written_copy_lines_of_many_records_equal_the_generic_ones():
    """Through one line maker (its memos of offers, ids, texts and numbers warm): every line as the
    generic path makes it, equal decimals written alike, and a value to refuse refused alike."""
    records: list = []
    for n in range(300):
        offer = f" offer-{n // 3} " if n % 7 else f"offer\t{n // 3}"
        records.append(Stock(offer, f"w{n % 4}", Decimal(["1.50", "1.5", "15E-1", "-0", "0E-3", "7"][n % 6])))
        records.append(
            Price(
                offer,
                f"pt{n % 3}",
                Decimal(f"{n}.{n % 10}0"),
                currency=["RUB", None, "руб"][n % 3],
                unit=[None, "шт", "a\\b"][n % 3],
                ratio=[None, Decimal("1"), Decimal("1.000"), Decimal("2.5")][n % 4],
                presentation=[None, f"{n} руб", "x\ny"][n % 3],
            )
        )
    for entity in (Entity.PRICES, Entity.RESTS):
        spec = rows.SPECS[entity]
        fast, generic = _Collector(spec), _Collector(spec)
        push = staging.fast_push(fast)  # type: ignore[arg-type]
        assert push is not None
        for record in records:
            if record.entity == entity:
                push(record)
                generic.add(spec.extract(record))
        assert fast.pending == generic.pending and len(fast.pending) == 300
    refused = Stock("o1", "w1", Decimal("1e30"))
    with pytest.raises(RowError) as fast_error:
        staging.fast_push(_Collector(rows.SPECS[Entity.RESTS]))(refused)  # type: ignore[arg-type, misc]
    with pytest.raises(RowError) as generic_error:
        rows.SPECS[Entity.RESTS].extract(refused)
    assert str(fast_error.value) == str(generic_error.value)
