"""A tiny run of the benchmark harness through the CLI (``onec-pipeline bench``): every stage runs, the
floor sees exactly the generated rows, the bench database is dropped. No timing assertions."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.synth import expected_counts

pytestmark = pytest.mark.postgres

OFFERS = 300


def _databases(url: str) -> set[str]:
    import psycopg2

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def test_bench_quick_smoke(pg_database_url: str, tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "--offers", str(OFFERS),
            "--database-url", pg_database_url,
            "--workdir", str(tmp_path / "work"),
            "--json", str(out_json),
            "--markdown", str(out_md),
        ],
    )  # fmt: skip
    report = json.loads(out_json.read_text())
    stages = {s["name"]: s for s in report["stages"]}
    expected = expected_counts(offers=OFFERS)

    # the generator and the floor see exactly the generated rows
    assert stages["generate"]["error"] is None
    assert stages["generate"]["detail"]["counts"] == expected
    extract = stages["floor: export TSV (COPY TO)"]
    assert extract["detail"]["counts"] == {k: expected[k] for k in ("goods", "offers", "prices", "rests")}
    assert stages["floor: COPY"]["rows"] == extract["rows"] == sum(extract["detail"]["counts"].values())
    assert stages["floor: raw parse"]["detail"]["mb"] > 0
    for st in report["stages"]:
        if st["error"] is None:
            assert st["seconds"] > 0, st["name"]
            assert st["peak_rss_mb"] > 0, st["name"]

    # the import ran through run_import, in one process (the default)
    assert report["mode"] == "one process"
    first = stages["import (first)"]
    assert first["error"] is None, first["error"]
    touched = first["detail"]["touched"]
    for table in ("goods", "offers", "prices", "rests"):
        assert touched[table] == expected[table], table
    assert touched["price_types"] == expected["price_types"]
    assert any(k.startswith("postgres") for k in first["processes"])  # the backend was watched
    assert "re-import (identical)" in stages and "import prices-only" in stages
    assert "reimport_rows_touched" in report["summary"]

    # the table was printed, the markdown written, the bench database dropped
    assert "pipeline" in result.output or "floor" in result.output
    assert out_md.read_text().startswith("| stage |")
    assert report["database"].startswith("onec_bench_")
    assert report["database"] not in _databases(pg_database_url)
    assert not any((tmp_path / "work").iterdir())


def test_bench_parallel_imports_into_a_migrated_catalog_and_an_existing_instance(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--parallel``: the catalog's tables are created before the first import's clock (in the bench's
    own process), the runs go to an instance created before the clock, which is removed afterwards."""
    from onec_pipeline.bench import harness
    from onec_pipeline.runs.instances import memory_tmp_dir

    migrated: list[str] = []
    real_migrate = harness.migrate_catalog
    monkeypatch.setattr(harness, "migrate_catalog", lambda url: migrated.append(url) or real_migrate(url))

    homes = Path(memory_tmp_dir() or tempfile.gettempdir())
    before = set(homes.glob("onec-bench-dagster-*"))
    out_json = tmp_path / "bench.json"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "--offers", "200",
            "--parallel",
            "--no-reimport",
            "--no-prices-only",
            "--database-url", pg_database_url,
            "--workdir", str(tmp_path / "work"),
            "--json", str(out_json),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out_json.read_text())
    assert report["mode"] == "parallel (threads)"  # 200 offers: the sensor's run of them uses threads
    assert {s["name"]: s for s in report["stages"]}["import (first)"]["detail"]["steps"] == "threads"
    first = {s["name"]: s for s in report["stages"]}["import (first)"]
    assert first["error"] is None, first["error"]
    expected = expected_counts(offers=200)
    for table in ("goods", "offers", "prices", "rests"):
        assert first["detail"]["touched"][table] == expected[table], table
    assert len(migrated) == 1 and report["database"] in migrated[0]  # before the import, untimed
    assert set(homes.glob("onec-bench-dagster-*")) == before  # the instance is gone with the run
