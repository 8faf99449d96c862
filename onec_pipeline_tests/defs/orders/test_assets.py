"""The Dagster side of orders: ``order_updates`` per upload through a real (ephemeral) instance with its
check, a replay and an older upload after a newer one; ``orders_export`` to the outbox. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

from dagster import AssetSelection, DagsterInstance, materialize

from onec_pipeline.commerceml import Order, iter_file_records
from onec_pipeline_tests.store.customers.helpers import migrate
from onec_pipeline_tests.store.orders.helpers import order_row, site_order


def _resources(url, schema, archive):
    from onec_pipeline.defs.resources import CatalogDatabase, ImportProgress, UploadDirs

    return {
        "catalog_db": CatalogDatabase(database_url=url, db_schema=schema),
        "upload_dirs": UploadDirs(archive_dir=str(archive)),
        "progress": ImportProgress(),
    }


def test_order_updates_through_dagster(db_url_schema, tmp_path, samples_dir):
    from onec_pipeline.defs.orders.assets import order_updates
    from onec_pipeline.defs.orders.checks import order_checks
    from onec_pipeline.defs.partitions import uploads_partitions
    from onec_pipeline.runs import archive_for_import

    url, schema = db_url_schema
    engine = migrate(url, schema)
    table_schema = None if engine.dialect.name == "sqlite" else schema
    with engine.begin() as conn:  # a site order 1C took: 319 (the others 1C created itself)
        site_order(conn, table_schema, "319", sent_to_1c_at=None)
    archive = tmp_path / "archive"
    resources = _resources(url, schema, archive)
    checks = AssetSelection.checks(
        *[k for c in order_checks if c.partitions_def is not None for k in c.check_keys]
    )

    def run(folder):
        key = archive_for_import(folder, archive).key
        with DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(uploads_partitions.name, [key])
            result = materialize(
                [order_updates, *order_checks],
                selection=AssetSelection.assets(order_updates).without_checks() | checks,
                partition_key=key,
                instance=instance,
                resources=resources,
            )
        assert result.success
        [mat] = result.asset_materializations_for_node("order_updates")
        return mat.metadata, {e.check_name: e for e in result.get_asset_check_evaluations()}

    newer = tmp_path / "in" / "newer"
    shutil.copytree(samples_dir / "package-31-subfolders" / "documents", newer / "documents")
    meta, evals = run(newer)
    assert (meta["updated"].value, meta["inserted"].value, meta["stale"].value) == (1, 23, 0)
    assert meta["unknown_offer_lines"].value > 0  # the catalog is empty: every line is unknown
    assert not evals["order_updates_unknown_offers"].passed
    with engine.begin() as conn:
        before = order_row(conn, table_schema, "319")
    assert (before["origin"], before["number_1c"], before["posted"], before["comment"]) == (
        "site",
        "L319",
        True,
        "звонить после 18:00",
    )
    # the same upload again: nothing changes
    meta, _ = run(newer)
    assert (meta["updated"].value, meta["inserted"].value) == (0, 0)
    # an older upload (ДатаФормирования a year earlier) saying the order is not posted: stale
    older = tmp_path / "in" / "older" / "documents.xml"
    older.parent.mkdir(parents=True)
    text = (newer / "documents" / "2" / "documents.xml").read_text(encoding="utf-8-sig")
    text = text.replace('ДатаФормирования="2017-08-24', 'ДатаФормирования="2016-08-24').replace(
        "<Значение>true</Значение>", "<Значение>false</Значение>"
    )
    older.write_text(text, encoding="utf-8")
    meta, _ = run(older.parent)
    assert meta["stale"].value == 4 and meta["updated"].value == 0
    with engine.begin() as conn:
        assert order_row(conn, table_schema, "319") == before
    engine.dispose()


def test_orders_export_through_dagster(db_url_schema, tmp_path):
    from onec_pipeline.defs.orders.assets import orders_export

    url, schema = db_url_schema
    engine = migrate(url, schema)
    table_schema = None if engine.dialect.name == "sqlite" else schema
    with engine.begin() as conn:
        site_order(conn, table_schema, "77")
    outbox = tmp_path / "outbox"
    config = {"ops": {"orders_export": {"config": {"outbox_dir": str(outbox), "version": "2.08"}}}}
    result = materialize(
        [orders_export], resources=_resources(url, schema, tmp_path / "a"), run_config=config
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("orders_export")
    assert mat.metadata["exported"].value == 1 and mat.metadata["version"].value == "2.08"
    assert mat.metadata["pending_export"].value == 1  # written, not yet confirmed by 1C
    [path] = list(outbox.glob("orders-*.xml"))
    assert [r.id for r in iter_file_records(path) if isinstance(r, Order)] == ["77"]
    engine.dispose()
