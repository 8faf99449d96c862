"""A price without its own Валюта is in its price type's currency (issue 12, item 12), in any order."""

from __future__ import annotations

from onec_pipeline.commerceml.records import PriceType
from onec_pipeline_tests.store.helpers import price, ref, rows, snapshot


def _currencies(store):
    return rows(store, "prices", "offer_id", "price_type_id", "currency", "own_currency")


def test_a_price_without_a_currency_takes_its_price_types(store):
    store.load(
        [
            PriceType("retail", "Розничная", currency="RUB"),
            price("a", 10, pt="retail"),
            price("b", 11, pt="retail", currency="USD"),  # its own currency wins
            price("c", 12, pt="unknown"),  # no such price type (yet): no currency
        ],
        ref(1),
    )
    assert _currencies(store) == [
        ("a", "retail", "RUB", None),
        ("b", "retail", "USD", "USD"),
        ("c", "unknown", None, None),
    ]


def test_the_price_type_may_come_from_the_catalog_or_arrive_later(store):
    store.load([PriceType("retail", "Розничная", currency="RUB")], ref(1))
    store.load([price("a", 10, pt="retail"), price("c", 12, pt="wholesale")], ref(2))
    store.load([PriceType("wholesale", "Оптовая", currency="KZT")], ref(3))
    assert _currencies(store) == [("a", "retail", "RUB", None), ("c", "wholesale", "KZT", None)]
    # a replay of the prices is unchanged (the derived currency is compared like the rest)
    before = snapshot(store)
    res = store.load([price("a", 10, pt="retail"), price("c", 12, pt="wholesale")], ref(2))
    assert all(r.updated == 0 and r.inserted == 0 for r in res.values())
    assert snapshot(store) == before


def test_prices_follow_their_price_type_when_its_currency_changes(store):
    store.load(
        [PriceType("pt1", "Розничная", currency="RUB"), price("a", 10), price("b", 11, currency="EUR")],
        ref(1),
    )
    store.load([PriceType("pt1", "Розничная", currency="BYN")], ref(2))
    assert _currencies(store) == [("a", "pt1", "BYN", None), ("b", "pt1", "EUR", "EUR")]
    # an older price type arriving late changes nothing
    store.load([PriceType("pt1", "Розничная", currency="UAH")], ref(0))
    assert _currencies(store) == [("a", "pt1", "BYN", None), ("b", "pt1", "EUR", "EUR")]


def test_either_order_ends_in_the_same_currencies(two_stores):
    uploads = [
        (ref(1), [PriceType("pt1", "Розничная", currency="RUB"), price("a", 10), price("b", 1)]),
        (ref(2), [price("a", 12), price("c", 5, currency="USD")]),
        (ref(3), [PriceType("pt1", "Розничная", currency="BYN")]),
    ]
    chronological, shuffled = two_stores
    for upload, records in uploads:
        chronological.load(records, upload)
    for upload, records in reversed(uploads):
        shuffled.load(records, upload)
    assert snapshot(chronological) == snapshot(shuffled)
    assert _currencies(shuffled) == [
        ("a", "pt1", "BYN", None),
        ("b", "pt1", "BYN", None),
        ("c", "pt1", "USD", "USD"),
    ]
