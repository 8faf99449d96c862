"""``run_import``: the summary it returns (counts, dry run, replays, --force), out-of-process runs, and the
progress events its caller receives."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from onec_pipeline import synth
from onec_pipeline.commerceml.records import Entity
from onec_pipeline.defs.constants import ASSET_ENTITIES
from onec_pipeline.runs import run_import
from onec_pipeline_tests.runs.helpers import (
    TABLES,
    assert_tables_match_upload,
    expected_from_reader,
    rows_by_key,
)


@pytest.mark.postgres
def test_run_import_summary_counts_and_dry_run(samples_dir, pg_schema_url, tmp_path, monkeypatch):

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    url, schema = pg_schema_url
    sample = samples_dir / "package-31-subfolders"
    dry = run_import(sample, database_url=url, db_schema=schema, dry_run=True, archive_dir=tmp_path / "a")
    assert dry.success, dry.error
    assert dry.assets["goods"].metadata["dry_run"] is True and dry.assets["goods"].count("inserted") > 0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".goods')).scalar_one() == 0
    summary = run_import(sample, database_url=url, db_schema=schema, archive_dir=tmp_path / "a")
    assert summary.success and summary.key == dry.key and summary.duplicate
    counted = assert_tables_match_upload(url, schema, summary.archive_path)
    # replaying the archived upload: recognised as already applied, nothing read, nothing written
    replay = run_import(summary.archive_path, database_url=url, db_schema=schema, archive_dir=tmp_path / "a")
    assert replay.success and replay.key == summary.key
    assert assert_tables_match_upload(url, schema, summary.archive_path) == counted
    if "customers" not in replay.selected:  # every asset skips a replay: no run is started at all
        assert replay.run_id is None and replay.duplicate
    for name, asset_summary in replay.assets.items():
        if name == "customers":
            continue  # customers always resolve (their replay contract logs one skipped row)
        assert asset_summary.metadata.get("already_applied") is True, name
        assert sum(asset_summary.count(c) for c in ("inserted", "updated", "deactivated")) == 0, name
    # forced, the replay re-reads everything and finds it unchanged (the version guard, not the skip)
    forced = run_import(
        summary.archive_path, database_url=url, db_schema=schema, archive_dir=tmp_path / "a", force=True
    )
    assert forced.success
    assert assert_tables_match_upload(url, schema, summary.archive_path) == counted
    for name, counts in forced.counts().items():
        assert "already_applied" not in forced.assets[name].metadata, name
        assert counts["inserted"] == counts["updated"] == counts["deactivated"] == 0, name
        assert counts["unchanged"] == summary.assets[name].count("inserted"), name
    with engine.connect() as conn:
        for name in ("goods", "offers", "prices", "rests"):
            tables = [TABLES[e][0] for e in ASSET_ENTITIES[name]]
            n = sum(
                conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".{t}')).scalar_one() for t in tables
            )
            assert summary.assets[name].count("inserted") == n > 0
    engine.dispose()
    meta = summary.assets["goods"].metadata
    assert meta["upload_key"] == summary.key and meta["export"] in ("full", "partial")
    for field in ("parse_seconds", "load_seconds", "rows_per_second", "files", "exported_at"):
        assert field in meta
    assert "goods/1/import.xml" in meta["files"]
    # prices and rests ran on threads of this process: each says how long it waited for its staging turn
    waits = [summary.assets[name].metadata["turn_wait_seconds"] for name in ("prices", "rests")]
    assert all(w >= 0 for w in waits)
    assert sum(summary.assets[name].metadata["seconds"] for name in ("prices", "rests")) > sum(waits)
    # customers-only: this upload has none -> nothing selected, a clear error
    none = run_import(
        sample, database_url=url, db_schema=schema, only="customers", archive_dir=tmp_path / "a"
    )
    assert not none.success and "holds no data" in none.error


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("steps", ["processes", "threads"])
def test_parallel_run_out_of_process(pg_schema_url, tmp_path, monkeypatch, steps):
    """The sensor's execution mode: prices and rests in processes of their own, or (a small upload) on
    threads of the run's process."""
    from datetime import datetime

    from onec_pipeline.defs import executor

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # every upload is large (processes) or small (threads)
    monkeypatch.setattr(executor, "THREADED_RUN_BELOW_BYTES", 0 if steps == "processes" else 2**40)
    (tmp_path / "dagster_home").mkdir()
    instance = DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    url, schema = pg_schema_url
    common = dict(offers=60, goods=20, price_types=2, warehouses=2, seed=5)
    synth.generate_upload(
        tmp_path / "full", **common, exported_at=datetime(2026, 11, 20, 8), only_changes=False
    )
    synth.generate_upload(
        tmp_path / "delta",
        **common,
        version=1,
        exported_at=datetime(2026, 11, 20, 9),
        sections={"prices", "rests"},
    )
    first = run_import(tmp_path / "full", database_url=url, db_schema=schema, archive_dir=tmp_path / "a")
    assert first.success, first.error
    events: list[tuple[str, str]] = []

    def import_delta():
        return run_import(
            tmp_path / "delta",
            database_url=url,
            db_schema=schema,
            archive_dir=tmp_path / "a",
            parallel=True,
            log_progress=lambda event, asset, details: events.append((event, asset)),
            instance=instance,
        )

    summary = import_delta()
    assert summary.success, summary.error
    run = instance.get_run_by_id(summary.run_id)
    assert run.run_config["execution"] == {"config": {"steps": steps}} and summary.steps == steps
    engine_says = " ".join(e.user_message for e in instance.all_logs(summary.run_id))
    if steps == "processes":
        assert "multiprocess executor" in engine_says and "on threads" not in engine_says
    else:
        assert "up to 2 at once on threads" in engine_says and "multiprocess executor" not in engine_says
    assert summary.selected == ["prices", "rests"]
    assert {a for e, a in events if e == "done"} == {"prices", "rests"}
    assert {a for e, a in events if e == "start"} == {"prices", "rests"}  # followed while it ran
    assert {c.name for c in summary.checks} >= {"prices_not_negative", "rests_references"}
    assert not any(c.name.endswith("_audit") for c in summary.checks)  # the audit is not an import check
    assert summary.assets["prices"].count("updated") > 0  # version 1 changed some prices
    for name in ("prices", "rests"):  # UT 11's prices and rests files: read by the reader's fast path
        assert summary.assets[name].metadata["reader"] == "fast path: 1 of 1 files", name
    want = expected_from_reader(summary.archive_path)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        prices = rows_by_key(conn, schema, "prices", ["offer_id", "price_type_id"])
        rests = rows_by_key(conn, schema, "rests", ["offer_id", "warehouse_id"])
    engine.dispose()
    assert {k: Decimal(r["price"]) for k, r in prices.items()} == {
        k: rec.price for k, rec in want[Entity.PRICES].items()
    }
    assert {k: Decimal(r["quantity"]) for k, r in rests.items()} == {
        k: rec.quantity for k, rec in want[Entity.RESTS].items()
    }
    # the same delta again: a duplicate every asset applied, answered without a run (and without the gate)
    events.clear()
    again = import_delta()
    assert again.success and again.duplicate and again.key == summary.key and again.run_id is None
    assert again.steps is None  # no run at all
    assert {n: a.metadata.get("already_applied") for n, a in again.assets.items()} == {
        "prices": True,
        "rests": True,
    }
    assert {a for e, a in events if e == "done"} == {"prices", "rests"}


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def test_progress_every_10000_records(instance, tmp_path):
    src = tmp_path / "big"
    synth.generate_upload(src, offers=2100, warehouses=5, price_types=1, layout="package", seed=3)
    events = []
    summary = run_import(
        src,
        database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
        archive_dir=tmp_path / "archive",
        instance=instance,
        log_progress=lambda event, asset, details: events.append((event, asset, details)),
    )
    assert summary.success, summary.error
    assert summary.steps == "threads"  # one process, ready steps side by side
    progress = [(a, d) for e, a, d in events if e == "progress"]
    assert [(a, d["records"]) for a, d in progress] == [("rests", 10_000)]  # 2100 x 5 stock rows + warehouses
    assert progress[0][1]["rate"] > 0
    meta = summary.assets["rests"].metadata
    assert meta["records"] == 2100 * 5 + 5 and meta["inserted"] == 2100 * 5 + 5
    assert meta["rows_per_second"] > 0
    # the run log has the progress line too
    logs = instance.all_logs(summary.run_id)
    assert any("10,000 records" in (e.user_message or "") for e in logs)
