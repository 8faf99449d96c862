"""Property: any application order of a set of uploads, with repeats, ends in the chronological state.

Random uploads (full and partial exports of every entity a full export deactivates — groups, goods,
offers, prices, rests, stock totals, empty ones included —, overlapping ids, changed names/prices/stock,
deletion marks, rejects, price types whose currency changes and prices with and without their own currency)
are applied once in chronological order to one store, and in a random order with repeats to another;
every table (minus wall-clock columns) must be identical: ``is_active`` of every table, ``offers.quantity``
and ``prices.currency`` included. Runs on SQLite and on real PostgreSQL.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onec_pipeline.commerceml.records import Entity, PriceType, Reject
from onec_pipeline.store import DEACTIVATING_ENTITIES
from onec_pipeline_tests.store.helpers import group, offer, price, product, ref, snapshot, stock, total, wipe

GROUP_IDS = ["g1", "g2", "g3"]
PRODUCT_IDS = ["p1", "p2", "p3", "p4"]
OFFER_IDS = ["p1", "p1#a", "p2", "p3#b", "p5"]  # p5: an offer whose product never arrives
NAMES = ["alpha", "beta", "gamma"]
AMOUNTS = ["0", "1.5", "10", "-2", "99.90"]
PRICE_TYPE_IDS = ["pt1", "pt2"]
CURRENCIES = [None, "RUB", "USD"]


@st.composite
def uploads(draw, n: int):
    result = []
    for i in range(n):
        recs = []
        for gid in draw(st.lists(st.sampled_from(GROUP_IDS), unique=True)):
            recs.append(group(gid, draw(st.sampled_from(NAMES)), deleted=draw(st.booleans())))
        for pid in draw(st.lists(st.sampled_from(PRODUCT_IDS), unique=True)):
            recs.append(
                product(
                    pid,
                    draw(st.sampled_from(NAMES)),
                    group_ids=[draw(st.sampled_from(GROUP_IDS))],
                    deleted=draw(st.integers(0, 4)) == 0,
                )
            )
        for oid in draw(st.lists(st.sampled_from(OFFER_IDS), unique=True)):
            recs.append(offer(oid, draw(st.sampled_from(NAMES)), deleted=draw(st.integers(0, 4)) == 0))
        for pt in draw(st.lists(st.sampled_from(PRICE_TYPE_IDS), unique=True)):
            recs.append(PriceType(pt, pt, currency=draw(st.sampled_from(CURRENCIES[1:]))))
        for oid in draw(st.lists(st.sampled_from(OFFER_IDS), unique=True)):
            recs.append(
                price(
                    oid,
                    draw(st.sampled_from(AMOUNTS)),
                    pt=draw(st.sampled_from(PRICE_TYPE_IDS)),
                    currency=draw(st.sampled_from(CURRENCIES)),  # None: the price type's
                )
            )
        for oid in draw(st.lists(st.sampled_from(OFFER_IDS), unique=True, max_size=3)):
            recs.append(stock(oid, draw(st.sampled_from(["w1", "w2"])), draw(st.sampled_from(AMOUNTS))))
        for oid in draw(st.lists(st.sampled_from(OFFER_IDS), unique=True, max_size=3)):
            recs.append(total(oid, draw(st.sampled_from(AMOUNTS))))
        if draw(st.integers(0, 5)) == 0:
            recs.append(Reject(Entity.GOODS, None, "missing Ид", f"<Товар n='{i}'/>"))
        if draw(st.integers(0, 5)) == 0:
            recs.append(price("p1", "NaN", pt="pt9"))  # a load-time reject
        recs = draw(st.permutations(recs))
        full = draw(st.sets(st.sampled_from(sorted(DEACTIVATING_ENTITIES))))
        result.append((ref(i + 1, *full), recs))
    return result


@st.composite
def scenario(draw):
    n = draw(st.integers(1, 4))
    ups = draw(uploads(n))
    order = list(draw(st.permutations(range(n))))
    for _ in range(draw(st.integers(0, 2))):  # repeats, anywhere
        order.insert(draw(st.integers(0, len(order))), draw(st.integers(0, n - 1)))
    return ups, order


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(case=scenario())
def test_any_order_with_repeats_ends_in_the_chronological_state(two_stores, case):
    store, reference = two_stores
    ups, order = case
    wipe(store)
    wipe(reference)
    for upload_ref, recs in ups:  # chronological, once each
        reference.load(recs, upload_ref, allow_mass_deactivation=True)
    for i in order:
        upload_ref, recs = ups[i]
        store.load(recs, upload_ref, allow_mass_deactivation=True)
    assert snapshot(store) == snapshot(reference)
