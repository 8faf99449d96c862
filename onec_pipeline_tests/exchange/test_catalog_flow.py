"""1C's catalog exchange replayed against the served endpoint, through the real sensor and real runs into
PostgreSQL (FORMAT.md §11: the classic two-session flow, a zip with a split package, chunked files)."""

from __future__ import annotations

from datetime import datetime

import pytest
from dagster import DagsterRunStatus

from onec_pipeline import synth

EXPORTED = datetime(2026, 11, 20, 10, 15)


@pytest.fixture
def classic(tmp_path):
    """A classic 1C upload (import.xml + offers.xml), generated."""
    out = tmp_path / "classic"
    written = synth.generate_upload(out, offers=120, layout="classic", seed=7, exported_at=EXPORTED)
    return out, written.counts


def _import_until_done(onec, dagster, filename: str) -> list[str]:
    """1C's import loop: ask, and while the answer is progress let the sensor tick and the queued runs run;
    returns every answer's first two lines."""
    answers = []
    for _ in range(20):
        lines = onec.get("import", filename=filename)
        answers.append(lines[:2])
        if lines[0] != "progress":
            return answers
        if not dagster.tick() and dagster.queued:
            dagster.run_next()
    raise AssertionError(f"no final answer: {answers}")


def test_classic_flow_two_sessions_applied_in_order(onec, dagster, catalog, classic):
    src, expected = classic
    # session 1: checkauth (twice, as 1C does), init, file import.xml, import
    assert onec.checkauth()[0] == "success"
    settings = onec.session()
    assert settings["zip"] in ("yes", "no") and int(settings["file_limit"]) > 0
    assert onec.file("import.xml", (src / "import.xml").read_bytes())[0] == "success"
    first = onec.get("import", filename="import.xml")
    assert first[0] == "progress" and "waiting for the upload sensor" in first[1]
    [request] = dagster.tick()
    assert request.asset_selection  # the goods of import.xml
    queued = onec.get("import", filename="import.xml")
    assert queued[0] == "progress" and "queued" in queued[1], queued
    assert dagster.run_next() == DagsterRunStatus.SUCCESS
    assert onec.get("import", filename="import.xml")[0] == "success"
    goods = catalog.counts()["goods"]
    assert goods == expected["goods"]

    # session 2: a new checkauth/init, file offers.xml, import
    onec.session()
    assert onec.file("offers.xml", (src / "offers.xml").read_bytes())[0] == "success"
    answers = _import_until_done(onec, dagster, "offers.xml")
    assert answers[-1][0] == "success", answers
    counts = catalog.counts()
    assert counts["offers"] == expected["offers"] and counts["prices"] == expected["prices"]
    assert counts["goods"] == goods
    assert len(catalog.counts()) and dagster.instance.get_runs_count() == 2
