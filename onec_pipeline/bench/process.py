"""Running one stage: the stage function runs in its own spawned process (so that its peak RSS is its
own), watched from here (``ProcessWatch``), optionally sampled by py-spy; the result becomes a ``Stage``."""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .profiler import start_profiler, stop_profiler
from .report import Stage
from .watch import ProcessWatch, process_status

StageFunction = Callable[..., dict[str, Any]]


def stage_entry(function: StageFunction, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Runs in the spawned process: call the stage function, add this process' own resource usage."""
    started = time.perf_counter()
    out = function(**kwargs) or {}
    out.setdefault("seconds", time.perf_counter() - started)
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a spawned child would report its parent's
    own = process_status(os.getpid())
    out["peak_rss_mb"] = own[2] if own else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def _call_in_process(
    name: str,
    function: StageFunction,
    kwargs: dict[str, Any],
    backends: Callable[[], list[int]] | None,
    log: Callable[[str], None],
    profile_dir: Path | None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """(what the stage returned, or its error; the sampled peak RSS per process)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        # start the worker first so the watcher follows it (and its children) from the beginning
        worker_pid = pool.submit(os.getpid).result()
        profiler = start_profiler(worker_pid, profile_dir, name) if profile_dir else None
        with ProcessWatch(worker_pid, backends) as watch:
            try:
                out = pool.submit(stage_entry, function, kwargs).result()
            except Exception as exc:  # noqa: BLE001 - a failed stage is reported, the run goes on
                out = {"error": f"{type(exc).__name__}: {exc}"}
                cause = getattr(exc, "__cause__", None)
                log("".join(traceback.format_exception(exc))[-3000:] if cause is None else str(cause)[-3000:])
    if profiler is not None:
        out["profile"] = stop_profiler(profiler)
    return out, watch.peaks


def run_stage(
    name: str,
    function: StageFunction,
    kwargs: dict[str, Any],
    *,
    backends: Callable[[], list[int]] | None = None,
    log: Callable[[str], None] = print,
    profile_dir: Path | None = None,
) -> Stage:
    """Run ``function(**kwargs)`` as the stage ``name``; ``backends`` lists PostgreSQL backends to watch
    too, ``profile_dir`` samples the stage with py-spy (when installed)."""
    log(f"[bench] {name} …")
    started = time.perf_counter()
    out, peaks = _call_in_process(name, function, kwargs, backends, log, profile_dir)
    stage = Stage(name)
    stage.processes = {process: round(mb, 1) for process, mb in peaks.items()}
    stage.seconds = out.pop("seconds", time.perf_counter() - started)
    stage.rows = int(out.pop("rows", 0))
    stage.peak_rss_mb = round(out.pop("peak_rss_mb", 0.0), 1)
    stage.children_peak_rss_mb = round(out.pop("children_peak_rss_mb", 0.0), 1)
    stage.error = out.pop("error", None)
    stage.detail = out
    stage.detail["loadavg_after"] = [round(load, 2) for load in os.getloadavg()]
    if stage.error:
        log(f"[bench] {name}: FAILED {stage.error}")
    else:
        log(
            f"[bench] {name}: {stage.seconds:.2f}s, {stage.rows:,} rows, {stage.rows_per_s:,.0f} rows/s, "
            f"peak RSS {stage.max_client_rss_mb:.0f} MB (server {stage.max_server_rss_mb:.0f} MB)"
        )
    return stage
