"""``onec-pipeline orders export [--dry-run]`` against a real database: the dry run marks nothing and leaves no
file, the export writes one file that reads back as the orders and is not repeated; bad options exit non-zero."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.commerceml import Order, iter_file_records
from onec_pipeline_tests.store.customers.helpers import migrate
from onec_pipeline_tests.store.orders.helpers import order_row, site_order


@pytest.mark.postgres
def test_orders_export_cli(pg_schema_url, tmp_path):
    url, schema = pg_schema_url
    engine = migrate(url, schema)
    with engine.begin() as conn:
        site_order(conn, schema, "501")
        site_order(conn, schema, "502", delivery=None)
    outbox = tmp_path / "outbox"
    base = ["orders", "export", "--database-url", url, "--schema", schema, "--outbox-dir", str(outbox)]
    runner = CliRunner()
    dry = runner.invoke(main, [*base, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output) == {
        "exported": 2,
        "order_ids": ["501", "502"],
        "file": None,
        "batch": None,
        "version": "2.05",
        "encoding": "windows-1251",
        "dry_run": True,
    }
    assert not outbox.exists() or not list(outbox.iterdir())
    with engine.begin() as conn:
        assert order_row(conn, schema, "501")["outbox_file"] is None
    real = runner.invoke(main, [*base, "--version", "3.1", "--encoding", "utf-8"])
    assert real.exit_code == 0, real.output
    assert "exported 2 order(s)" in real.output
    [path] = list(outbox.glob("orders-*.xml"))
    assert [r.id for r in iter_file_records(path) if isinstance(r, Order)] == ["501", "502"]
    again = runner.invoke(main, base)
    assert again.exit_code == 0 and "nothing to export" in again.output
    bad = runner.invoke(main, [*base, "--version", "9.9"])
    assert bad.exit_code != 0 and "unsupported CommerceML version" in bad.output
    engine.dispose()
