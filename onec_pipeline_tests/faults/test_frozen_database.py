"""A frozen database fails a load with a clear error within the stall timeout, and the load can be re-run
(issue 12, item 8). The database sits behind a local TCP proxy that stops forwarding (``proxy.py``).

The bound each test checks is the configured timeout plus generous slack: it tells a load that gives up
from one that hangs, it measures no speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from onec_pipeline.settings import DatabaseTimeouts
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.liveness import DatabaseUnresponsiveError
from onec_pipeline_tests.faults.helpers import (
    archived_key,
    catalog_state,
    generate,
    run_import_process,
    start_import,
    wait_for_statement,
)
from onec_pipeline_tests.faults.proxy import FreezableProxy
from onec_pipeline_tests.store.helpers import offer, ref, snapshot, stock

pytestmark = pytest.mark.postgres

STALL = 6.0
TIMEOUTS = DatabaseTimeouts(
    connect=2, stall=STALL, statement=600, lock=60, load_lock=60, idle_in_transaction=60
)
#: the load must have failed by then (the stall timeout, a probe interval, the connect timeout, slack)
GIVE_UP_WITHIN = STALL + 30


@pytest.fixture
def direct(pg_schema_url):
    url, schema = pg_schema_url
    store = CatalogStore(url, schema=schema)
    store.load([offer(f"o{i}") for i in range(10)] + [stock("o1", "w1", 1)], ref(1))
    yield store
    store.dispose()


@pytest.fixture
def proxy(pg_schema_url):
    with FreezableProxy(pg_schema_url[0]) as p:
        yield p


def _records(n: int, freeze_at: int | None = None, freeze=lambda: None):
    for i in range(n):
        if i == freeze_at:
            freeze()
        yield stock(f"o{i}", "w1", i)


def _fails_in_time(load) -> tuple[BaseException, float]:
    """Run ``load`` in a thread; its error and how long it took (None: still running after the bound)."""
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            load()
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GIVE_UP_WITHIN)
    assert not thread.is_alive(), f"the load still hangs after {GIVE_UP_WITHIN} s on a frozen database"
    assert "error" in outcome, "the load succeeded on a frozen database"
    return outcome["error"], time.monotonic() - started


@pytest.mark.parametrize("path", ["server", "connection"])
def test_a_database_frozen_mid_load_fails_it_with_a_clear_error_and_a_rerun_completes(direct, proxy, path):
    """``server``: nothing answers any more (the probe cannot connect either); ``connection``: only the
    load's own connection is cut, the server still answers the probe and sees it waiting for our client."""
    schema = direct.schema
    before = snapshot(direct)
    store = CatalogStore(proxy.url, schema=schema, timeouts=TIMEOUTS)
    store.ensure_schema()
    freeze = (lambda: proxy.freeze(existing_only=True)) if path == "connection" else proxy.freeze
    error, _seconds = _fails_in_time(lambda: store.load(_records(150_000, 60_000, freeze), ref(2)))
    assert isinstance(error, DatabaseUnresponsiveError), repr(error)
    message = str(error)
    assert f"127.0.0.1:{proxy.port}" in message and "stopped answering" in message
    assert "re-run" in message and "ONEC_DB_STALL_TIMEOUT=6" in message
    assert ("has not answered" in message) if path == "server" else ("connection is cut" in message)
    proxy.thaw()
    assert snapshot(direct) == before, "nothing of the interrupted load was committed"

    # the re-run (through the same proxy, now forwarding again) completes like a clean load
    store.load(_records(150_000), ref(2))
    after = snapshot(direct)
    assert len(after["rests"]) == 150_000 and after["rests"][-1][2] == 99_999  # o99999, the last by text
    store.dispose()


def test_a_frozen_database_fails_a_new_connection_within_the_connect_timeout(proxy, pg_schema_url):
    proxy.freeze()
    store = CatalogStore(proxy.url, schema=pg_schema_url[1], timeouts=TIMEOUTS)
    error, seconds = _fails_in_time(store.ensure_schema)
    assert "timeout expired" in str(error)
    store.dispose()


def test_a_long_statement_on_a_live_server_is_not_interrupted(direct):
    """The watchdog probes a statement that runs for several stall periods and leaves it alone."""
    store = CatalogStore(direct.url, schema=direct.schema, timeouts=DatabaseTimeouts(connect=2, stall=2))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1 FROM pg_sleep(7)").scalar_one() == 1
    store.dispose()


@pytest.mark.slow
def test_onec_pipeline_import_on_a_database_frozen_mid_load_fails_clearly_and_the_rerun_completes(
    proxy, pg_schema_url, tmp_path
):
    """The operator's view: ``onec-pipeline import`` exits non-zero with the reason (no traceback) instead
    of hanging; re-running the archived upload once the database answers gives a clean import's catalog."""
    url, schema = pg_schema_url
    upload = generate(tmp_path, 0, offers=10_000)
    reference = run_import_process(upload, url, f"{schema}_ref", tmp_path / "reference")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    clean = catalog_state(url, f"{schema}_ref")

    archive = tmp_path / "archive"
    env = {"ONEC_DB_STALL_TIMEOUT": str(STALL), "ONEC_DB_CONNECT_TIMEOUT": "2"}
    process = start_import(upload, proxy.url, schema, archive, **env)
    wait_for_statement(url, process, "COPY onec_stg_prices_")
    proxy.freeze()
    try:
        output, _ = process.communicate(timeout=GIVE_UP_WITHIN + 30)  # + the process's own start-up
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("onec-pipeline import still hangs on a frozen database")
    assert process.returncode != 0
    assert ("stopped answering" in output or "lost the connection" in output) and "re-run" in output, output
    assert "Traceback" not in output, output
    proxy.thaw()

    rerun = run_import_process(archive / archived_key(archive), proxy.url, schema, archive, **env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert catalog_state(url, schema) == clean
