"""The executor of every run of the code location (``ONEC_EXECUTOR``, the run config's ``steps``)."""

from __future__ import annotations

import ctypes
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    Definitions,
    EnumValue,
    ExecuteInProcessResult,
    ExecutorDefinition,
    Field,
    InitExecutorContext,
    define_asset_job,
    executor,
)
from dagster import Enum as DagsterEnum
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.executor.multiprocess import MultiprocessExecutor

# what a run's forkserver imports once, before it forks the step processes: Dagster, these definitions and
# what every step imports next (the instance's storages, the catalog store and its migrations); measured on
# a no-op run, the step processes otherwise spent half their time importing storage modules
FORKSERVER_PRELOAD = (
    "dagster",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.instance.factory",
    "dagster_postgres",
    "alembic.command",
    "alembic.runtime.migration",
    "onec_pipeline.store.catalog",
    "onec_pipeline.store.customers",
    "onec_pipeline.defs.definitions",
)


#: an import run of an upload with less XML than this runs its steps on threads in the run's process rather
#: than one process per step: a step process costs about 0.3–0.5 s to start (fork, its instance, its plan,
#: a cold store) and a run's first step waits for the forkserver's imports (1–1.5 s here), which at 20,000
#: offers (97 MB) is a quarter of the whole import (multiprocess 12.5–13.5 s, threads 8.3–10.5 s, this
#: project's machine, 2026-12-01); from some hundreds of MB on, two processes use both cores where two
#: threads share one interpreter
THREADED_RUN_BELOW_BYTES = 256 * 1024 * 1024

STEPS = ("processes", "threads")


def steps_for_upload(xml_bytes: int) -> str:
    """How the import run of an upload with ``xml_bytes`` of XML executes its steps (``STEPS``)."""
    return "threads" if xml_bytes < THREADED_RUN_BELOW_BYTES else "processes"


def execution_config(steps: str) -> dict[str, Any]:
    """The run config fragment choosing ``steps`` for a run of the location's executor."""
    if steps not in STEPS:
        raise ValueError(f"steps must be one of {STEPS}, not {steps!r}")
    return {"execution": {"config": {"steps": steps}}}


#: the executors' config: how a run executes its steps (the sensor sets it per upload)
STEPS_CONFIG = {
    "steps": Field(
        DagsterEnum("OnecSteps", [EnumValue(v) for v in STEPS]),
        default_value="processes",
        description="processes: one process per step (forked from a preloaded forkserver); threads: every "
        "step in the run's process, ready steps side by side on threads (ONEC_EXECUTOR=in_process: always)",
    )
}


def run_executor() -> ExecutorDefinition:
    """The executor of every job: ``steps_executor``, or with ``ONEC_EXECUTOR=in_process`` every step of
    every run in the run's process (ready steps side by side on threads: ``threaded_in_process_executor``).

    The default runs a step per process (isolation; prices and rests of one run on both cores), forked from
    a forkserver that has imported Dagster and these definitions once per run (``FORKSERVER_PRELOAD``),
    instead of each step starting Python and importing them again (2–3 s per step with ``spawn``, Dagster's
    default); a run whose config says ``steps: threads`` (the sensor's runs of small uploads,
    ``steps_for_upload``) runs them on threads instead. The demo chooses in_process so the seeded upload is
    imported within seconds of start on a small machine.
    """
    mode = os.environ.get("ONEC_EXECUTOR", "").strip().lower() or "multiprocess"
    if mode not in ("multiprocess", "in_process"):
        raise ValueError(f"ONEC_EXECUTOR must be 'multiprocess' or 'in_process', not {mode!r}")
    if mode == "in_process":
        return threaded_in_process_executor
    return steps_executor


@executor(
    name="multiprocess",
    config_schema=STEPS_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def steps_executor(init_context: InitExecutorContext) -> Executor:
    """One process per step, or (``steps: threads``) the run's process with ready steps on threads."""
    if init_context.executor_config.get("steps") == "threads":
        return ThreadedInProcessExecutor(retries=RetryMode.ENABLED)
    return MultiprocessExecutor(
        retries=RetryMode.ENABLED,
        max_concurrent=None,
        start_method="forkserver",
        explicit_forkserver_preload=list(FORKSERVER_PRELOAD),
    )


# --- one process, steps side by side -------------------------------------------------------------------
#
# Dagster's in-process executor runs one step at a time. An import's prices and rests depend only on offers,
# and each spends much of its time waiting for PostgreSQL (dedup, insert, the sellable quantity), so the
# one-process run executes the steps that are ready on threads, as the multiprocess executor does in
# processes. Events are handled in the orchestrating thread in the order the steps produce them; the
# event log storages serialise their writes (the in-memory one with a lock, the others with a connection
# per call). Built on the same private plan-execution functions as ``InProcessExecutor`` of the pinned
# Dagster (1.13.27: ``_core/executor/in_process.py`` and ``_core/execution/plan/execute_plan.py``);
# ``onec_pipeline_tests/defs/test_executor.py`` runs it against that version.

#: steps at once (the machine this is made for has two cores; a third step would only queue for them)
THREADS = 2


def _step_thread(step_context: Any, events: queue.SimpleQueue[Any]) -> None:
    """Run one step, putting ``(step key, event)`` on ``events``, then ``(step key, None)``; an exception
    the step's own error handling let through (an interruption, a framework error) is put in place of an
    event first."""
    key = step_context.step.key
    try:
        try:
            for event in dagster_event_sequence_for_step(step_context):
                events.put((key, event))
        except BaseException as exc:  # noqa: BLE001 - handed to the orchestrating thread
            events.put((key, exc))
    finally:
        events.put((key, None))


def _interrupt(thread: threading.Thread) -> None:
    """Raise ``DagsterExecutionInterruptedError`` in a step's thread at its next Python instruction (a
    running SQL statement finishes first; the step's transaction then rolls back), as the multiprocess
    executor interrupts its step processes."""
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(DagsterExecutionInterruptedError)
        )


#: how often the orchestrating thread looks for an interrupt (Ctrl-C, run termination) while steps run
POLL_SECONDS = 0.2


def threaded_execution_iterator(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan, threads: int = THREADS
) -> Iterator[DagsterEvent]:
    """``inner_plan_execution_iterator`` with up to ``threads`` steps running at once.

    An interrupt (Dagster captures SIGINT/SIGTERM in the orchestrating thread) stops starting steps and
    interrupts the running ones; their failure events are handled, then ``DagsterExecutionInterruptedError``
    ends the run, as with the multiprocess executor."""
    with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency:
        compute_log_manager = job_context.instance.compute_log_manager
        step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
        with (
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                instance_concurrency_context=concurrency,
                step_dependency_config=job_context.step_dependency_config,
            ) as active,
            ExitStack() as capture_stack,
        ):
            log_key = compute_log_manager.build_log_key_for_run(
                job_context.run_id, create_compute_log_file_key()
            )
            log_context = capture_stack.enter_context(compute_log_manager.capture_logs(log_key))
            yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
            yield from _run_steps(job_context, active, threads)


class _StepThreads:
    """The steps of one run on threads: started when ready, their events handed over in order."""

    def __init__(self, job_context: PlanExecutionContext, active: Any, threads: int) -> None:
        self.job_context, self.active, self.threads = job_context, active, threads
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.running: dict[str, tuple[Any, threading.Thread, list[DagsterEvent]]] = {}
        self.stopping = False

    def stop(self, message: str) -> DagsterEvent:
        """Interrupt every running step; no step starts after this."""
        self.stopping = True
        self.active.mark_interrupted()
        for _context, thread, _events in self.running.values():
            _interrupt(thread)
        return DagsterEvent.engine_event(
            self.job_context, message, EngineEventData.interrupted(list(self.running))
        )

    def start_ready(self) -> Iterator[DagsterEvent]:
        started = self.active.get_steps_to_execute(limit=self.threads - len(self.running))
        yield from self.active.concurrency_event_iterator(self.job_context)
        for step in started:
            step_context = self.job_context.for_step(step, self.active.get_known_state())
            thread = threading.Thread(
                target=_step_thread, args=(step_context, self.events), name=f"step {step.key}", daemon=True
            )
            self.running[step.key] = (step_context, thread, [])
            thread.start()

    def handle(self, key: str, item: Any) -> Iterator[DagsterEvent]:
        """One item a step's thread put: an event, an exception it let through, or its end (None)."""
        if item is None:
            step_context, _thread, step_events = self.running.pop(key)
            if not self.stopping:
                self.active.verify_complete(self.job_context, key)
            for event in self.active.plan_events_iterator(self.job_context):
                step_events.append(event)
                yield event
            yield from _trigger_hook(step_context, step_events)
        elif isinstance(item, BaseException):
            interrupted = isinstance(item, DagsterExecutionInterruptedError | KeyboardInterrupt)
            if not (self.stopping and interrupted):
                raise item
        else:
            self.running[key][2].append(item)
            yield item
            self.active.handle_event(item)

    def run(self) -> Iterator[DagsterEvent]:
        active = self.active
        while (not self.stopping and not active.is_complete) or self.running:
            if not self.stopping and active.check_for_interrupts():
                yield self.stop("Received an interrupt: interrupting the running steps")
            if not self.stopping and len(self.running) < self.threads:
                yield from self.start_ready()
                if not self.running:
                    active.sleep_til_ready()
                    continue
            try:
                key, item = self.events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            yield from self.handle(key, item)
        if self.stopping:
            raise DagsterExecutionInterruptedError()


def _run_steps(job_context: PlanExecutionContext, active: Any, threads: int) -> Iterator[DagsterEvent]:
    steps = _StepThreads(job_context, active, threads)
    try:
        yield from steps.run()
    except BaseException:
        if steps.running and not steps.stopping:
            steps.stop("Unexpected exception while steps were running: interrupting them")
            for _context, thread, _events in steps.running.values():
                thread.join(timeout=60)  # their transactions roll back before the run ends
        raise


class ThreadedInProcessExecutor(InProcessExecutor):
    """The in-process executor with ready steps on threads (see ``threaded_execution_iterator``)."""

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        step_keys = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()}), up to {THREADS} at once on threads",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys),
        )
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=threaded_execution_iterator,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Finished steps in process (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys),
        )


@executor(name="in_process_threads", config_schema=STEPS_CONFIG)
def threaded_in_process_executor(_init_context: Any) -> ThreadedInProcessExecutor:
    """One process, up to ``THREADS`` ready steps at once (prices and rests of an import side by side).
    It takes the config of ``steps_executor`` (the sensor's runs carry it) and runs on threads whatever it
    says."""
    return ThreadedInProcessExecutor(retries=RetryMode.ENABLED)


def materialize_on_threads(
    assets: Sequence[AssetsDefinition | AssetChecksDefinition],
    *,
    selection: AssetSelection,
    partition_key: str | None,
    instance: DagsterInstance,
    resources: Mapping[str, Any],
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> ExecuteInProcessResult:
    """``dagster.materialize`` (``raise_on_error=False``) with ``threaded_in_process_executor`` in place of
    the one-step-at-a-time executor that ``execute_in_process`` imposes: the same ephemeral job (its
    resources given as objects, an in-memory IO manager), run tags and result."""
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.definitions.materialize import EPHEMERAL_JOB_NAME
    from dagster._core.execution.execute_in_process import core_execute_in_process, merge_run_tags

    definitions = Definitions(
        jobs=[define_asset_job(name=EPHEMERAL_JOB_NAME, selection=selection)],
        assets=assets,
        resources=resources,
    )
    job_def = definitions.resolve_job_def(EPHEMERAL_JOB_NAME)
    ephemeral = job_def.as_ephemeral_job(resource_defs={}, input_values={})
    return core_execute_in_process(
        job=InMemoryJob(job_def=ephemeral.with_executor_def(threaded_in_process_executor)),
        run_config=run_config,
        instance=instance,
        output_capturing_enabled=True,
        raise_on_error=False,
        run_tags=merge_run_tags(
            job_def=job_def,
            partition_key=partition_key,
            tags=tags,
            asset_selection=[],
            instance=instance,
            run_config=run_config,
        ),
        asset_selection=frozenset(),
    )
