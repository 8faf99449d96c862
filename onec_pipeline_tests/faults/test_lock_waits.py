"""Lock waits say what they wait for, and give up after their timeout (issue 12, item 8; real PostgreSQL)."""

from __future__ import annotations

import psycopg2
import pytest
import sqlalchemy as sa

from onec_pipeline.settings import DatabaseTimeouts
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.load_lock import PRICES_FAMILY, LoadLockTimeout, load_lock_key
from onec_pipeline_tests.store.helpers import price, ref, row, snapshot, stock

pytestmark = pytest.mark.postgres


class Reporter:
    """Collects the warnings a load reports (as a run's log would)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def warning(self, msg: str, *args: object) -> None:
        self.messages.append(msg % args if args else msg)


@pytest.fixture
def store(pg_schema_url):
    url, schema = pg_schema_url
    store = CatalogStore(
        url, schema=schema, timeouts=DatabaseTimeouts(connect=5, stall=3, lock=4, load_lock=3)
    )
    store.load([price("a", 1)], ref(1))
    yield store
    store.dispose()


def _session(store: CatalogStore, application: str) -> sa.Connection:
    engine = sa.create_engine(store.url, connect_args={"application_name": application})
    conn = engine.connect()
    conn.begin()
    return conn


@pytest.mark.parametrize(
    ("family", "record", "check"),
    [
        (None, lambda n: stock("a", "w1", n), ("rests", {"offer_id": "a"}, "quantity")),
        (PRICES_FAMILY, lambda n: price("a", n), ("prices", {"offer_id": "a"}, "price")),
    ],
    ids=["schema lock (stock)", "prices lock (prices)"],
)
def test_waiting_for_another_imports_load_lock_names_it_and_gives_up_after_the_timeout(
    store, family, record, check
):
    holder = _session(store, "the-other-import")
    holder.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": load_lock_key(store.schema, family)}
    )
    holder.execute(sa.text("SELECT 42"))
    before = snapshot(store)
    reporter = Reporter()
    with pytest.raises(LoadLockTimeout) as err:
        with store.transaction(ref(2), log=reporter) as tx:
            tx.load([record(2)])
    message = str(err.value)
    assert "gave up after" in message and "ONEC_DB_LOAD_LOCK_TIMEOUT=3" in message
    assert "the-other-import" in message and "SELECT 42" in message
    assert "waiting for the load lock" in reporter.messages[0] and "the-other-import" in reporter.messages[0]
    assert snapshot(store) == before
    # once the other import has finished, the same load goes through
    holder.rollback()
    holder.close()
    reporter = Reporter()
    with store.transaction(ref(2), log=reporter) as tx:
        tx.load([record(2)])
    table, where, column = check
    assert row(store, table, **where)[column] == 2 and reporter.messages == []


def test_prices_apply_beside_a_load_holding_the_schema_lock_and_stock_beside_one_holding_prices(store):
    """The prices and the rests of one run write side by side: each family has its own lock."""
    for held, record, table, column in (
        (None, price("a", 3), "prices", "price"),
        (PRICES_FAMILY, stock("a", "w1", 5), "rests", "quantity"),
    ):
        holder = _session(store, "the-other-family")
        holder.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": load_lock_key(store.schema, held)}
        )
        reporter = Reporter()
        with store.transaction(ref(3), log=reporter) as tx:
            tx.load([record])
        assert row(store, table, offer_id="a")[column] in (3, 5) and reporter.messages == []
        holder.rollback()
        holder.close()


def test_a_load_of_both_families_and_a_locked_connection_wait_for_either_lock(store):
    for held in (None, PRICES_FAMILY):
        holder = _session(store, "the-other-import")
        holder.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": load_lock_key(store.schema, held)}
        )
        with pytest.raises(LoadLockTimeout):
            with store.transaction(ref(4), log=Reporter()) as tx:
                tx.load([price("a", 4), stock("a", "w1", 4)])
        with pytest.raises(LoadLockTimeout):
            with store.locked_connection():
                pass
        holder.rollback()
        holder.close()


def test_a_row_lock_held_by_another_session_is_reported_with_its_holder_then_times_out(store):
    storefront = _session(store, "storefront")
    storefront.execute(sa.text(f"SELECT * FROM {store.qualified('prices')} FOR UPDATE"))
    reporter = Reporter()
    with pytest.raises(sa.exc.OperationalError) as err:
        with store.transaction(ref(2), log=reporter) as tx:
            tx.load([price("a", 2)])
    assert isinstance(err.value.orig, psycopg2.errors.LockNotAvailable)
    waits = [m for m in reporter.messages if "lock held by" in m]
    assert waits, reporter.messages
    assert "storefront" in waits[0] and "FOR UPDATE" in waits[0] and "INSERT INTO" in waits[0]
    storefront.rollback()
    storefront.close()
    store.load([price("a", 2)], ref(2))
    assert row(store, "prices", offer_id="a")["price"] == 2
