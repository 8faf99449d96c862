"""Peak memory of a stage: ``ProcessWatch`` samples the peak RSS (``VmHWM``) of every descendant of a stage
process and of the PostgreSQL backends serving the bench database (``BackendPids``)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any


def process_status(pid: int) -> tuple[str, int, float] | None:
    """(name, ppid, VmHWM MB) of a process from /proc, or None when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            name, ppid, peak_mb = "?", 0, 0.0
            for line in status:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("PPid:"):
                    ppid = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak_mb = int(line.split()[1]) / 1024
            return name, ppid, peak_mb
    except (OSError, ValueError, IndexError):
        return None


def _all_processes() -> dict[int, tuple[str, int, float]]:
    table: dict[int, tuple[str, int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = process_status(int(entry))
            if status:
                table[int(entry)] = status
    return table


def _descendants(root_pid: int, table: dict[int, tuple[str, int, float]]) -> set[int]:
    """``root_pid`` and every process below it."""
    wanted = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, (_name, ppid, _peak) in table.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return wanted


class ProcessWatch:
    """Samples the peak RSS (VmHWM) of all descendants of a root pid and of extra pids (PG backends).

    ``peaks`` maps ``"name[pid]"`` to the largest VmHWM seen in MB (extra pids are named ``postgres``).
    """

    def __init__(
        self, root_pid: int, extra_pids: Callable[[], list[int]] | None = None, every: float = 0.2
    ) -> None:
        self.root_pid = root_pid
        self.extra_pids = extra_pids
        self.every = every
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last_extra = 0.0
        self._extra: list[int] = []

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        table = _all_processes()
        wanted = _descendants(self.root_pid, table)
        now = time.monotonic()
        if self.extra_pids and now - self._last_extra >= self.every:  # short stages open backends briefly
            self._last_extra = now
            with contextlib.suppress(Exception):
                self._extra = self.extra_pids()
        wanted.update(pid for pid in self._extra if pid in table)
        for pid in wanted:
            if pid in table:
                name, _ppid, peak_mb = table[pid]
                if pid in self._extra:
                    name = "postgres"
                key = f"{name}[{pid}]"
                if peak_mb > self.peaks.get(key, 0.0):
                    self.peaks[key] = peak_mb


class BackendPids:
    """A callable listing the PostgreSQL backends connected to ``dbname`` (its own connection, reused)."""

    def __init__(self, dsn: str, dbname: str) -> None:
        self.dsn = dsn
        self.dbname = dbname
        self._conn: Any = None

    def __call__(self) -> list[int]:
        import psycopg2  # imported here: see onec_pipeline.bench.database

        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.dsn)
            self._conn.autocommit = True
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.dbname,),
            )
            return [row[0] for row in cur.fetchall()]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
