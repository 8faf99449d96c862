"""What ``run_import`` returns: an :class:`ImportSummary` built from the run's events.

:class:`RunEvents` reads the events one at a time (materialisations, check evaluations, step starts and
failures), fills the summary and tells the caller's progress callback what happened, so the same code
serves a finished in-process run and an out-of-process run followed while it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterEvent, DagsterEventType

from onec_pipeline.defs.constants import COUNT_NAMES
from onec_pipeline.store.liveness import DatabaseUnresponsiveError

ProgressCallback = Callable[[str, str, dict[str, Any]], None]  # (event, asset, details)
SUMMARY_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,  # a dry run's counts
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.STEP_FAILURE,
}


@dataclass
class AssetSummary:
    name: str
    status: str  # "success" | "failed" | "check failed" (committed, a blocking check failed) | "not run"
    metadata: dict[str, Any] = field(default_factory=dict)  # raw metadata values

    def count(self, name: str) -> int:
        return int(self.metadata.get(name, 0) or 0)


@dataclass
class CheckSummary:
    asset: str
    name: str
    passed: bool
    severity: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportSummary:
    key: str | None
    archive_path: Path | None
    success: bool
    error: str | None = None
    run_id: str | None = None
    duplicate: bool = False  # the same content had been archived before
    dry_run: bool = False
    selected: list[str] = field(default_factory=list)
    assets: dict[str, AssetSummary] = field(default_factory=dict)
    checks: list[CheckSummary] = field(default_factory=list)
    seconds: float = 0.0
    steps: str | None = None  # how the run executed its steps (processes / threads); None: no run

    def counts(self) -> dict[str, dict[str, int]]:
        """Per asset: inserted/updated/unchanged/stale/deactivated/rejected."""
        return {name: {c: a.count(c) for c in COUNT_NAMES} for name, a in self.assets.items()}


def _asset_of_step(step_key: str | None) -> str:
    """The asset a step is about: the dry-run job's op ``<asset>_dry_run`` stands for ``<asset>``."""
    return (step_key or "").removesuffix("_dry_run")


def _raw(value: Any) -> Any:
    return getattr(value, "value", value)


#: errors whose message is the one to show, whatever they were chained to
READABLE_ERRORS = frozenset({DatabaseUnresponsiveError.__name__})


def _failure_message(event: DagsterEvent) -> str:
    err = event.step_failure_data.error
    if err is None:
        return "step failed"
    message = err.message.strip()
    # a Failure raised by an asset carries the readable message at the end of the cause chain; a store
    # error that says what happened (the database stopped answering) is raised in place of the driver's
    # error, which SQLAlchemy still chains under it ("server closed the connection unexpectedly"): the
    # chain's walk stops there
    cause = err
    while cause.cause is not None and cause.cls_name not in READABLE_ERRORS:
        cause = cause.cause
    if cause is not err:
        message = f"{message} {cause.message.strip()}"
    return message


class RunEvents:
    """Fills ``summary`` from the run's events and reports them to ``on_progress``.

    ``live``: also report ``start`` (a step started) and ``done`` (an asset materialised) — for runs out
    of this process, whose assets cannot report to the caller themselves. ``failed`` is always reported.
    """

    def __init__(self, summary: ImportSummary, on_progress: ProgressCallback | None, *, live: bool) -> None:
        self.summary = summary
        self.on_progress = on_progress
        self.live = live
        self.reset()

    def reset(self) -> None:
        """Forget the events read so far (to read a run's events again from its start)."""
        self.summary.assets = {name: AssetSummary(name, "not run") for name in self.summary.selected}
        self.summary.checks = []
        self.summary.error = None

    def _report(self, event: str, asset_name: str, details: dict[str, Any]) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(event, asset_name, details)
        except Exception:  # noqa: BLE001 - a display problem never fails an import
            pass

    def add_all(self, events: Iterable[DagsterEvent]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: DagsterEvent) -> None:
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            self._materialised(event)
        elif kind == DagsterEventType.ASSET_OBSERVATION:
            self._observed(event)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            self._check(event)
        elif kind == DagsterEventType.STEP_FAILURE:
            self._failed(event)
        elif kind == DagsterEventType.STEP_START and self.live:
            if _asset_of_step(event.step_key) in self.summary.assets:
                self._report("start", _asset_of_step(event.step_key), {"key": self.summary.key})

    def _materialised(self, event: DagsterEvent) -> None:
        mat = event.step_materialization_data.materialization
        name = mat.asset_key.path[-1]
        meta = {k: _raw(v) for k, v in mat.metadata.items()}
        self.summary.assets[name] = AssetSummary(name, "success", meta)
        if self.live:
            details = {
                "records": meta.get("records", 0),
                "seconds": meta.get("seconds", 0.0),
                "has_data": meta.get("has_data", False),
            }
            self._report("done", name, details)

    def _observed(self, event: DagsterEvent) -> None:
        """A dry run's asset: its counts come as an observation (rolled back, never materialised)."""
        observation = event.asset_observation_data.asset_observation
        name = observation.asset_key.path[-1]
        meta = {k: _raw(v) for k, v in observation.metadata.items()}
        self.summary.assets[name] = AssetSummary(name, "success", meta)

    def _check(self, event: DagsterEvent) -> None:
        ev = event.asset_check_evaluation_data
        self.summary.checks.append(
            CheckSummary(
                asset=ev.asset_key.path[-1],
                name=ev.check_name,
                passed=ev.passed,
                severity=str(_raw(ev.severity)),
                metadata={k: _raw(v) for k, v in ev.metadata.items()},
            )
        )

    def _failed(self, event: DagsterEvent) -> None:
        step = _asset_of_step(event.step_key)
        message = _failure_message(event)
        summary = self.summary
        summary.error = summary.error or f"{step}: {message}"
        if step in summary.assets:
            # materialised (committed) but a blocking check failed, or failed outright
            materialised = summary.assets[step].status == "success"
            summary.assets[step].status = "check failed" if materialised else "failed"
        self._report("failed", step, {"error": message})
