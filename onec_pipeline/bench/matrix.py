"""Several bench runs from one command: each size in each execution mode (``onec-pipeline bench --sizes
20000,200000,1000000``), one ``run_bench`` after the other, and the table that compares them (the README's)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .harness import run_bench
from .report import FIRST_IMPORT, FLOOR_COPY, RAW_PARSE, REIMPORT, BenchReport, floor_ratio_target

MODES = ("one-process", "parallel")


def parse_sizes(text: str) -> list[int]:
    """``"20000,200k,1m"`` -> ``[20000, 200000, 1000000]`` (a ``k``/``m`` suffix multiplies)."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        digits = part[:-1] if factor > 1 else part
        if not digits.isdigit() or int(digits) * factor <= 0:
            raise ValueError(f"not a number of offers: {part!r}")
        sizes.append(int(digits) * factor)
    if not sizes:
        raise ValueError("no sizes given")
    return sizes


def parse_modes(text: str) -> list[str]:
    modes = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes:
        raise ValueError(f"modes must be among {', '.join(MODES)}, not {text!r}")
    return modes


def run_matrix(
    sizes: Iterable[int],
    modes: Iterable[str],
    *,
    log: Callable[[str], None] = print,
    **options: Any,
) -> list[BenchReport]:
    """One ``run_bench`` per size and mode (sizes in the order given, each in every mode)."""
    reports = []
    for offers in sizes:
        for mode in modes:
            log(f"[bench] === {offers:,} offers, {mode} ===")
            reports.append(run_bench(offers, parallel=mode == "parallel", log=log, **options))
    return reports


def _seconds(report: BenchReport, name: str) -> float | None:
    stage = report.succeeded(name)
    return stage.seconds if stage is not None else None


def matrix_rows(reports: Iterable[BenchReport]) -> list[dict[str, Any]]:
    """One row per run: the figures the README's table quotes, with each target's verdict."""
    rows = []
    for report in reports:
        summary = report.summary
        first, again = _seconds(report, FIRST_IMPORT), _seconds(report, REIMPORT)
        parse, copy = _seconds(report, RAW_PARSE), _seconds(report, FLOOR_COPY)
        rows.append(
            {
                "offers": report.offers,
                "rows": sum(report.counts.get(k, 0) for k in ("goods", "offers", "prices", "rests")),
                "mb": report.files_mb,
                "mode": report.mode,
                "import": first,
                "floor": summary.get("floor_seconds"),
                "parse": parse,
                "copy": copy,
                "ratio": summary.get("pipeline_over_floor"),
                "ratio_target": floor_ratio_target(report.offers),
                "ratio_ok": summary.get("target_floor_ratio"),
                "reimport": again,
                "speedup": summary.get("reimport_speedup"),
                "speedup_ok": summary.get("target_reimport_10x"),
                "rss": summary.get("peak_rss_mb_import"),
                "rss_ok": summary.get("target_rss_300mb"),
            }
        )
    return rows


def _figure(value: float | None, unit: str = " s", digits: int = 1) -> str:
    return "failed" if value is None else f"{value:,.{digits}f}{unit}"


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def matrix_markdown(reports: Iterable[BenchReport]) -> str:
    """The comparison as Markdown: one row per size and mode, each target marked ✓ (met) or ✗ (missed)."""
    lines = [
        "| upload | mode | first import | floor (parse + COPY) | ratio (target) | re-import (speed-up) | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in matrix_rows(reports):
        floor = _figure(row["floor"])
        if row["parse"] is not None and row["copy"] is not None:
            floor += f" ({row['parse']:.1f} + {row['copy']:.1f})"
        ratio = "—" if row["ratio"] is None else f"**{row['ratio']:.2f}** (≤ {row['ratio_target']:g})"
        speedup = "" if row["speedup"] is None else f" ({row['speedup']:.1f}×{_verdict(row['speedup_ok'])})"
        lines.append(
            f"| {row['offers']:,} offers, {row['rows']:,} rows, {row['mb']:,.0f} MB | {row['mode']} | "
            f"{_figure(row['import'])} | {floor} | {ratio}{_verdict(row['ratio_ok'])} | "
            f"{_figure(row['reimport'], digits=2)}{speedup} | "
            f"{_figure(row['rss'], ' MB', 0)}{_verdict(row['rss_ok'])} |"
        )
    return "\n".join(lines)
