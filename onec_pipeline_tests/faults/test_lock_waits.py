"""Lock waits say what they wait for, and give up after their timeout (issue 12, item 8; real PostgreSQL)."""

from __future__ import annotations

import psycopg2
import pytest
import sqlalchemy as sa

from onec_pipeline.settings import DatabaseTimeouts
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.load_lock import LoadLockTimeout, load_lock_key
from onec_pipeline_tests.store.helpers import price, ref, row, snapshot

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


def test_waiting_for_another_imports_load_lock_names_it_and_gives_up_after_the_timeout(store):
    holder = _session(store, "the-other-import")
    holder.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": load_lock_key(store.schema)})
    holder.execute(sa.text("SELECT 42"))
    before = snapshot(store)
    reporter = Reporter()
    with pytest.raises(LoadLockTimeout) as err:
        with store.transaction(ref(2), log=reporter) as tx:
            tx.load([price("a", 2)])
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
        tx.load([price("a", 2)])
    assert row(store, "prices", offer_id="a")["price"] == 2 and reporter.messages == []


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
