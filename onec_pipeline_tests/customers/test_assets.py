"""The Dagster side: the ``customers`` asset through a real (ephemeral) instance, the CLI import of the
sample upload, ``customers_export`` and the customer checks. SQLite and real PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from dagster import AssetCheckSeverity, AssetKey, AssetSelection, DagsterInstance, materialize

from onec_pipeline.commerceml.writer import write_customers
from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store import customers as cs

from .helpers import contragent

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


def _upload(tmp_path, name, records):
    write_customers(tmp_path / "incoming" / name / "contragents.xml", records)
    return tmp_path / "incoming" / name


def test_customers_asset_and_checks_through_dagster(db_url_schema, tmp_path):
    """Conflicts and duplicate e-mails surface as WARN / ERROR check results of the import run."""
    from onec_pipeline.defs.customers import customer_checks, customers
    from onec_pipeline.defs.partitions import uploads_partitions
    from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs
    from onec_pipeline.defs.runner import archive_for_import

    url, schema = db_url_schema
    archive = tmp_path / "archive"
    resources = {
        "catalog_db": CatalogDatabase(database_url=url, db_schema=schema),
        "upload_dirs": UploadDirs(archive_dir=str(archive)),
    }
    checks = AssetSelection.checks(*[k for c in customer_checks for k in c.check_keys])

    def run(path):
        key = archive_for_import(path, archive).key
        with DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(uploads_partitions.name, [key])
            result = materialize(
                [customers, *customer_checks],
                selection=AssetSelection.assets(customers).without_checks() | checks,
                partition_key=key,
                instance=instance,
                resources=resources,
            )
        assert result.success
        [mat] = result.asset_materializations_for_node("customers")
        evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
        return key, mat.metadata, evaluations

    _, meta, evals = run(_upload(tmp_path, "u1", [contragent("a", "A", emails=["dup@x.ru"])]))
    assert meta["inserted"].value == 1 and meta["conflicts"].value == 0
    assert evals["customers_open_conflicts"].passed and evals["customers_duplicate_emails"].passed

    # a second 1C contragent with the same e-mail: conflict (WARN), no duplicate row
    _, meta, evals = run(_upload(tmp_path, "u2", [contragent("b", "B", emails=["DUP@x.ru"])]))
    assert meta["conflicts"].value == 1 and meta["inserted"].value == 0
    conflict = evals["customers_open_conflicts"]
    assert not conflict.passed and conflict.severity == AssetCheckSeverity.WARN
    assert conflict.metadata["from_this_upload"].value == 1
    assert evals["customers_duplicate_emails"].passed

    # the storefront creates a customer with an e-mail 1C already has: duplicate among active rows (ERROR)
    engine = sa.create_engine(normalise_database_url(url))
    t = cs.customer_tables(None if engine.dialect.name == "sqlite" else schema)
    with engine.begin() as conn:
        conn.execute(t.customers.insert().values(name="site", email="dup@x.ru", needs_1c_export=True))
    engine.dispose()
    _, meta, evals = run(_upload(tmp_path, "u3", [contragent("c", "C")]))
    dupes = evals["customers_duplicate_emails"]
    assert not dupes.passed and dupes.severity == AssetCheckSeverity.ERROR
    assert dupes.metadata["duplicate_emails"].value == 1


def test_customers_export_asset_writes_the_outbox(db_url_schema, tmp_path, monkeypatch):
    from onec_pipeline.commerceml import Entity, discover_upload, read_upload
    from onec_pipeline.defs.customers import customers_export
    from onec_pipeline.defs.resources import CatalogDatabase
    from onec_pipeline.store import CatalogStore

    url, schema = db_url_schema
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONEC_OUTBOX_DIR", raising=False)
    store = CatalogStore(url, schema=schema)
    store.upgrade()
    t = cs.customer_tables(store.schema)
    with store.engine.begin() as conn:
        conn.execute(
            t.customers.insert(),
            [
                {"name": "Сайт 1", "email": "one@site.ru", "needs_1c_export": True},
                {"name": "Сайт 2", "email": "two@site.ru", "needs_1c_export": True},
            ],
        )
    store.dispose()
    resources = {"catalog_db": CatalogDatabase(database_url=url, db_schema=schema)}
    with DagsterInstance.ephemeral() as instance:
        result = materialize([customers_export], instance=instance, resources=resources)
        assert result.success
        [mat] = result.asset_materializations_for_node("customers_export")
        assert mat.metadata["exported"].value == 2
        outbox = tmp_path / "home" / "outbox"  # the default: $ONEC_HOME/outbox
        [file] = list(outbox.iterdir())
        assert mat.metadata["file"].value == file.name
        back = list(read_upload(discover_upload(outbox), {Entity.CUSTOMERS}))
        assert sorted(c.emails[0] for c in back) == ["one@site.ru", "two@site.ru"]
        # second run: nothing pending, no new file
        again = materialize([customers_export], instance=instance, resources=resources)
        [mat2] = again.asset_materializations_for_node("customers_export")
        assert mat2.metadata["exported"].value == 0 and len(list(outbox.iterdir())) == 1


def test_import_runs_execute_the_customer_checks(sqlite_url, tmp_path, monkeypatch):
    """The runner behind ``onec-pipeline import`` (and the sensor's runs) evaluate the customer checks."""
    from onec_pipeline.defs.runner import run_import

    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    first = run_import(
        _upload(tmp_path, "u1", [contragent("a", "A", emails=["x@y.ru"])]), database_url=sqlite_url
    )
    assert first.success, first.error
    second = run_import(
        _upload(tmp_path, "u2", [contragent("b", "B", emails=["x@y.ru"])]), database_url=sqlite_url
    )
    assert second.success, second.error
    assert second.assets["customers"].metadata["conflicts"] == 1
    checks = {c.name: c for c in second.checks if c.asset == "customers"}
    assert set(checks) == {"customers_open_conflicts", "customers_duplicate_emails"}
    assert (
        not checks["customers_open_conflicts"].passed
        and checks["customers_open_conflicts"].severity == "WARN"
    )
    assert checks["customers_duplicate_emails"].passed


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # raised inside evaluate_automation_conditions
def test_customers_export_is_requested_once_per_cron_tick():
    from datetime import datetime, timedelta

    from dagster import evaluate_automation_conditions

    from onec_pipeline.defs.definitions import defs

    export = AssetSelection.assets("customers_export")
    with DagsterInstance.ephemeral() as instance:
        start = datetime(2026, 11, 22, 10, 1)
        first = evaluate_automation_conditions(defs, instance, asset_selection=export, evaluation_time=start)
        # the first evaluation has no previous tick to compare with; a later tick requests one run
        at_tick = evaluate_automation_conditions(
            defs,
            instance,
            asset_selection=export,
            evaluation_time=start + timedelta(minutes=15),
            cursor=first.cursor,
        )
        assert at_tick.total_requested == 1
        assert at_tick.get_num_requested(AssetKey("customers_export")) == 1
        same_window = evaluate_automation_conditions(
            defs,
            instance,
            asset_selection=export,
            evaluation_time=start + timedelta(minutes=16),
            cursor=at_tick.cursor,
        )
        assert same_window.total_requested == 0
