"""Staging turns (store/turns.py): one load of a process stages at a time, stock before prices."""

from __future__ import annotations

import threading
import time

import pytest

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store import transaction, turns
from onec_pipeline.store.turns import Turns, priority_of
from onec_pipeline_tests.store.helpers import offer, price, product, ref, rows, stock


def test_priorities_follow_what_a_load_writes():
    assert priority_of([Entity.RESTS]) > priority_of([Entity.PRICES]) > priority_of([Entity.OFFERS])
    assert priority_of([Entity.PRICES, Entity.STOCK_TOTALS]) == priority_of([Entity.RESTS])
    assert priority_of([]) == 0


def _stage_two(first: tuple[str, int, int], second: tuple[str, int, int], *, head_start: float) -> list[str]:
    """Two stagers (name, priority, batches) in threads of one process: the first starts, the second asks
    ``head_start`` seconds after the first is staging; the names of the batches in the order staged."""
    gate, log = Turns(), []
    first_started = threading.Event()

    def stager(name: str, priority: int, batches: int) -> threading.Thread:
        def run() -> None:
            with gate.turn(priority) as turn:
                first_started.set()
                for _ in range(batches):
                    log.append(name)
                    time.sleep(0.01)
                    turn.offer()

        return threading.Thread(target=run, name=name)

    threads = [stager(*first), stager(*second)]
    threads[0].start()
    assert first_started.wait(5)
    time.sleep(head_start)
    threads[1].start()
    for thread in threads:
        thread.join(10)
    return log


def test_one_stager_at_a_time_and_a_higher_priority_takes_over_between_batches():
    names = _stage_two(("prices", 1, 30), ("rests", 2, 10), head_start=0.05)  # prices staging when rests asks
    first_high = names.index("rests")
    # rests staged all its batches in one run, between two of prices' batches, and prices resumed after
    assert names[first_high : first_high + 10] == ["rests"] * 10
    assert 0 < first_high < len(names) - 10
    assert names.count("prices") == 30


def test_an_equal_priority_waits_for_the_holder_to_finish():
    assert _stage_two(("a", 1, 10), ("b", 1, 10), head_start=0) == ["a"] * 10 + ["b"] * 10


def test_a_wait_is_bounded():
    """Past ``max_wait`` a load stages beside the holder: turns never make a load wait indefinitely."""
    gate = Turns(max_wait=0.2)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with gate.turn(2):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(5)
    started = time.perf_counter()
    with gate.turn(1) as turn:
        waited = time.perf_counter() - started
    release.set()
    thread.join(10)
    assert 0.15 <= waited < 5
    assert 0.15 <= turn.waited <= waited
    with gate.turn(0):  # both gone: free again
        pass


def test_an_error_while_staging_gives_the_turn_back():
    gate = Turns(max_wait=5)
    with pytest.raises(RuntimeError), gate.turn(1):
        raise RuntimeError("reader failed")
    started = time.perf_counter()
    with gate.turn(1):
        assert time.perf_counter() - started < 1


@pytest.mark.postgres
def test_two_loads_in_threads_stage_in_turns_and_both_apply(pg_store, monkeypatch):
    """Real transactions in two threads of one process: the stock load asks its turn while the prices
    load stages, the prices load steps aside, stock stages to its end first; both loads apply."""
    monkeypatch.setattr(transaction, "PROGRESS_EVERY", 50)  # offer the turn often
    gate = Turns()
    monkeypatch.setattr(transaction, "TURNS", gate)
    store = pg_store
    ids = [f"o{n}" for n in range(400)]
    store.load([*(product(i) for i in ids), *(offer(i) for i in ids)], ref(1))
    order: list[str] = []
    prices_staging = threading.Event()

    def prices_records():
        for n, offer_id in enumerate(ids):
            if n == 100:
                prices_staging.set()
                time.sleep(0.3)  # rests asks for its turn meanwhile
            order.append("prices")
            yield price(offer_id, n + 1, "retail")

    def rests_records():
        for offer_id in ids:
            order.append("rests")
            yield stock(offer_id, "w1", 2)

    errors: list[BaseException] = []
    waits: dict[Entity, float] = {}

    def load(records, entity: Entity) -> None:
        try:
            with store.transaction(ref(2)) as tx:
                tx.load(records, entities=[entity])
                waits[entity] = tx.turn_seconds
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=load, args=(prices_records(), Entity.PRICES))
    first.start()
    assert prices_staging.wait(10)
    second = threading.Thread(target=load, args=(rests_records(), Entity.RESTS))
    second.start()
    first.join(30)
    second.join(30)
    assert not errors
    rests_at = order.index("rests")
    assert 100 <= rests_at < 200  # prices stepped aside at its next offer, after 100-odd records
    assert order[rests_at : rests_at + len(ids)] == ["rests"] * len(ids)  # stock staged in one run
    assert order.count("prices") == len(ids)
    # stock waited for prices' next batch (its reader sleeps 0.3 s before it), prices while stock staged
    assert waits[Entity.RESTS] >= 0.2 and waits[Entity.PRICES] > 0
    assert len(rows(store, "prices", "offer_id")) == len(ids)
    assert len(rows(store, "rests", "offer_id")) == len(ids)


def test_the_process_has_one_set_of_turns():
    assert transaction.TURNS is turns.TURNS
