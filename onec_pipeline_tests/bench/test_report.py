"""The bench report without a run: the summary against the targets, the notes and Markdown, and the
py-spy profile summary. No timing assertions: the figures are made up."""

from __future__ import annotations

from pathlib import Path

import pytest

from onec_pipeline.bench import BenchReport, Stage, markdown, summarise_profile
from onec_pipeline.bench.output import notes
from onec_pipeline.bench.report import summarise


def _report(*stages: Stage) -> BenchReport:
    return BenchReport(
        offers=10,
        mode="one process",
        started_at="now",
        machine={},
        counts={"prices_changed": 3},
        files_mb=1.0,
        stages=list(stages),
    )


def test_summary_compares_the_import_with_the_floor_and_the_targets() -> None:
    touched = {"prices": 30, "goods": 0}
    report = _report(
        Stage("floor: raw parse", seconds=1.0),
        Stage("import (first)", seconds=6.0, peak_rss_mb=120.0, processes={"postgres[7]": 400.0}),
        Stage("floor: COPY", seconds=2.0),
        Stage("re-import (identical)", seconds=1.0, peak_rss_mb=90.0, detail={"touched": {"goods": 0}}),
        Stage("import prices-only", seconds=3.0, children_peak_rss_mb=310.0, detail={"touched": touched}),
    )
    summary = summarise(report)
    assert summary["floor_seconds"] == 3.0
    assert summary["pipeline_over_floor"] == 2.0 and summary["target_floor_ratio"] is True
    assert summary["floor_ratio_target"] == 3.0  # 2.0 from a million offers on
    assert summary["reimport_speedup"] == 6.0 and summary["target_reimport_10x"] is False
    assert summary["reimport_rows_touched"] == {"goods": 0}
    assert summary["prices_only_touched"] == touched and summary["target_prices_only"] is True
    assert summary["prices_only_expected_changed_prices"] == 3
    assert summary["peak_rss_mb_import"] == 310.0 and summary["target_rss_300mb"] is False
    assert summary["peak_rss_mb_postgres_backend"] == 400.0


def test_failed_stages_leave_their_figures_out() -> None:
    report = _report(
        Stage("floor: raw parse", seconds=1.0),
        Stage("import (first)", error="RuntimeError: run_import failed"),
        Stage("import prices-only", seconds=1.0, detail={"touched": {"prices": 1, "offers": 2}}),
    )
    summary = summarise(report)
    assert "floor_seconds" not in summary and "pipeline_over_floor" not in summary
    assert "reimport_speedup" not in summary
    assert summary["target_prices_only"] is False  # offers were written too


def test_markdown_has_a_row_per_stage_with_its_notes() -> None:
    assets = {"archive": {"end": 0.5}, "goods": {"start": 0.5, "end": 2.0}}
    imported = Stage(
        "import (first)", seconds=2.0, rows=4, detail={"assets": assets, "touched": {"goods": 4}}
    )
    failed = Stage("floor: COPY", error="OperationalError: a|b")
    text = markdown(_report(imported, failed))
    lines = text.splitlines()
    assert lines[0].startswith("| stage | seconds |") and len(lines) == 4
    assert notes(imported) == "archive 0.5s; goods 1.5s; rows written 4"
    assert "archive 0.5s; goods 1.5s; rows written 4" in lines[2]
    assert lines[3].startswith("| floor: COPY | FAILED |") and "a/b" in lines[3]


def test_profile_summary_counts_self_and_inclusive_shares(tmp_path: Path) -> None:
    raw = tmp_path / "import.txt"
    raw.write_text(
        "main (x.py:1);load (onec_pipeline/store/catalog.py:10);copy (onec_pipeline/store/catalog.py:20) 3\n"
        "main (x.py:1);read (onec_pipeline/commerceml/reader.py:5) 1\n"
        "main (x.py:1);stage_entry (onec_pipeline/bench/process.py:9) 4\n"
        "garbage line\n"
    )
    profile = summarise_profile(raw)
    assert profile["samples"] == 8
    assert profile["self"]["copy (onec_pipeline/store/catalog.py)"] == 0.375
    assert profile["inclusive"] == {
        "load (onec_pipeline/store/catalog.py)": 0.375,
        "copy (onec_pipeline/store/catalog.py)": 0.375,
        "read (onec_pipeline/commerceml/reader.py)": 0.125,
    }
    assert summarise_profile(tmp_path / "missing.txt") == {}


def test_every_public_name_of_the_package_resolves() -> None:
    import onec_pipeline.bench as bench

    assert sorted(bench.__all__) == sorted(bench._EXPORTS)
    for name in bench.__all__:
        assert getattr(bench, name) is not None, name
    with pytest.raises(AttributeError):
        _ = bench.no_such_name


def test_sizes_and_modes_parse_and_the_matrix_marks_each_target() -> None:
    from onec_pipeline.bench.matrix import matrix_markdown, parse_modes, parse_sizes

    assert parse_sizes("20000, 200k,1m") == [20_000, 200_000, 1_000_000]
    for bad in ("", "x", "0", "-5", "1.5m"):
        with pytest.raises(ValueError):
            parse_sizes(bad)
    assert parse_modes("parallel,one-process") == ["parallel", "one-process"]
    with pytest.raises(ValueError):
        parse_modes("threads")

    def run(offers: int, first: float) -> BenchReport:
        report = _report(
            Stage("floor: raw parse", seconds=1.0),
            Stage("import (first)", seconds=first, peak_rss_mb=120.0),
            Stage("floor: COPY", seconds=2.0),
            Stage("re-import (identical)", seconds=0.5, detail={"touched": {}}),
        )
        report.offers = offers
        report.summary = summarise(report)
        return report

    lines = matrix_markdown([run(20_000, 6.0), run(1_000_000, 6.6)]).splitlines()
    assert len(lines) == 4
    assert "**2.00** (≤ 3) ✓" in lines[2] and "0.50 s (12.0× ✓)" in lines[2] and "120 MB ✓" in lines[2]
    assert "**2.20** (≤ 2) ✗" in lines[3]  # a million offers: the target is 2
