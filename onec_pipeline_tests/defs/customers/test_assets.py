"""The Dagster side of customers: the ``customers`` asset through a real (ephemeral) instance,
``customers_export`` and the customer checks. SQLite and real PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dagster import AssetCheckSeverity, AssetKey, AssetSelection, DagsterInstance, materialize

from onec_pipeline.commerceml.writer import write_customers
from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store import customers as cs
from onec_pipeline_tests.store.customers.helpers import contragent, log_rows, migrate, site_row


def _upload(tmp_path, name, records):
    write_customers(tmp_path / "incoming" / name / "contragents.xml", records)
    return tmp_path / "incoming" / name


def test_customers_asset_and_checks_through_dagster(db_url_schema, tmp_path):
    """Conflicts and duplicate e-mails surface as WARN / ERROR check results of the import run."""
    from onec_pipeline.defs.customers.assets import customers
    from onec_pipeline.defs.customers.checks import customer_checks
    from onec_pipeline.defs.partitions import uploads_partitions
    from onec_pipeline.defs.resources import CatalogDatabase, ImportProgress, UploadDirs
    from onec_pipeline.runs import archive_for_import

    url, schema = db_url_schema
    archive = tmp_path / "archive"
    resources = {
        "catalog_db": CatalogDatabase(database_url=url, db_schema=schema),
        "upload_dirs": UploadDirs(archive_dir=str(archive)),
        "progress": ImportProgress(),
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
    from onec_pipeline.defs.customers.assets import customers_export
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
    from onec_pipeline.runs import run_import

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


def _export_asset_body(url, schema, outbox, **config):
    import logging

    from onec_pipeline.defs.customers.assets import CustomersExportConfig, run_customers_export
    from onec_pipeline.defs.resources import CatalogDatabase

    db = CatalogDatabase(database_url=url, db_schema=schema)
    return run_customers_export(
        CustomersExportConfig(outbox_dir=str(outbox), **config), db, logging.getLogger("test")
    )


def test_export_asset_dry_run_and_failure_leave_no_file_and_rows_pending(
    db_url_schema, tmp_path, monkeypatch
):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    schema_ = None if engine.dialect.name == "sqlite" else schema
    with engine.begin() as conn:
        site_row(conn, schema_, name="Ждёт", email="w@x.ru")
    outbox = tmp_path / "outbox"

    result = _export_asset_body(url, schema, outbox, dry_run=True)
    assert result.metadata["exported"].value == 1 and result.metadata["dry_run"].value is True
    assert list(outbox.iterdir()) == []

    def broken(*args, **kwargs):
        raise RuntimeError("failure after the file was written")

    monkeypatch.setattr(cs.export, "customer_counts", broken)  # export_to_outbox lives in cs.export
    with pytest.raises(RuntimeError):
        _export_asset_body(url, schema, outbox)
    assert list(outbox.iterdir()) == []
    monkeypatch.undo()
    with engine.connect() as conn:
        assert cs.pending_export_count(conn, schema_) == 1
        assert log_rows(conn, schema_) == []

    result = _export_asset_body(url, schema, outbox)
    assert result.metadata["exported"].value == 1 and len(list(outbox.iterdir())) == 1
    engine.dispose()
