"""Progress of a run for ``run_import``'s caller.

In-process runs: the assets report to the ``progress`` resource; :class:`CallbackProgress` forwards that
to the caller's callback. Out-of-process runs (``parallel``): the assets run in other processes, so a
:class:`RunFollower` thread reads the run's events from the instance while it runs (``start``, ``done``,
``failed`` per asset) and fills the summary from them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from dagster import DagsterInstance

from onec_pipeline.defs.resources import ImportProgress

from .summary import SUMMARY_EVENTS, ProgressCallback, RunEvents

POLL_SECONDS = 0.5


class CallbackProgress(ImportProgress):
    """The ``progress`` resource of an in-process run: every event goes to ``callback``."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback

    def report(self, event: str, asset_name: str, details: Mapping[str, Any]) -> None:
        self.callback(event, asset_name, dict(details))


class RunFollower(threading.Thread):
    """Feeds the events of a run executing in other processes to ``events`` as they are stored.

    ``find_run`` names the run once it exists (None before). ``finish(run_id)`` stops the thread and reads
    what is left; the summary is only read after it, so the thread and the caller never share it.
    """

    def __init__(
        self, instance: DagsterInstance, find_run: Callable[[], str | None], events: RunEvents
    ) -> None:
        super().__init__(name="onec-run-follower", daemon=True)
        self.instance = instance
        self.find_run = find_run
        self.events = events
        self.run_id: str | None = None
        self.cursor: str | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - following is for display; finish() reads everything again
                pass

    def poll(self) -> None:
        if self.run_id is None:
            self.run_id = self.find_run()
            if self.run_id is None:
                return
        while True:
            page = self.instance.get_records_for_run(self.run_id, self.cursor, of_type=SUMMARY_EVENTS)
            for record in page.records:
                event = record.event_log_entry.dagster_event
                if event is not None:
                    self.events.add(event)
            self.cursor = page.cursor
            if not page.has_more:
                return

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()

    def finish(self, run_id: str) -> None:
        """Stop following and read the rest of run ``run_id``'s events."""
        self.stop()
        if self.run_id != run_id:
            if (
                self.run_id is not None
            ):  # followed another run of the same upload: read this one from its start
                self.events.reset()
            self.run_id, self.cursor = run_id, None
        self.poll()
