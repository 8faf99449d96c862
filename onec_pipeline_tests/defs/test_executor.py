"""The one-process executor with ready steps on threads (``defs.executor``), against the pinned Dagster:
steps whose dependencies are done run side by side, the graph's order holds, a failing step fails the run
and skips its dependants while its sibling still finishes, and every event reaches the instance."""

from __future__ import annotations

import threading
import time

from dagster import AssetSelection, DagsterEventType, DagsterInstance, Failure, asset

from onec_pipeline.defs.executor import THREADS, materialize_on_threads


def _graph(log: list[tuple[str, str]], fail: str | None = None):
    """``first → left, right → last``; ``left`` and ``right`` can only pass their barrier together."""
    barrier = threading.Barrier(2, timeout=20)
    lock = threading.Lock()

    def note(name: str, what: str) -> None:
        with lock:
            log.append((name, what))

    @asset
    def first() -> None:
        note("first", "start")
        time.sleep(0.05)
        note("first", "end")

    def side(name: str):
        @asset(name=name, deps=[first])
        def _side() -> None:
            note(name, "start")
            barrier.wait()  # a BrokenBarrierError unless the sibling runs at the same time
            note(name, "end")
            if name == fail:
                raise Failure(f"{name} failed on purpose")

        return _side

    @asset(deps=["left", "right"])
    def last() -> None:
        note("last", "start")

    return [first, side("left"), side("right"), last]


def _run(assets, instance):
    return materialize_on_threads(
        assets,
        selection=AssetSelection.all(),
        partition_key=None,
        instance=instance,
        resources={},
        run_config={},
        tags={"onec/test": "threads"},
    )


def test_ready_steps_run_side_by_side_in_graph_order():
    assert THREADS == 2
    log: list[tuple[str, str]] = []
    with DagsterInstance.ephemeral() as instance:
        result = _run(_graph(log), instance)
        assert result.success
        assert result.dagster_run.tags["onec/test"] == "threads"
        materialized = {
            e.asset_key.path[-1]
            for e in result.all_events
            if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        }
        assert materialized == {"first", "left", "right", "last"}
        # the events reached the instance's event log, each step's in its own order
        stored = instance.all_logs(result.run_id)
        for name in ("first", "left", "right", "last"):
            kinds = [r.dagster_event.event_type for r in stored if r.dagster_event and r.step_key == name]
            assert kinds.index(DagsterEventType.STEP_START) < kinds.index(DagsterEventType.STEP_SUCCESS)
    order = [f"{name} {what}" for name, what in log]
    assert order[:2] == ["first start", "first end"]
    assert order.index("left start") < order.index("right end")  # side by side: both passed the barrier
    assert order.index("right start") < order.index("left end")
    assert order[-1] == "last start"


def test_a_failing_step_fails_the_run_and_skips_its_dependants_only():
    log: list[tuple[str, str]] = []
    with DagsterInstance.ephemeral() as instance:
        result = _run(_graph(log, fail="left"), instance)
        assert not result.success
        by_step = {}
        for event in result.all_events:
            if event.step_key:
                by_step.setdefault(event.step_key, set()).add(event.event_type)
        assert DagsterEventType.STEP_FAILURE in by_step["left"]
        assert DagsterEventType.STEP_SUCCESS in by_step["right"]  # the sibling finished
        assert DagsterEventType.STEP_START not in by_step.get("last", set())
        assert instance.get_run_by_id(result.run_id).is_failure
    assert ("right", "end") in log and ("last", "start") not in log


def test_an_interrupt_stops_the_running_steps_and_fails_the_run():
    """Ctrl-C (SIGINT, which Dagster captures in the orchestrating thread while the run executes) reaches
    steps running on threads: they fail as interrupted, nothing downstream starts, the run ends promptly."""
    import os
    import signal

    barrier = threading.Barrier(2, timeout=20)
    finished: list[str] = []

    @asset
    def first() -> None:
        pass

    def side(name: str):
        @asset(name=name, deps=[first])
        def _side() -> None:
            barrier.wait()
            if name == "left":
                os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C would
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # a long step: reading, formatting rows
                time.sleep(0.01)
            finished.append(name)

        return _side

    @asset(deps=["left", "right"])
    def last() -> None:
        finished.append("last")

    started = time.monotonic()
    with DagsterInstance.ephemeral() as instance:
        result = _run([first, side("left"), side("right"), last], instance)
        assert not result.success
        assert time.monotonic() - started < 30
        failures = {
            e.step_key: e.step_failure_data.error_source
            for e in result.all_events
            if e.event_type == DagsterEventType.STEP_FAILURE
        }
        assert set(failures) == {"left", "right"}
        assert {str(source) for source in failures.values()} == {"ErrorSource.INTERRUPT"}
        assert not [e for e in result.all_events if e.step_key == "last"]
        assert instance.get_run_by_id(result.run_id).is_failure
    assert finished == []
