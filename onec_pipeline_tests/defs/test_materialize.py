"""Every sample upload through `onec-pipeline import` (Dagster, real PostgreSQL): the tables then hold
exactly what the upload contains, derived independently from the reader's records."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.commerceml import Reject, discover_upload, read_upload
from onec_pipeline.commerceml.records import Entity
from onec_pipeline.defs.assets import ASSET_ENTITIES, CATALOG_ASSETS
from onec_pipeline_tests.conftest import sample_uploads

# table and key of each catalog entity
TABLES: dict[Entity, tuple[str, tuple[str, ...]]] = {
    Entity.GROUPS: ("groups", ("id",)),
    Entity.PROPERTIES: ("properties", ("id",)),
    Entity.UNITS: ("units", ("id",)),
    Entity.PRICE_TYPES: ("price_types", ("id",)),
    Entity.WAREHOUSES: ("warehouses", ("id",)),
    Entity.GOODS: ("goods", ("id",)),
    Entity.OFFERS: ("offers", ("id",)),
    Entity.PRICES: ("prices", ("offer_id", "price_type_id")),
    Entity.RESTS: ("rests", ("offer_id", "warehouse_id")),
    Entity.STOCK_TOTALS: ("stock_totals", ("offer_id",)),
}
WITH_ACTIVE = {
    Entity.GROUPS,
    Entity.PROPERTIES,
    Entity.PRICE_TYPES,
    Entity.WAREHOUSES,
    Entity.GOODS,
    Entity.OFFERS,
}
CATALOG_ENTITIES = set().union(*(ASSET_ENTITIES[a] for a in CATALOG_ASSETS))


def expected_from_reader(upload_dir: Path) -> dict[Entity, dict[tuple, object]]:
    """Per entity: key -> the last record with that key (the store's dedup: last occurrence wins)."""
    upload = discover_upload(upload_dir)
    out: dict[Entity, dict[tuple, object]] = {e: {} for e in TABLES}
    for rec in read_upload(upload, CATALOG_ENTITIES):
        if isinstance(rec, Reject):
            continue
        _table, key_cols = TABLES[rec.entity]
        out[rec.entity][
            tuple(str(getattr(rec, c if c != "price_type_id" else "price_type_id")) for c in key_cols)
        ] = rec
    return out


def _rows(conn, schema: str, table: str, cols: list[str]) -> dict[tuple, dict]:
    q = sa.text(f'SELECT * FROM "{schema}"."{table}"')
    result = {}
    for row in conn.execute(q).mappings():
        result[tuple(str(row[c]) for c in cols)] = dict(row)
    return result


def import_upload(path: Path, url: str, schema: str, archive: Path, *extra: str):
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(path),
            "--database-url",
            url,
            "--db-schema",
            schema,
            "--archive-dir",
            str(archive),
            *extra,
        ],
        catch_exceptions=False,
    )
    return result


def assert_tables_match_upload(url: str, schema: str, upload_dir: Path) -> dict[str, int]:
    expected = expected_from_reader(upload_dir)
    engine = sa.create_engine(url)
    counted: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            store_rejected: dict[str, set[str]] = {}
            for ent, eid in conn.execute(sa.text(f'SELECT entity, entity_id FROM "{schema}".rejects')):
                store_rejected.setdefault(ent, set()).add(eid)
            for entity, (table, key_cols) in TABLES.items():
                rows = _rows(conn, schema, table, list(key_cols))
                want = expected[entity]
                rejected = store_rejected.get(entity.value, set())
                want_keys = {k for k in want if k[0] not in rejected}
                assert set(rows) == want_keys, f"{table}: DB and upload differ"
                counted[table] = len(rows)
                for key, row in rows.items():
                    rec = want[key]
                    if entity in WITH_ACTIVE:
                        assert row["is_active"] == (not rec.deleted), f"{table} {key}: is_active"
                    if entity == Entity.GOODS:
                        assert row["name"] == rec.name
                    elif entity == Entity.OFFERS:
                        assert row["product_id"] == rec.product_id
                    elif entity == Entity.GROUPS:
                        assert (row["parent_id"], row["name"]) == (rec.parent_id, rec.name)
                    elif entity == Entity.PRICES:
                        assert Decimal(row["price"]) == rec.price, f"price {key}"
                    elif entity in (Entity.RESTS, Entity.STOCK_TOTALS):
                        assert Decimal(row["quantity"]) == rec.quantity, f"{table} {key}"
            # offers.quantity mirrors the stock total of the upload (owned by the rests asset)
            totals = expected[Entity.STOCK_TOTALS]
            for (offer_id,), row in _rows(conn, schema, "offers", ["id"]).items():
                want_q = totals.get((offer_id,))
                if want_q is not None and offer_id not in store_rejected.get("stock_totals", set()):
                    assert Decimal(row["quantity"]) == want_q.quantity
    finally:
        engine.dispose()
    return counted


SAMPLES = sample_uploads()


@pytest.mark.postgres
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_upload_lands_exactly(sample: Path, pg_schema_url, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the CLI must work without it
    url, schema = pg_schema_url
    archive = tmp_path / "archive"
    result = import_upload(sample, url, schema, archive)
    assert result.exit_code == 0, result.output
    [key] = [p.name for p in archive.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert key in result.output
    assert sample.is_dir() and any(sample.iterdir())  # the operator's files are copied, not taken
    counted = assert_tables_match_upload(url, schema, archive / key)
    assert sum(counted.values()) > 0


@pytest.mark.postgres
def test_run_import_summary_counts_and_dry_run(samples_dir, pg_schema_url, tmp_path, monkeypatch):
    from onec_pipeline.defs.runner import run_import

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
    # customers-only: this upload has none -> nothing selected, a clear error
    none = run_import(
        sample, database_url=url, db_schema=schema, only="customers", archive_dir=tmp_path / "a"
    )
    assert not none.success and "holds no data" in none.error


@pytest.mark.postgres
def test_prices_into_empty_catalog_fail_naming_the_upload(samples_dir, pg_schema_url, tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    url, schema = pg_schema_url
    up = tmp_path / "prices-only"
    up.mkdir()
    for f in (samples_dir / "ut11-package-209").iterdir():
        if f.name.startswith("prices"):
            shutil.copyfile(f, up / f.name)
    result = import_upload(up, url, schema, tmp_path / "archive")
    assert result.exit_code != 0
    [key] = [p.name for p in (tmp_path / "archive").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert "load the catalog first" in result.output and key in result.output


def test_cli_records_the_run_in_dagster_home(samples_dir, tmp_path, monkeypatch):
    import shutil

    from dagster import AssetKey, DagsterInstance

    from onec_pipeline_tests.conftest import REPO_ROOT

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(samples_dir / "official-204"),
            "--database-url",
            db,
            "--archive-dir",
            str(tmp_path / "a"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    [key] = [p.name for p in (tmp_path / "a").iterdir() if p.is_dir() and not p.name.startswith(".")]
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_dynamic_partitions("uploads") == [key]
        [run] = instance.get_runs()
        assert run.tags["onec/import"] == "true" and run.tags["dagster/partition"] == key
        mat = instance.fetch_materializations(AssetKey("goods"), limit=1).records[0]
        assert mat.partition_key == key and mat.run_id == run.run_id


@pytest.mark.postgres
@pytest.mark.slow
def test_parallel_run_out_of_process(pg_schema_url, tmp_path, monkeypatch):
    """The sensor's execution mode: multiprocess executor, prices and rests in their own processes."""
    from datetime import datetime

    from onec_pipeline import synth
    from onec_pipeline.defs.runner import run_import

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
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
    events = []
    summary = run_import(
        tmp_path / "delta",
        database_url=url,
        db_schema=schema,
        archive_dir=tmp_path / "a",
        parallel=True,
        log_progress=lambda event, asset, details: events.append((event, asset)),
    )
    assert summary.success, summary.error
    assert summary.selected == ["prices", "rests"]
    assert {a for e, a in events if e == "done"} == {"prices", "rests"}
    assert {c.name for c in summary.checks} >= {"prices_not_negative", "rests_references"}
    assert not any(c.name.endswith("_audit") for c in summary.checks)  # the audit is not an import check
    assert summary.assets["prices"].count("updated") > 0  # version 1 changed some prices
    want = expected_from_reader(summary.archive_path)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        prices = _rows(conn, schema, "prices", ["offer_id", "price_type_id"])
        rests = _rows(conn, schema, "rests", ["offer_id", "warehouse_id"])
    engine.dispose()
    assert {k: Decimal(r["price"]) for k, r in prices.items()} == {
        k: rec.price for k, rec in want[Entity.PRICES].items()
    }
    assert {k: Decimal(r["quantity"]) for k, r in rests.items()} == {
        k: rec.quantity for k, rec in want[Entity.RESTS].items()
    }


def test_cli_replay_says_already_applied_and_force_rereads(samples_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    first = import_upload(samples_dir / "cml-203", url, "onec", tmp_path / "archive")
    assert first.exit_code == 0, first.output
    assert "already applied" not in first.output
    replay = import_upload(samples_dir / "cml-203", url, "onec", tmp_path / "archive")
    assert replay.exit_code == 0, replay.output
    assert "│ goods  │ already applied │" in replay.output and "--force re-reads" in replay.output
    forced = import_upload(samples_dir / "cml-203", url, "onec", tmp_path / "archive", "--force")
    assert forced.exit_code == 0, forced.output
    assert "already applied" not in forced.output
