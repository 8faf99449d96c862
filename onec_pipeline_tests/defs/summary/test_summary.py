"""The catalog summary: its numbers equal counts taken directly from the tables (two shared samples imported
one after the other into real PostgreSQL), its tables, its catalog-wide checks, and the sensor that
refreshes it after import runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dagster import DagsterEventType, DagsterInstance, build_sensor_context

from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import CatalogDatabase
from onec_pipeline.defs.summary.sensors import catalog_summary_after_imports
from onec_pipeline.runs import run_import

SAMPLES = ("1coutlet-207-early", "1coutlet-207")  # the same shop, an early export and a later one


def _refresh(instance: DagsterInstance, url: str, schema: str | None):
    result = defs.resolve_job_def("refresh_catalog_summary").execute_in_process(
        instance=instance, resources={"catalog_db": CatalogDatabase(database_url=url, db_schema=schema)}
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("catalog_summary")
    checks = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    return {k: v.value for k, v in mat.metadata.items()}, checks


def _scalar(conn: sa.Connection, sql: str) -> float:
    value = conn.execute(sa.text(sql)).scalar_one()
    return float(value or 0)


@pytest.mark.postgres
def test_summary_numbers_equal_direct_counts_after_two_samples(samples_dir, pg_schema_url, tmp_path):
    url, schema = pg_schema_url
    with DagsterInstance.ephemeral() as instance:
        for name in SAMPLES:
            summary = run_import(
                samples_dir / name,
                database_url=url,
                db_schema=schema,
                archive_dir=tmp_path / "archive",
                instance=instance,
            )
            assert summary.success, summary.error
        meta, checks = _refresh(instance, url, schema)

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as conn:
        conn.execute(sa.text(f'SET search_path TO "{schema}"'))
        for table in ("groups", "properties", "price_types", "warehouses", "goods", "offers", "customers"):
            active = _scalar(conn, f"SELECT count(*) FROM {table} WHERE is_active")
            inactive = _scalar(conn, f"SELECT count(*) FROM {table} WHERE NOT is_active")
            assert (meta[f"{table}_active"], meta[f"{table}_inactive"]) == (active, inactive), table
        for table in ("units", "prices", "rests", "stock_totals"):
            assert meta[f"{table}_active"] + meta[f"{table}_inactive"] == _scalar(
                conn, f"SELECT count(*) FROM {table}"
            ), table
        assert meta["goods_active"] > 1000  # both samples landed: the later one has ~1,200 goods

        stock = """SELECT coalesce(o.quantity, (SELECT sum(r.quantity) FROM rests r WHERE r.offer_id = o.id))
                   FROM offers o WHERE o.is_active"""
        assert meta["offers_in_stock"] == _scalar(conn, f"SELECT count(*) FROM ({stock}) s(q) WHERE q > 0")
        assert meta["offers_out_of_stock"] == _scalar(
            conn, f"SELECT count(*) FROM ({stock}) s(q) WHERE q <= 0"
        )
        assert meta["offers_without_stock_data"] == _scalar(
            conn, f"SELECT count(*) FROM ({stock}) s(q) WHERE q IS NULL"
        )
        assert meta["offers_in_stock"] > 0 and meta["offers_out_of_stock"] > 0

        warehouses = conn.execute(sa.text("SELECT id, name FROM warehouses WHERE is_active")).all()
        assert warehouses
        for _id, name in warehouses:
            expected = _scalar(conn, f"SELECT sum(quantity) FROM rests WHERE warehouse_id = '{_id}'")
            assert meta[f"stock: {name}"] == pytest.approx(expected)
        assert meta["stock_quantity"] == pytest.approx(_scalar(conn, "SELECT sum(quantity) FROM rests"))

        for _id, name in conn.execute(sa.text("SELECT id, name FROM price_types")).all():
            mean = _scalar(
                conn,
                "SELECT avg(p.price) FROM prices p JOIN offers o ON o.id = p.offer_id "
                f"WHERE o.is_active AND p.price_type_id = '{_id}'",
            )
            assert meta[f"mean price: {name}"] == pytest.approx(mean, abs=0.01)

        newest_upload = conn.execute(sa.text("SELECT max(key) FROM uploads")).scalar_one()
        assert meta["last_upload"] == newest_upload
        assert meta["rejects_last_upload"] == _scalar(
            conn, f"SELECT count(*) FROM rejects WHERE upload = '{newest_upload}'"
        )
        assert meta["rejects_recent_uploads"] == _scalar(conn, "SELECT count(*) FROM rejects")
        full = conn.execute(sa.text("SELECT entity, max(upload_key) FROM full_exports GROUP BY entity")).all()
    engine.dispose()

    # readable tables: counts grouped by thousands, every table and every full-exported entity named
    assert f"| goods | {int(meta['goods_active']):,} |" in " ".join(meta["tables"].split())
    for entity, key in full:
        assert entity in meta["last_full_exports"] and key in meta["last_full_exports"]
    for name in ("stock_per_warehouse", "prices_per_type", "recent_uploads", "overview"):
        assert meta[name]
    # the catalog-wide audit checks are the summary's checks (none on the import assets)
    assert set(checks) == {
        "goods_references_audit",
        "offers_references_audit",
        "prices_references_audit",
        "rests_references_audit",
        "prices_not_negative_audit",
        "rests_negative_stock_audit",
    }
    assert checks["prices_not_negative_audit"].passed


def test_summary_is_refreshed_once_after_import_runs_never_after_dry_runs(samples_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance)
        assert catalog_summary_after_imports(context).skip_message  # nothing ran yet

        summary = run_import(
            samples_dir / "cml-203", database_url=db, archive_dir=tmp_path / "a", instance=instance
        )
        assert summary.success, summary.error
        result = catalog_summary_after_imports(build_sensor_context(instance=instance))
        [request] = result.run_requests
        assert request.tags["onec/after_run"] == summary.run_id
        cursor = result.cursor

        # nothing new: no second refresh
        again = catalog_summary_after_imports(build_sensor_context(instance=instance, cursor=cursor))
        assert again.skip_message

        # a dry run changes nothing: no refresh (the cursor moves on)
        dry = run_import(
            samples_dir / "cml-203",
            database_url=db,
            archive_dir=tmp_path / "a",
            instance=instance,
            dry_run=True,
        )
        assert dry.success, dry.error
        after_dry = catalog_summary_after_imports(build_sensor_context(instance=instance, cursor=cursor))
        assert "dry run" in after_dry.skip_message


def test_stock_on_sqlite_counts_offers_by_their_warehouse_rows(tmp_path):
    """The demo's catalog (SQLite; stock per warehouse, no totals): offers in stock are counted as such (the
    sellable quantity: negative warehouse rows count as 0)."""
    from onec_pipeline.cli.demo_cmd import write_upload

    write_upload(tmp_path / "demo", exported_at=None)
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    with DagsterInstance.ephemeral() as instance:
        assert run_import(
            tmp_path / "demo", database_url=db, archive_dir=tmp_path / "a", instance=instance
        ).success
        meta, _ = _refresh(instance, db, None)
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        in_stock = _scalar(
            conn,
            "SELECT count(*) FROM offers o WHERE o.is_active AND "
            "(SELECT sum(CASE WHEN r.quantity > 0 THEN r.quantity ELSE 0 END) FROM rests r "
            "WHERE r.offer_id = o.id) > 0",
        )
    engine.dispose()
    assert meta["offers_in_stock"] == in_stock > 0
    assert meta["offers_in_stock"] + meta["offers_out_of_stock"] == meta["offers_active"]


def test_summary_of_an_empty_catalog(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    with DagsterInstance.ephemeral() as instance:
        meta, checks = _refresh(instance, db, None)
    assert meta["goods_active"] == 0 and meta["offers_out_of_stock"] == 0 and meta["last_upload"] == "none"
    assert all(c.passed for c in checks.values())
