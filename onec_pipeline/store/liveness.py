"""Liveness of the catalog server while our statements run: fail what a silent server leaves hanging, and
say what a lock wait is waiting for.

A statement sent to a server that froze — or over a network path that stopped forwarding — waits for ever:
libpq has no read timeout, a server-side ``statement_timeout`` never reaches a client cut off from it, and
TCP keepalives are answered by whatever still holds the socket (a proxy, a NAT box). A long legitimate
statement looks the same from the client. The :class:`Watchdog` tells them apart by asking the server
through a separate, short-lived connection (:func:`probe_backends`) about every statement that has been
running for a probe interval:

* the probe gets no answer (connect or query) for ``stall`` seconds → the server stopped answering;
* the server answers, but the statement's backend is gone, idle, or itself waiting for our client
  (``ClientRead``) for ``stall`` seconds → the connection is cut;
* the backend waits for a lock → a warning names the sessions holding it (application, state, query), once
  a minute, and the statement goes on waiting (``lock_timeout`` bounds row and table locks).

A statement judged dead is interrupted by shutting its socket down (the blocked libpq call returns with an
error at once); the error the caller sees is :class:`DatabaseUnresponsiveError` saying why. Nothing of the
interrupted transaction was committed, so the import can simply be re-run. SQLite has no watchdog.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from onec_pipeline.store.errors import StoreError

log = logging.getLogger(__name__)

#: a lock wait is reported at most this often per statement (seconds)
LOCK_REPORT_EVERY = 60.0
#: server states in which the backend is not working on the statement its client waits for
_SILENT_STATES = frozenset({"idle", "idle in transaction", "idle in transaction (aborted)"})


class DatabaseUnresponsiveError(StoreError):
    """The catalog server stopped answering a statement (see :mod:`onec_pipeline.store.liveness`), or the
    connection broke under it; nothing of the transaction was committed."""


class Reporter(Protocol):
    def warning(self, msg: str, *args: Any) -> Any: ...


@dataclass(frozen=True)
class Backend:
    """What ``pg_stat_activity`` says about one backend."""

    pid: int
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    blockers: tuple[str, ...] = ()  # descriptions of the sessions it waits for (lock waits)


#: probe(pids) -> {pid: Backend} for the pids the server knows; raises when the server does not answer
Probe = Callable[[Sequence[int]], dict[int, Backend]]

_BACKENDS = """SELECT a.pid, a.state, a.wait_event_type, a.wait_event, pg_blocking_pids(a.pid)
    FROM pg_stat_activity a WHERE a.pid = ANY(%s)"""
_SESSIONS = """SELECT pid, application_name, state, client_addr::text,
        round(extract(epoch FROM now() - xact_start)), left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
    FROM pg_stat_activity WHERE pid = ANY(%s) ORDER BY pid"""


def describe_sessions(cursor: Any, pids: Sequence[int]) -> tuple[str, ...]:
    """One line per session: pid, application, state, how long its transaction runs, its statement."""
    if not pids:
        return ()
    cursor.execute(_SESSIONS, (list(pids),))
    return tuple(
        f"pid {pid} ({application or 'no application name'}{f' from {addr}' if addr else ''}, {state}, "
        f"transaction open {int(seconds or 0)} s: {query!r})"
        for pid, application, state, addr, seconds, query in cursor.fetchall()
    )


def probe_backends(connect: Callable[[], Any]) -> Probe:
    """A probe that opens a fresh connection with ``connect`` (a DBAPI connect with short timeouts)."""

    def probe(pids: Sequence[int]) -> dict[int, Backend]:
        conn = connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(_BACKENDS, (list(pids),))
                found = cur.fetchall()
                out = {}
                for pid, state, wait_type, wait_event, blocking in found:
                    blockers = describe_sessions(cur, blocking or []) if wait_type == "Lock" else ()
                    out[pid] = Backend(pid, state, wait_type, wait_event, blockers)
                return out
        finally:
            conn.close()

    return probe


def shut_socket(raw: Any) -> None:
    """Interrupt whatever a DBAPI (psycopg2) connection is blocked in: shut its socket down (both ways).
    The socket is shut through a duplicate of its descriptor; the connection's own stays open."""
    with contextlib.suppress(OSError, ValueError):
        dup = socket.fromfd(raw.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


@dataclass
class _Busy:
    """A statement in flight on one connection."""

    raw: Any
    pid: int
    label: str
    reporter: Reporter
    since: float = field(default_factory=time.monotonic)
    silent_since: float | None = None
    lock_reported_at: float = 0.0


class Watchdog:
    """Watches the statements in flight on one engine's connections (see the module docstring)."""

    def __init__(
        self, probe: Probe, *, stall: float, interval: float | None = None, describe: str = "server"
    ):
        self.probe = probe
        self.stall = float(stall)
        self.interval = interval if interval is not None else max(1.0, min(15.0, self.stall / 6))
        self.describe = describe
        self._busy: dict[int, _Busy] = {}
        self._aborted: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self._last_answer = time.monotonic()
        self._first_failure: str | None = None  # why the probes fail since the last answer
        self._probing: threading.Thread | None = None
        self._local = threading.local()

    @contextlib.contextmanager
    def reporting(self, reporter: Reporter | None) -> Iterator[None]:
        """Warnings about statements this thread runs in the block go to ``reporter`` (a run's log)."""
        previous = getattr(self._local, "reporter", None)
        self._local.reporter = reporter
        try:
            yield
        finally:
            self._local.reporter = previous

    def current_reporter(self) -> Reporter | None:
        """The reporter this thread set with :meth:`reporting` (None: the module's logger)."""
        return getattr(self._local, "reporter", None)

    # --- registration (called by the statement's thread) --------------------------------------------

    @contextlib.contextmanager
    def watching(
        self, raw: Any, label: str = "statement", reporter: Reporter | None = None
    ) -> Iterator[None]:
        self.enter(raw, label, reporter)
        try:
            yield
        finally:
            self.leave(raw)

    def enter(self, raw: Any, label: str = "statement", reporter: Reporter | None = None) -> None:
        if self.stall <= 0:
            return
        try:
            pid = int(raw.info.backend_pid)
        except Exception:  # noqa: BLE001 - a closed connection: nothing to watch
            return
        with self._lock:
            reporter = reporter or getattr(self._local, "reporter", None) or log
            self._busy[id(raw)] = _Busy(raw, pid, label, reporter)
            self._ensure_thread()

    def leave(self, raw: Any) -> None:
        with self._lock:
            self._busy.pop(id(raw), None)

    def aborted(self, raw: Any) -> str | None:
        """Why the watchdog interrupted ``raw``'s last statement (consumed), or None."""
        with self._lock:
            return self._aborted.pop(id(raw), None)

    def stop(self) -> None:
        self._stop.set()

    # --- the watchdog thread -------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._owner_pid == os.getpid():
            return
        self._owner_pid = os.getpid()  # a forked child starts its own
        self._thread = threading.Thread(target=self._run, name="onec-db-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                due = [b for b in self._busy.values() if time.monotonic() - b.since >= self.interval]
            if due:
                self.check(due)

    def check(self, due: list[_Busy]) -> None:
        """One round: probe the server about the statements running for a while, act on the answer."""
        now = time.monotonic()
        try:
            backends = self._probe([b.pid for b in due])
        except Exception as exc:  # noqa: BLE001 - any failure to get an answer counts as silence
            self._first_failure = self._first_failure or " ".join(str(exc).split()) or type(exc).__name__
            silent_for = now - max(self._last_answer, min(b.since for b in due))
            if silent_for >= self.stall:
                reason = (
                    f"the {self.describe} has not answered for {silent_for:.0f} s ({self._first_failure})"
                )
                for busy in due:
                    self._abort(busy, reason)
            return
        self._last_answer, self._first_failure = now, None
        for busy in due:
            backend = backends.get(busy.pid)
            if backend is None or backend.state in _SILENT_STATES or backend.wait_event == "ClientRead":
                busy.silent_since = busy.silent_since or now
                if now - busy.silent_since >= self.stall:
                    state = "gone" if backend is None else backend.state
                    self._abort(
                        busy,
                        f"the {self.describe} answers, but its backend {busy.pid} is {state} and no longer "
                        f"talking to this client for {now - busy.silent_since:.0f} s: the connection is cut",
                    )
                continue
            busy.silent_since = None
            if backend.wait_event_type == "Lock" and now - busy.lock_reported_at >= LOCK_REPORT_EVERY:
                busy.lock_reported_at = now
                holders = "; ".join(backend.blockers) or "sessions that could not be identified"
                busy.reporter.warning(
                    f"{busy.label} (backend {busy.pid}) has waited {now - busy.since:.0f} s for a "
                    f"{backend.wait_event or 'lock'} lock held by {holders}"
                )

    def _probe(self, pids: list[int]) -> dict[int, Backend]:
        """Run the probe in a thread of its own, bounded by the interval (a frozen server hangs it)."""
        if self._probing is not None and self._probing.is_alive():
            raise TimeoutError("the previous liveness probe is still waiting for an answer")
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["backends"] = self.probe(pids)
            except BaseException as exc:  # noqa: BLE001 - handed to the watchdog thread
                result["error"] = exc

        self._probing = threading.Thread(target=run, name="onec-db-probe", daemon=True)
        self._probing.start()
        self._probing.join(self.interval)
        if "error" in result:
            raise result["error"]
        if "backends" not in result:
            raise TimeoutError(f"no answer to a liveness probe within {self.interval:.0f} s")
        return result["backends"]

    def _abort(self, busy: _Busy, reason: str) -> None:
        with self._lock:
            if self._busy.get(id(busy.raw)) is not busy:
                return  # finished meanwhile
            self._aborted[id(busy.raw)] = reason
            self._busy.pop(id(busy.raw), None)
        busy.reporter.warning(f"{busy.label} (backend {busy.pid}) interrupted: {reason}")
        shut_socket(busy.raw)
