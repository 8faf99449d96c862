"""Imports killed with SIGKILL mid-load, and imports running side by side (issue 12; real processes of
``onec-pipeline import``, real PostgreSQL).

* kill -9 while an asset loads: every table equals a committed state (each asset's tables either as before
  the import or as a clean import leaves them), and the re-run completes equal to a clean import;
* two and three imports of successive uploads started at once all succeed and end in the chronological
  state (the load lock serialises their writing, the version guard their order).
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid

import pytest
import sqlalchemy as sa

from onec_pipeline.defs.constants import ASSET_ENTITIES, CATALOG_ASSETS
from onec_pipeline.store.tables import metadata
from onec_pipeline_tests.faults.helpers import (
    archived_key,
    catalog_state,
    generate,
    run_import_process,
    start_import,
    wait_for_statement,
)
from onec_pipeline_tests.store.helpers import WALL_CLOCK

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    root = tmp_path_factory.mktemp("uploads")
    return [generate(root, version) for version in range(3)]


@pytest.fixture
def schemas(pg_database_url):
    """Fresh schemas of the session database: one per call, dropped at the end."""
    made: list[str] = []

    def new() -> str:
        made.append(f"f_{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield new
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as conn:
        for schema in made:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="module")
def clean_states(uploads, pg_database_url, tmp_path_factory):
    """The catalog after importing uploads[0..n] one after the other, for n = 0, 1, 2."""
    schema = f"f_ref_{uuid.uuid4().hex[:8]}"
    archive = tmp_path_factory.mktemp("reference-archive")
    states = []
    for upload in uploads:
        done = run_import_process(upload, pg_database_url, schema, archive)
        assert done.returncode == 0, done.stdout + done.stderr
        states.append(catalog_state(pg_database_url, schema))
    yield states
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _asset_tables(asset: str) -> list[str]:
    return sorted(e.value for e in ASSET_ENTITIES[asset])


#: offers.quantity is the sellable quantity from stock: written by the rests asset (store/shop_rules.py)
QUANTITY = [c.name for c in metadata(None).tables["offers"].columns if c.name not in WALL_CLOCK].index(
    "quantity"
)


def _asset_state(state: dict[str, list[tuple]], asset: str) -> dict[str, list[tuple]]:
    """The rows of ``asset``'s tables as that asset writes them (``offers.quantity`` goes with the rests)."""
    got = {t: state[t] for t in _asset_tables(asset)}
    if asset == "offers":
        got["offers"] = [(*r[:QUANTITY], None, *r[QUANTITY + 1 :]) for r in got["offers"]]
    if asset == "rests":
        got["offers.quantity"] = [(r[0], r[QUANTITY]) for r in state["offers"] if r[QUANTITY] is not None]
    return got


@pytest.mark.parametrize("during", ["goods", "prices", "rests"])
def test_kill_9_mid_load_leaves_a_committed_state_and_a_rerun_completes(
    during, uploads, clean_states, pg_database_url, schemas, tmp_path
):
    url, schema, archive = pg_database_url, schemas(), tmp_path / "archive"
    empty = {table: [] for table in clean_states[0]}
    process = start_import(uploads[0], url, schema, archive)
    try:
        # any statement of the asset's open transaction that names its staging table (creating it, the COPY
        # into it, the dedup reading it) or its de-duplicated rows (the upsert, the rules reading them), or
        # the transaction idle between them while it reads: a 6,000-row COPY alone can end between two polls,
        # and so can every statement of the staging of 2,000 goods
        wait_for_statement(url, process, (f"onec_stg_{during}_", f"onec_dd_{during}_"), idle_staging=True)
    finally:
        with contextlib.suppress(ProcessLookupError):  # ended already: wait_for_statement says so
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL

    state = catalog_state(url, schema)
    for asset in CATALOG_ASSETS:
        got = _asset_state(state, asset)
        assert got in (_asset_state(empty, asset), _asset_state(clean_states[0], asset)), (
            f"{asset}: its tables hold neither the state before the import nor a committed load"
        )
    assert all(state[t] == [] for t in _asset_tables(during)), f"{during} was killed before its commit"
    assert state != clean_states[0]

    rerun = run_import_process(archive / archived_key(archive), url, schema, archive)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert catalog_state(url, schema) == clean_states[0]


@pytest.mark.parametrize("count", [2, 3])
def test_concurrent_imports_all_succeed_and_end_in_the_chronological_state(
    count, uploads, clean_states, pg_database_url, schemas, tmp_path
):
    url, schema = pg_database_url, schemas()
    # newest first: without the version guard the oldest, finishing last, would win
    processes = [
        start_import(upload, url, schema, tmp_path / f"archive-{n}")
        for n, upload in reversed(list(enumerate(uploads[:count])))
    ]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    assert catalog_state(url, schema) == clean_states[count - 1]
