"""The report on screen (``render``: a rich table, the machine, the upload, profiles, the summary against
the targets) and as Markdown (``markdown``, for the README). rich is imported inside ``render``: see
``onec_pipeline.bench.database``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .report import RAW_PARSE, BenchReport, Stage

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("stage", "left"),
    ("seconds", "right"),
    ("rows", "right"),
    ("rows/s", "right"),
    ("peak RSS MB", "right"),
    ("PG backend MB", "right"),
    ("notes", "left"),
)


def _import_notes(detail: dict[str, Any]) -> str:
    """Seconds per asset (and the archive) and the rows written."""
    parts = []
    for name, entry in (detail.get("assets") or {}).items():
        if "end" in entry:
            parts.append(f"{name} {entry['end'] - entry.get('start', 0):.1f}s")
    written = sum(detail["touched"].values())
    return "; ".join(parts) + f"; rows written {written:,}"


def notes(stage: Stage) -> str:
    """The stage's notes column: its error, or what it did (throughput, per-asset times, counts)."""
    detail = stage.detail
    if stage.error:
        return stage.error[:120]
    if "mb_per_s" in detail:
        return f"{detail.get('tool')}: {detail['mb']:,} MB at {detail['mb_per_s']} MB/s"
    if "touched" in detail:
        return _import_notes(detail)
    if "mb" in detail:
        return f"{detail.get('files')} files, {detail['mb']:,} MB"
    if detail.get("table_seconds"):
        counts = detail["counts"]
        return ", ".join(
            f"{table} {counts[table]:,} in {sec:.1f}s" for table, sec in detail["table_seconds"].items()
        )
    if "counts" in detail:
        return ", ".join(f"{table} {rows:,}" for table, rows in detail["counts"].items())
    return ""


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    def verdict(key: str) -> str:
        return "OK" if summary[key] else "MISSED"

    lines = []
    if "floor_seconds" in summary:
        lines.append(f"floor (raw parse + COPY) = {summary['floor_seconds']:.2f}s")
    if "pipeline_over_floor" in summary:
        lines.append(
            f"pipeline / floor = {summary['pipeline_over_floor']:.2f} "
            f"(target ≤ {summary['floor_ratio_target']:g}: {verdict('target_floor_ratio')})"
        )
    if "reimport_speedup" in summary:
        lines.append(
            f"re-import speed-up = {summary['reimport_speedup']:.1f}× "
            f"(target ≥ 10: {verdict('target_reimport_10x')})"
        )
    if "target_prices_only" in summary:
        lines.append(
            f"prices-only rows touched = {summary['prices_only_touched']} "
            f"(only prices: {verdict('target_prices_only')})"
        )
    if "peak_rss_mb_import" in summary:
        lines.append(
            f"peak RSS of the import processes = {summary['peak_rss_mb_import']:.0f} MB "
            f"(target ≤ 300: {verdict('target_rss_300mb')})"
        )
    return lines


def _print_profiles(console: Console, report: BenchReport) -> None:
    for stage in report.stages:
        profile = stage.detail.get("profile") or {}
        if profile.get("self"):
            console.print(f"profile of {stage.name} ({profile['samples']:,} samples, {profile['file']}):")
            for frame, share in list(profile["inclusive"].items())[:12]:
                console.print(f"    {share:6.1%} incl  {frame}")
            for frame, share in list(profile["self"].items())[:8]:
                console.print(f"    {share:6.1%} self  {frame}")


def render(report: BenchReport, console: Console | None = None) -> None:
    """Print the results table (rich)."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal or console.width < 160:
            console = Console(width=180)
    title = (
        f"onec-pipeline bench — {report.offers:,} offers ({report.files_mb:,.0f} MB of XML), mode {report.mode}, "
        f"{report.started_at}"
    )
    table = Table(title=title, title_justify="left")
    for column, justify in _COLUMNS:
        table.add_column(column, justify=justify)
    for stage in report.stages:
        table.add_row(
            stage.name,
            "FAILED" if stage.error else f"{stage.seconds:,.2f}",
            f"{stage.rows:,}",
            f"{stage.rows_per_s:,.0f}" if stage.rows else "",
            f"{stage.max_client_rss_mb:.0f}",
            f"{stage.max_server_rss_mb:.0f}" if stage.max_server_rss_mb else "",
            notes(stage),
        )
    console.print(table)
    machine, counts = report.machine, report.counts
    console.print(
        f"machine: {machine.get('cpu', '?')} × {machine.get('cpus')} CPUs, {machine.get('memory_gb', '?')} GB, "
        f"Python {machine.get('python')}, lxml {machine.get('lxml')} / libxml2 {machine.get('libxml2')}, "
        f"PostgreSQL {machine.get('postgresql')}"
    )
    console.print(
        f"upload: {counts['groups']:,} groups, {counts['goods']:,} goods, {counts['offers']:,} offers, "
        f"{counts['prices']:,} prices, {counts['rests']:,} stock rows"
    )
    for stage in report.stages:
        if stage.name == RAW_PARSE:
            console.print(f"raw parse: {stage.detail.get('tool')}, {stage.detail.get('mb_per_s')} MB/s")
        if stage.error:
            console.print(f"[red]{stage.name}: {stage.error}[/red]")
    _print_profiles(console, report)
    for line in _summary_lines(report.summary):
        console.print(line)


def markdown(report: BenchReport) -> str:
    """The results table as Markdown (for the README)."""
    lines = [
        "| " + " | ".join(column for column, _justify in _COLUMNS) + " |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for stage in report.stages:
        lines.append(
            f"| {stage.name} | {'FAILED' if stage.error else f'{stage.seconds:,.2f}'} | {stage.rows:,} | "
            f"{stage.rows_per_s:,.0f} | {stage.max_client_rss_mb:.0f} | {stage.max_server_rss_mb:.0f} | "
            f"{notes(stage).replace('|', '/')} |"
        )
    return "\n".join(lines)
