"""What a bench run measured: one ``Stage`` per step (seconds, rows, peak RSS per process, detail), the
``BenchReport`` holding them with the machine and the upload's counts, and its summary against the targets."""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# the stages of a run, by the names the report, the JSON and the README use
GENERATE = "generate"
RAW_PARSE = "floor: raw parse"
FIRST_IMPORT = "import (first)"
FLOOR_EXPORT = "floor: export TSV (COPY TO)"
FLOOR_COPY = "floor: COPY"
REIMPORT = "re-import (identical)"
GENERATE_PRICES_ONLY = "generate prices-only"
PRICES_ONLY_IMPORT = "import prices-only"


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    rows: int = 0
    peak_rss_mb: float = 0.0  # the stage process itself
    children_peak_rss_mb: float = 0.0  # the largest of its child processes (getrusage CHILDREN)
    processes: dict[str, float] = field(default_factory=dict)  # "name[pid]" -> peak RSS MB (sampled VmHWM)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def max_client_rss_mb(self) -> float:
        """Largest peak RSS of the Python/lxml side (stage process, its children); excludes PostgreSQL."""
        sampled = [mb for name, mb in self.processes.items() if not name.startswith("postgres")]
        return max([self.peak_rss_mb, self.children_peak_rss_mb, *sampled])

    @property
    def max_server_rss_mb(self) -> float:
        sampled = [mb for name, mb in self.processes.items() if name.startswith("postgres")]
        return max(sampled, default=0.0)


@dataclass
class BenchReport:
    offers: int
    mode: str  # "one process" or "parallel" (the import's executor)
    started_at: str
    machine: dict[str, Any]
    counts: dict[str, int]
    files_mb: float
    stages: list[Stage] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    database: str | None = None

    def stage(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.name == name), None)

    def succeeded(self, name: str) -> Stage | None:
        """The stage ``name`` when it ran without an error."""
        stage = self.stage(name)
        return stage if stage is not None and not stage.error else None

    def to_dict(self) -> dict[str, Any]:
        as_dict = asdict(self)
        for stage, raw in zip(self.stages, as_dict["stages"], strict=True):
            raw["rows_per_s"] = round(stage.rows_per_s, 1)
        return as_dict


# the targets (issue 18): import / floor at most 3 below a million offers, 2 from a million on; a re-import
# of the identical upload at least 10 times faster than the first import; peak RSS at most 300 MB
MILLION = 1_000_000
REIMPORT_SPEEDUP_TARGET = 10.0
RSS_TARGET_MB = 300


def floor_ratio_target(offers: int) -> float:
    """The largest import / floor ratio allowed for an upload of ``offers`` offers."""
    return 2.0 if offers >= MILLION else 3.0


def summarise(report: BenchReport) -> dict[str, Any]:
    """The figures the README quotes (floor, ratio, re-import speed-up, prices-only, peak RSS) and whether
    each meets its target."""
    summary: dict[str, Any] = {}
    parse, copy = report.succeeded(RAW_PARSE), report.succeeded(FLOOR_COPY)
    first, second = report.succeeded(FIRST_IMPORT), report.succeeded(REIMPORT)
    prices = report.succeeded(PRICES_ONLY_IMPORT)
    if parse and copy:
        summary["floor_seconds"] = round(parse.seconds + copy.seconds, 2)
    if first and "floor_seconds" in summary:
        summary["pipeline_seconds"] = round(first.seconds, 2)
        summary["pipeline_over_floor"] = round(first.seconds / summary["floor_seconds"], 2)
        summary["floor_ratio_target"] = floor_ratio_target(report.offers)
        summary["target_floor_ratio"] = summary["pipeline_over_floor"] <= summary["floor_ratio_target"]
    if first and second and second.seconds > 0:
        summary["reimport_speedup"] = round(first.seconds / second.seconds, 1)
        summary["target_reimport_10x"] = summary["reimport_speedup"] >= REIMPORT_SPEEDUP_TARGET
        summary["reimport_rows_touched"] = second.detail.get("touched", {})
    if prices:
        touched = prices.detail.get("touched", {})
        others = {table: rows for table, rows in touched.items() if table != "prices" and rows}
        summary["prices_only_touched"] = touched
        summary["prices_only_expected_changed_prices"] = report.counts.get("prices_changed")
        summary["target_prices_only"] = not others
    imports = (FIRST_IMPORT, REIMPORT, PRICES_ONLY_IMPORT)
    peaks = [stage.max_client_rss_mb for stage in report.stages if stage.name in imports]
    if peaks:
        summary["peak_rss_mb_import"] = max(peaks)
        summary["target_rss_300mb"] = max(peaks) <= RSS_TARGET_MB
    server = [stage.max_server_rss_mb for stage in report.stages]
    summary["peak_rss_mb_postgres_backend"] = max(server, default=0.0)
    return summary


def machine_info() -> dict[str, Any]:
    """CPU, memory, Python and lxml/libxml2 versions, the load at the start."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(load, 2) for load in os.getloadavg()],
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gb"] = round(int(mem_kb) / 1024 / 1024, 1)
    with contextlib.suppress(Exception):
        from lxml import etree  # imported here: see onec_pipeline.bench.database

        info["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
        info["lxml"] = ".".join(map(str, etree.LXML_VERSION))
    return info
