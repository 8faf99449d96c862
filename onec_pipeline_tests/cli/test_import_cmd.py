"""``onec-pipeline import``: every sample upload through the CLI (Dagster, real PostgreSQL) lands exactly
as the reader reads it; the run is recorded in $DAGSTER_HOME; replays and --force; customers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store import customers as cs
from onec_pipeline_tests.conftest import sample_uploads
from onec_pipeline_tests.runs.helpers import assert_tables_match_upload, import_upload

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


SAMPLE = "excerpts-31-with-customers"
SAMPLE_IDS = {
    "d9510b52-e154-11db-80b9-00c09f6bedaa",
    "4141d5ec-e2a6-11db-95d9-505054503030",
    "021e0e3f-e329-11db-95d9-505054503030",
    "c5b29133-e35a-11db-95d9-505054503030",
}


def _query(url: str, schema: str | None):
    engine = sa.create_engine(normalise_database_url(url))
    schema = None if engine.dialect.name == "sqlite" else schema
    t = cs.customer_tables(schema)
    try:
        with engine.connect() as conn:
            customers = [
                dict(r) for r in conn.execute(sa.select(t.customers).order_by(t.customers.c.id)).mappings()
            ]
            log = [dict(r) for r in conn.execute(sa.select(t.log).order_by(t.log.c.id)).mappings()]
        return customers, log
    finally:
        engine.dispose()


def test_cli_import_of_the_sample_loads_its_4_customers(samples_dir, db_url_schema, tmp_path, monkeypatch):
    from onec_pipeline.cli import main

    url, schema = db_url_schema
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    args = ["import", str(samples_dir / SAMPLE), "--database-url", url]
    if schema:
        args += ["--db-schema", schema]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    customers, log = _query(url, schema)
    assert {c["onec_id"] for c in customers} == SAMPLE_IDS
    assert all(c["created_in_1c"] and c["is_active"] for c in customers)
    tdu = next(c for c in customers if c["name"] == "ТД Уют")
    assert (tdu["email"], tdu["phone"]) == ("uyt@komp.kz", "+73272253939")
    assert tdu["representatives"] == [
        {
            "relation": "Контактное лицо",
            "id": "640a2bf0-e8ac-11db-95da-505054503030",
            "name": "Коновалов Александр Зиновьевич",
        }
    ]
    # the three Kazakh 12-digit tax numbers are not Russian INNs: kept raw, flagged
    flagged = {c["inn"] for c in customers if c["sync_status"] == "error"}
    assert flagged == {"181310839110", "181620360057", "600520144856"}
    assert [e["status"] for e in log].count("error") == 3 and len(log) == 4

    # importing the same upload again (customers only): nothing changes, the log gets one replay row
    again = CliRunner().invoke(main, [*args, "--only", "customers"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    customers2, log2 = _query(url, schema)
    assert customers2 == customers
    assert len(log2) == 5 and log2[-1]["details"]["reason"] == "replay"
    assert log2[-1]["details"]["unchanged"] == 4
