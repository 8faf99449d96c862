"""Backfill: several uploads' partitions materialised in shuffled order end in the same catalog as in
chronological order (the version guard), through the real Dagster assets on real PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from onec_pipeline import intake, synth
from onec_pipeline.runs import run_import
from onec_pipeline.store.schema import CATALOG_TABLES

T0 = datetime(2026, 11, 20, 9, 0, 0)
# (offers, version, full export?, sections, deleted share): a full export, deltas that change prices and
# stock, a smaller full export that deactivates what it no longer has, a prices/stock-only delta
UPLOADS = [
    dict(offers=160, version=0, only_changes=False, sections=None, deleted_share=0.0),
    dict(offers=160, version=1, only_changes=True, sections=None, deleted_share=0.05),
    dict(offers=160, version=2, only_changes=True, sections={"prices", "rests"}, deleted_share=0.0),
    dict(offers=120, version=3, only_changes=False, sections=None, deleted_share=0.0),
    dict(offers=160, version=4, only_changes=True, sections={"prices", "rests"}, deleted_share=0.0),
]
IGNORED_COLUMNS = {"updated_at", "recorded_at", "created_at", "first_loaded_at", "loaded_at", "id"}


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    root = tmp_path_factory.mktemp("backfill")
    archive = root / "archive"
    keys = []
    for i, spec in enumerate(UPLOADS):
        src = root / f"src{i}"
        synth.generate_upload(
            src,
            offers=spec["offers"],
            goods=40,
            price_types=2,
            warehouses=2,
            layout="classic" if i % 2 else "package",
            seed=11,
            version=spec["version"],
            changed_share=0.3,
            exported_at=T0 + timedelta(hours=i),
            only_changes=spec["only_changes"],
            deleted_share=spec["deleted_share"],
            sections=spec["sections"],
        )
        keys.append(intake.archive_path(src, archive, keep_source=True).key)
    assert keys == sorted(keys)  # keys sort chronologically
    return archive, keys


def _snapshot(url: str, schema: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in (*CATALOG_TABLES, "full_exports"):
                cols = [
                    r[0]
                    for r in conn.execute(
                        sa.text(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                        ),
                        {"s": schema, "t": table},
                    )
                    if r[0] not in IGNORED_COLUMNS
                ]
                col_sql = ", ".join(f'"{c}"' for c in cols)
                rows = conn.execute(sa.text(f'SELECT {col_sql} FROM "{schema}"."{table}"')).all()
                out[table] = sorted(tuple(map(str, r)) for r in rows)
    finally:
        engine.dispose()
    return out


@pytest.fixture
def two_schemas(pg_database_url):
    names = [f"bf_{uuid.uuid4().hex[:8]}", f"bf_{uuid.uuid4().hex[:8]}"]
    yield pg_database_url, names
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.mark.postgres
def test_shuffled_backfill_equals_chronological(archived, two_schemas, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    archive, keys = archived
    url, (chrono_schema, shuffled_schema) = two_schemas
    # newest full export first (the hard case), the rest shuffled; never a prices-only upload first
    newest_full = max(k for k in keys if intake.read_manifest(archive / k).full_kinds)
    rest = [k for k in keys if k != newest_full]
    random.Random(20261122).shuffle(rest)
    order = [newest_full, *rest]
    assert order != keys and sorted(order) == keys
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("uploads", keys)
        stale = {chrono_schema: 0, shuffled_schema: 0}
        for schema, sequence in ((chrono_schema, keys), (shuffled_schema, order)):
            for key in sequence:
                summary = run_import(
                    archive / key,
                    database_url=url,
                    db_schema=schema,
                    archive_dir=archive,
                    instance=instance,
                    allow_mass_deactivation=True,
                )
                assert summary.success, f"{schema} {key}: {summary.error}"
                stale[schema] += sum(c["stale"] for c in summary.counts().values())
        # chronological application never meets a newer row; the shuffled one does (the guard works)
        assert stale[chrono_schema] == 0 and stale[shuffled_schema] > 0
        # every partition was materialised twice in this instance
        from dagster import AssetKey

        records = instance.fetch_materializations(AssetKey("prices"), limit=100).records
        assert sorted({r.partition_key for r in records}) == keys
    chrono = _snapshot(url, chrono_schema)
    shuffled = _snapshot(url, shuffled_schema)
    assert chrono["offers"] and chrono["prices"] and chrono["rests"]
    for table in chrono:
        assert shuffled[table] == chrono[table], (
            f"{table} differs between shuffled and chronological backfill"
        )
    # the smaller full export deactivated offers it no longer contains (state after ALL uploads)
    assert any(row for row in chrono["offers"] if "False" in row)
