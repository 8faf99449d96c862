"""Staging turns: in one process, one load at a time stages its rows (reads, formats, sends them), the load
with the most database work after its staging first.

Staging is Python work: the reader and the COPY lines, under the interpreter's lock. Two loads staging in
threads of one process (``prices`` and ``rests`` of a one-process run, ``executor.py``) share that lock,
so both finish staging late and together, and then both apply — the database's part — together too,
with Python idle. Taking turns, the same Python work ends at the same time, but the load that stages first
applies while the other stages: its statements (de-duplication, the upsert, the sellable quantity of
stock) run on the other core. ``rests`` goes first (its apply is the longest: the upsert of every stock
row and the quantity of every offer), ``prices`` next; other entities have no priority.

A turn is asked for with the priority of what the load writes; the holder checks between batches
(:meth:`Turn.offer`) and steps aside while a load of a higher priority waits. A wait is bounded
(``MAX_WAIT``): past it a load stages anyway, as it did before turns existed — turns order work, they are
never a lock anything depends on. Loads in different processes (the multiprocess executor's steps, two
runs) do not see each other's turns: each process has its own cores' worth of interpreter.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from onec_pipeline.commerceml.records import Entity

#: which loads stage first (higher first); entities not named: 0
PRIORITY: dict[Entity, int] = {Entity.RESTS: 2, Entity.STOCK_TOTALS: 2, Entity.PRICES: 1}
#: the longest a load waits for its turn (seconds); then it stages beside the holder
MAX_WAIT = 60.0


def priority_of(entities: Iterable[Entity]) -> int:
    """The staging priority of a load that writes ``entities``."""
    return max((PRIORITY.get(entity, 0) for entity in entities), default=0)


class Turns:
    """The turns of one process (see the module docstring)."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._changed = threading.Condition()
        # the turns staging now (more than one only past a wait's bound); a set, not a count, so that a
        # turn is given back exactly once whatever interrupts its thread (an interrupted step, Ctrl-C)
        self._holders: set[Turn] = set()
        self._waiting: Counter[int] = Counter()  # priority -> loads waiting

    def _first_in_line(self, priority: int) -> bool:
        return not any(p > priority and n for p, n in self._waiting.items())

    def _acquire(self, turn: Turn) -> float:
        """Take the turn for ``turn`` (see :meth:`turn`); the seconds it waited."""
        asked = time.perf_counter()
        deadline = time.monotonic() + self.max_wait
        with self._changed:
            self._waiting[turn.priority] += 1
            try:
                while self._holders or not self._first_in_line(turn.priority):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break  # staged beside the holder: as without turns
                    self._changed.wait(left)
                self._holders.add(turn)
            finally:
                self._waiting[turn.priority] -= 1
        return time.perf_counter() - asked

    def _release(self, turn: Turn) -> None:
        with self._changed:
            self._holders.discard(turn)
            self._changed.notify_all()

    def _outranked(self, priority: int) -> bool:
        with self._changed:
            return not self._first_in_line(priority)

    @contextmanager
    def turn(self, priority: int) -> Iterator[Turn]:
        """Stage within this block: it starts when no other load of this process stages (or ``max_wait``
        has passed) and no load of a higher priority waits."""
        turn = Turn(self, priority)
        try:
            turn.waited = self._acquire(turn)
            yield turn
        finally:
            self._release(turn)


class Turn:
    """One load's turn: :meth:`offer` between batches."""

    def __init__(self, turns: Turns, priority: int) -> None:
        self.turns = turns
        self.priority = priority
        self.stepped_aside = 0  # times this load let a higher priority stage first
        self.waited = 0.0  # seconds spent waiting for the turn, at first and after stepping aside

    def offer(self) -> None:
        """Step aside while a load of a higher priority waits; back when it has staged."""
        turns = self.turns
        if not turns._outranked(self.priority):
            return
        turns._release(self)
        self.stepped_aside += 1
        self.waited += turns._acquire(self)


#: the turns of this process
TURNS = Turns()
