"""The shop's rules in the store (issue 16), on SQLite and PostgreSQL: the sellable quantity, the brand, root
admission (``onec_pipeline.store.shop_rules``), each with its setting (``settings.ShopRules``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity, Property, PropertyValue, Warehouse
from onec_pipeline.settings import ShopRules
from onec_pipeline.store.shop_rules import NO_GROUP, OUTSIDE_ROOTS, UNKNOWN_PRODUCT
from onec_pipeline_tests.store.helpers import group, offer, product, ref, row, rows, stock, total

STOCK = (Entity.RESTS, Entity.STOCK_TOTALS)
# the sellable quantities of the stock both quantity tests below load (warehouses, totals, negative stock)
SELLABLE = [
    ("a", Decimal("5.5")),
    ("b", Decimal("1")),
    ("c", Decimal("0")),
    ("d", Decimal("5")),
    ("e", Decimal("0")),
]


# --- sellable quantity ---------------------------------------------------------------------------------


def test_quantity_is_the_sum_over_warehouses_when_1c_sends_no_total(store):
    store.load([offer("a"), offer("b"), offer("c"), offer("d"), offer("e")], ref(1))
    store.load(
        [
            stock("a", "w1", "2.5"),
            stock("a", "w2", 3),
            stock("b", "w1", -4),  # sold before receipt: kept, never sellable
            stock("b", "w2", 1),
            stock("c", "w1", "-1"),
            stock("d", "w1", 7),
            total("d", 5),  # 1C's total wins over the warehouses
            total("e", -2),  # a negative total is not sellable either
        ],
        ref(2),
    )
    assert rows(store, "offers", "id", "quantity") == SELLABLE
    assert row(store, "rests", offer_id="b", warehouse_id="w1")["quantity"] == Decimal("-4")
    assert row(store, "stock_totals", offer_id="e")["quantity"] == Decimal("-2")


def test_quantity_follows_in_any_order_and_after_a_full_stock_export(store):
    store.load([stock("a", "w1", 2), stock("a", "w2", 3), stock("b", "w1", 1)], ref(1))
    store.load([offer("a"), offer("b"), offer("c")], ref(2))  # stock before the offers
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("5")),
        ("b", Decimal("1")),
        ("c", None),  # 1C never sent stock for it
    ]
    # a full stock export: w2 and b are gone
    store.load([stock("a", "w1", 1)], ref(3, *STOCK), allow_mass_deactivation=True)
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("1")),
        ("b", Decimal("0")),
        ("c", None),
    ]


def test_quantity_counts_only_the_warehouses_the_setting_names(store):
    store.rules = ShopRules(stock_warehouses=("w1", "Склад на Ленина"))
    store.load(
        [Warehouse("w1", "Основной"), Warehouse("w2", "Склад на Ленина"), Warehouse("w3", "Брак")], ref(1)
    )
    store.load(
        [offer("a"), offer("b"), stock("a", "w1", 1), stock("a", "w2", 2), stock("a", "w3", 40)], ref(2)
    )
    store.load([stock("b", "w3", 9)], ref(3))
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("3")),
        ("b", Decimal("0")),  # stock only in a warehouse the shop does not sell from
    ]
    store.rules = ShopRules()  # every warehouse, taking effect on the whole catalog by the re-evaluation
    report = store.reevaluate_rules()
    assert report.quantities == 2
    assert rows(store, "offers", "id", "quantity") == [("a", Decimal("43")), ("b", Decimal("9"))]


# --- brand ---------------------------------------------------------------------------------------------


def _brand_properties():
    return [
        Property("p-brand", "Бренд", value_type="Справочник", values={"v1": "Adidas", "v2": "Puma"}),
        Property("p-maker", "Производитель", value_type="Строка"),
        Property("p-color", "Цвет", value_type="Строка"),
    ]


def test_brand_from_the_manufacturer_then_the_configured_properties_in_order(store):
    store.load(_brand_properties(), ref(1))
    with store.transaction(ref(2)) as tx:
        tx.load(
            [
                product(
                    "maker",
                    manufacturer={"id": "m1", "name": "Завод"},
                    properties=[PropertyValue("p-brand", "Adidas", "v1")],
                ),
                product(
                    "both",
                    properties=[
                        PropertyValue("p-maker", "ООО Ромашка"),
                        PropertyValue("p-brand", "Puma", "v2"),
                    ],
                ),
                # a Справочник value whose classifier came in an earlier upload: resolved through properties
                product("dictionary", properties=[PropertyValue("p-brand", "v1")]),
                product("producer", properties=[PropertyValue("p-maker", "Kaspersky")]),
                product("none", properties=[PropertyValue("p-color", "Красный")]),
                product("blank", manufacturer={"id": "m2", "name": " "}),
            ],
        )
    # new goods get their brand in their INSERT: the rule's own statement had nothing left to rewrite
    assert tx.shop_rules.report.brands == 0
    assert rows(store, "goods", "id", "brand", "brand_id") == [
        ("blank", None, None),
        ("both", "Puma", "v2"),  # «Бренд» comes before «Производитель»
        ("dictionary", "Adidas", "v1"),
        ("maker", "Завод", "m1"),  # Изготовитель first
        ("none", None, None),
        ("producer", "Kaspersky", None),
    ]
    # another list of property names takes effect on the next load of the goods and by the re-evaluation
    store.rules = ShopRules(brand_properties=("Производитель",))
    store.reevaluate_rules()
    assert row(store, "goods", id="both")["brand"] == "ООО Ромашка"
    assert row(store, "goods", id="dictionary")["brand"] is None
    # a product whose brand changes in a newer upload
    store.load([product("producer", properties=[PropertyValue("p-maker", "Dr.Web")])], ref(3))
    assert row(store, "goods", id="producer")["brand"] == "Dr.Web"


def test_a_renamed_property_changes_the_brands(store):
    store.load([Property("p1", "Марка"), product("a", properties=[PropertyValue("p1", "Nike")])], ref(1))
    assert row(store, "goods", id="a")["brand"] is None
    store.load([Property("p1", "Бренд")], ref(2))
    assert row(store, "goods", id="a")["brand"] == "Nike"


# --- root admission ------------------------------------------------------------------------------------

TREE = [
    group("root", "Каталог"),
    group("sport", "СПОРТ", parent_id="root"),
    group("ski", "Лыжи", parent_id="sport"),
    group("home", "Дом", parent_id="root"),
]


def _admission(store, table="goods"):
    return rows(store, table, "id", "admitted", "admission_reason", "is_active")


@pytest.mark.parametrize("roots", [("sport",), ("Каталог / спорт",)], ids=["by Ид", "by name path"])
def test_goods_outside_the_roots_are_kept_but_not_admitted_and_their_offers_follow(store, roots):
    store.rules = ShopRules(catalog_roots=roots)
    store.load(
        [
            *TREE,
            product("boots", group_ids=["ski"]),
            product("sofa", group_ids=["home"]),
            product("both", group_ids=["home", "sport"]),  # in the subtree through one of its groups
            product("loose"),
            offer("boots"),
            offer("sofa#red"),
            offer("ghost"),  # its product is not in the catalog
            stock("sofa#red", "w1", 3),
        ],
        ref(1),
    )
    assert _admission(store) == [
        ("boots", True, None, True),
        ("both", True, None, True),
        ("loose", False, NO_GROUP, True),
        ("sofa", False, OUTSIDE_ROOTS, True),
    ]
    assert _admission(store, "offers") == [
        ("boots", True, None, True),
        ("ghost", False, UNKNOWN_PRODUCT, True),
        ("sofa#red", False, OUTSIDE_ROOTS, True),
    ]
    assert row(store, "offers", id="sofa#red")["quantity"] == Decimal("3"), "kept, with its stock"


def test_a_product_moving_into_the_subtree_and_out_again_across_uploads(store):
    store.rules = ShopRules(catalog_roots=("sport",))
    store.load([*TREE, product("p", group_ids=["home"]), offer("p")], ref(1))
    assert row(store, "goods", id="p")["admitted"] is False
    store.load([product("p", group_ids=["ski"])], ref(2))  # moved under СПОРТ
    assert (row(store, "goods", id="p")["admitted"], row(store, "offers", id="p")["admitted"]) == (True, True)
    store.load([product("p", group_ids=["home"])], ref(3))  # and out again
    assert row(store, "goods", id="p")["admission_reason"] == OUTSIDE_ROOTS
    assert row(store, "offers", id="p")["admitted"] is False
    # a group moved under the root brings its goods in
    store.load([group("home", "Дом", parent_id="sport")], ref(4))
    assert row(store, "goods", id="p")["admitted"] is True


def test_a_product_deleted_in_1c_stays_inactive_inside_the_root(store):
    store.rules = ShopRules(catalog_roots=("sport",))
    store.load([*TREE, product("p", group_ids=["ski"], deleted=True), offer("p")], ref(1))
    assert _admission(store) == [("p", True, None, False)]  # admitted, but not active: not on the shop


def test_changing_the_roots_takes_effect_on_the_next_load_and_by_the_re_evaluation(store):
    store.load([*TREE, product("boots", group_ids=["ski"]), product("sofa", group_ids=["home"])], ref(1))
    assert {r[1] for r in _admission(store)} == {True}, "default: everything is admitted"
    store.rules = ShopRules(catalog_roots=("sport",))
    report = store.reevaluate_rules()
    counts = report.admission
    assert row(store, "goods", id="sofa")["admitted"] is False
    assert counts == {"goods admitted": 1, f"goods not admitted: {OUTSIDE_ROOTS}": 1}
    assert report.roots is not None and report.roots.group_ids == ["sport"]
    store.rules = ShopRules(catalog_roots=("home",))
    store.load([product("chair", group_ids=["home"])], ref(2))  # the next load of goods re-evaluates
    assert _admission(store) == [
        ("boots", False, OUTSIDE_ROOTS, True),
        ("chair", True, None, True),
        ("sofa", True, None, True),
    ]
    store.rules = ShopRules()
    store.reevaluate_rules()
    assert {r[1:3] for r in _admission(store)} == {(True, None)}


def test_a_root_that_names_no_group_admits_nothing_and_is_reported(store):
    store.rules = ShopRules(catalog_roots=("Каталог/Спорт-опечатка",))
    store.load([*TREE, product("boots", group_ids=["ski"])], ref(1))
    report = store.reevaluate_rules()
    assert report.roots is not None and report.roots.not_found == ["Каталог/Спорт-опечатка"]
    assert row(store, "goods", id="boots")["admitted"] is False


def test_ids_and_names_with_quotes_and_colons_are_bound_not_spliced(store):
    """Ids come from uploads, names from settings: a quote or a ``:name`` in them is data, never SQL."""
    prop, wh, root = "p :brand'); DROP TABLE goods; --", "w :one'", "g :root'"
    store.rules = ShopRules(
        catalog_roots=(root,), stock_warehouses=("Склад :main 'главный'",), brand_properties=("Бренд :main",)
    )
    store.load(
        [
            group(root, "Корень"),
            Property(prop, "Бренд :main"),
            Warehouse(wh, "Склад :main 'главный'"),
            product("p", group_ids=[root], properties=[PropertyValue(prop, "Nike")]),
            offer("p"),
            stock("p", wh, 4),
            stock("p", "w2", 10),
        ],
        ref(1),
    )
    assert rows(store, "goods", "id", "brand", "admitted") == [("p", "Nike", True)]
    assert row(store, "offers", id="p")["quantity"] == Decimal("4")


def test_new_offers_take_the_stock_stored_before_them_and_none_without_any(store):
    """A first load of offers skips the quantity statement only when no stock row exists anywhere."""
    with store.transaction(ref(1)) as tx:
        tx.load([product("p"), offer("lonely")])
    assert tx.shop_rules.report.quantities == 0 and row(store, "offers", id="lonely")["quantity"] is None
    store.load([stock("early", "w1", 4), stock("early", "w2", -1)], ref(2))
    store.load([offer("early"), offer("late")], ref(3))
    assert row(store, "offers", id="early")["quantity"] == 4
    assert row(store, "offers", id="late")["quantity"] is None


def _quantity_statements(store) -> list[str]:
    """The sellable-quantity statements the store runs from now on (collected in the list returned)."""
    seen: list[str] = []

    def collect(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().startswith(f"UPDATE {store.qualified('offers')} AS t SET quantity"):
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", collect)
    return seen


def test_a_first_stock_load_sums_its_own_rows_and_gets_what_the_general_rule_gets(pg_store):
    """Into an empty rests table every de-duplicated row is the table's: the quantities are summed from
    them (not read back from rests); the whole-catalog re-evaluation then has nothing to change, with the
    warehouse setting, totals, negative stock and a duplicate row in play. Stock arriving later, or into
    a table a newer full export made inactive rows for, takes the general statement."""
    store = pg_store
    store.rules = ShopRules(stock_warehouses=("w1", "Склад на Ленина"))
    store.load(
        [Warehouse("w1", "Основной"), Warehouse("w2", "Склад на Ленина"), Warehouse("w3", "Брак")], ref(1)
    )
    store.load([offer(o) for o in "abcdef"], ref(2))
    store.load([total("d", 5), total("e", -2)], ref(3))
    statements = _quantity_statements(store)
    store.load(
        [
            stock("a", "w1", "2.5"),
            stock("a", "w2", 3),
            stock("a", "w3", 40),  # not a warehouse the shop sells from
            stock("b", "w1", -4),
            stock("b", "w2", 1),
            stock("c", "w3", 9),
            stock("d", "w1", 7),  # the total wins
            stock("f", "w1", 1),
            stock("f", "w1", 6),  # the last occurrence wins
        ],
        ref(4),
    )
    assert len(statements) == 1 and "onec_dd_rests_" in statements[0] and "r.is_active" not in statements[0]
    assert rows(store, "offers", "id", "quantity") == [*SELLABLE, ("f", Decimal("6"))]
    assert store.reevaluate_rules().quantities == 0  # the general statement agrees
    store.load([stock("e", "w1", 3)], ref(5))  # rests is not empty any more
    assert len(statements) == 3 and "r.is_active" in statements[2]  # (the re-evaluation ran one)


def test_a_first_stock_load_older_than_a_full_export_takes_the_general_statement(pg_store):
    store = pg_store
    store.load([offer("a"), offer("b")], ref(1))
    store.load([total("b", 2)], ref(5, Entity.RESTS), allow_mass_deactivation=True)  # a newer full export
    statements = _quantity_statements(store)
    store.load([stock("a", "w1", 4)], ref(3))  # older: its new rows are inactive
    assert len(statements) == 1 and "r.is_active" in statements[0]
    assert row(store, "rests", offer_id="a", warehouse_id="w1")["is_active"] is False
    assert row(store, "offers", id="a")["quantity"] == 0
