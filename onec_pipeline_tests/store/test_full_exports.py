"""Full exports of prices and stock, empty full exports, the breaker in both directions (SQLite + PostgreSQL).

Issue 12, items 10 and 11: a full price or stock export means "what is not listed is no longer there"
(``is_active`` on prices, rests and stock totals; ``offers.quantity`` follows), and the mass-deactivation
breaker reaches the same verdict whichever order a backfill applies the uploads in.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store import MassDeactivationError
from onec_pipeline.store.tables import CATALOG_TABLES
from onec_pipeline_tests.store.helpers import (
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

STOCK = (Entity.RESTS, Entity.STOCK_TOTALS)


def test_a_full_price_export_deactivates_the_prices_it_no_longer_lists(store):
    store.load([price("a", 1), price("a", 2, pt="wholesale"), price("b", 3), price("c", 4)], ref(1))
    res = store.load([price("a", 10), price("b", 3)], ref(2, Entity.PRICES))
    assert res[Entity.PRICES].deactivated == 2
    assert rows(store, "prices", "offer_id", "price_type_id", "price", "is_active", "upload_key") == [
        ("a", "pt1", Decimal("10"), True, key(2)),
        ("a", "wholesale", Decimal("2"), False, key(2)),  # a price type the export no longer contains
        ("b", "pt1", Decimal("3"), True, key(2)),
        ("c", "pt1", Decimal("4"), False, key(2)),
    ]
    assert row(store, "prices", offer_id="c")["data_key"] == key(1), "deactivation keeps the content"
    # a replay of the full export changes nothing; a partial export deactivates nothing
    before = snapshot(store)
    assert store.load([price("a", 10), price("b", 3)], ref(2, Entity.PRICES))[Entity.PRICES].deactivated == 0
    assert snapshot(store) == before
    assert store.load([price("a", 11)], ref(3))[Entity.PRICES].deactivated == 0
    # a newer upload that lists a price again makes it active again
    store.load([price("c", 5)], ref(4))
    assert row(store, "prices", offer_id="c")["is_active"] is True


def test_a_full_stock_export_means_what_is_not_listed_is_no_longer_in_stock(store):
    store.load([offer("a"), offer("b"), offer("c"), offer("d")], ref(1))
    in_stock = [stock("a", "w1", 5), stock("a", "w2", 1), stock("b", "w1", 2), stock("c", "w1", 1)]
    store.load([*in_stock, stock("c", "w2", 1), total("a", 6), total("b", 2), total("c", 2)], ref(2, *STOCK))
    assert rows(store, "offers", "id", "quantity")[:2] == [("a", Decimal("6")), ("b", Decimal("2"))]
    # the next full stock export: a is sold out at w2, b is not listed at all
    res = store.load(
        [stock("a", "w1", 4), stock("c", "w1", 1), stock("c", "w2", 1), total("a", 4), total("c", 2)],
        ref(3, *STOCK),
    )
    assert (res[Entity.RESTS].deactivated, res[Entity.STOCK_TOTALS].deactivated) == (2, 1)
    assert rows(store, "rests", "offer_id", "warehouse_id", "is_active") == [
        ("a", "w1", True),
        ("a", "w2", False),
        ("b", "w1", False),
        ("c", "w1", True),
        ("c", "w2", True),
    ]
    assert rows(store, "offers", "id", "quantity") == [
        ("a", Decimal("4")),
        ("b", Decimal("0")),  # no longer in stock (the total of a newer full stock export)
        ("c", Decimal("2")),
        ("d", None),  # 1C never sent a total
    ]
    # back in stock in a partial upload
    store.load([total("b", 7)], ref(4))
    assert row(store, "offers", id="b")["quantity"] == Decimal("7")
    assert row(store, "stock_totals", offer_id="b")["is_active"] is True


def test_offer_quantity_follows_in_any_order(store, tmp_path):
    """A newer full stock export applied before the older offers and totals: the same end state."""
    store.load([total("a", 3)], ref(5, *STOCK))
    store.load([offer("a"), offer("b")], ref(1))
    store.load([total("b", 9)], ref(2))  # older than the full export 5, which does not list b
    assert rows(store, "offers", "id", "quantity") == [("a", Decimal("3")), ("b", Decimal("0"))]
    assert row(store, "stock_totals", offer_id="b")["is_active"] is False


def test_an_empty_full_export_is_judged_by_the_breaker_and_honoured_when_allowed(store):
    """Issue 12, item 9 (store side): a full export of an entity that carries no record of it at all."""
    store.load([product("p1"), product("p2"), offer("p1"), price("p1", 1), stock("p1", "w1", 2)], ref(1))
    before = snapshot(store)
    with pytest.raises(MassDeactivationError, match="would deactivate 1 of 1 active rests"):
        store.load([], ref(2, *STOCK))
    assert snapshot(store) == before
    res = store.load([], ref(2, *STOCK), allow_mass_deactivation=True)
    assert res[Entity.RESTS].deactivated == 1
    assert rows(store, "rests", "is_active") == [(False,)]
    assert rows(store, "full_exports", "entity", "upload_key", "mass_deactivation_allowed") == [
        ("rests", key(2), True),
        ("stock_totals", key(2), True),
    ]
    assert rows(store, "goods", "is_active") == [(True,), (True,)], "other entities untouched"


def _ten_goods():
    return [product(f"p{i}") for i in range(10)]


def test_the_breaker_reaches_the_same_verdict_in_either_order(two_stores):
    """A full export that would drop 8 of 10 goods: refused in chronological order; applied first, the
    older upload that follows is refused instead, naming it. Allowing the refused one gives one state."""
    chronological, backwards = two_stores
    older, newer = ref(1, Entity.GOODS), ref(2, Entity.GOODS)
    newer_goods = [product("p0", "renamed"), product("p1")]

    chronological.load(_ten_goods(), older)
    with pytest.raises(MassDeactivationError) as forward:
        chronological.load(newer_goods, newer)
    assert forward.value.older_upload is None

    backwards.load(newer_goods, newer)  # nothing to deactivate yet: passes
    before = snapshot(backwards)
    with pytest.raises(MassDeactivationError) as backward:
        backwards.load(_ten_goods(), older)
    assert snapshot(backwards) == before, "the refused upload changed nothing"
    err = backward.value
    assert (err.upload, err.older_upload, err.would_deactivate, err.active) == (key(2), key(1), 8, 10)
    message = str(err)
    assert (
        key(1) in message
        and key(2) in message
        and "80.0%" in message
        and "allow_mass_deactivation" in message
    )

    # the operator's decision, whichever run it is made on, ends in one state
    chronological.load(newer_goods, newer, allow_mass_deactivation=True)
    backwards.load(_ten_goods(), older, allow_mass_deactivation=True)
    chronological_state, backwards_state = snapshot(chronological), snapshot(backwards)
    for table in CATALOG_TABLES:  # (full_exports records which of the two runs the operator allowed)
        assert chronological_state[table] == backwards_state[table], table
    assert len([r for r in rows(backwards, "goods", "is_active") if r[0]]) == 2


def test_a_full_export_applied_with_mass_deactivation_allowed_is_not_judged_again(store):
    store.load([product("p0")], ref(2, Entity.GOODS), allow_mass_deactivation=True)
    res = store.load(_ten_goods(), ref(1, Entity.GOODS))  # older: its other goods stay hidden, no error
    assert res[Entity.GOODS].inserted == 9
    assert len([r for r in rows(store, "goods", "is_active") if r[0]]) == 1


def test_older_uploads_under_a_small_newer_full_export_pass(store):
    store.load(_ten_goods(), ref(3, Entity.GOODS))
    res = store.load([product("p1", "older"), product("p99")], ref(1))  # p99: hidden by 3, 1 of 11
    assert res[Entity.GOODS].inserted == 1 and res[Entity.GOODS].stale == 1
    assert row(store, "goods", id="p99")["is_active"] is False
