"""The nightly catalog audit checks the whole catalog (ephemeral instance, SQLite)."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, DagsterInstance

from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import CatalogDatabase
from onec_pipeline.runs import run_import


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def test_nightly_audit_checks_the_whole_catalog(instance, samples_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    summary = run_import(
        samples_dir / "cml-203", database_url=db, archive_dir=tmp_path / "archive", instance=instance
    )
    assert summary.success, summary.error
    result = defs.resolve_job_def("catalog_audit").execute_in_process(
        instance=instance, resources={"catalog_db": CatalogDatabase(database_url=db)}
    )
    assert result.success
    evaluations = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert set(evaluations) == {
        "goods_references_audit",
        "offers_references_audit",
        "prices_references_audit",
        "rests_references_audit",
        "prices_not_negative_audit",
        "rests_negative_stock_audit",
    }
    # cml-203 (CommerceML 2.03) has goods per characteristic: its offers point at plain product ids
    assert not evaluations["offers_references_audit"].passed
    assert evaluations["prices_not_negative_audit"].passed
