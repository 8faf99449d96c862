"""The catalog's SQLAlchemy engine: PostgreSQL connections with timeouts, and a watchdog on their statements.

Which timeout applies where, and why (values from :class:`onec_pipeline.settings.DatabaseTimeouts`):

* ``connect`` — libpq ``connect_timeout``: a server that does not accept a connection (down, unreachable,
  frozen) fails it at once instead of after the kernel's minutes of SYN retries.
* ``stall`` — a server that stops answering in the middle of a statement: TCP keepalives (client and server
  side) and ``tcp_user_timeout`` drop a dead peer, and the :class:`~onec_pipeline.store.liveness.Watchdog`
  probes the server about every statement running longer than a probe interval, interrupting one whose
  server no longer answers (see that module). It never cuts a long statement the server is working on.
* ``statement`` — ``statement_timeout``: one runaway SQL statement. A load is many statements (COPY batches
  of 50,000 rows, one apply per entity); the largest of a 1M-offer import runs well under a minute, so the
  default hour only stops a statement that is stuck, never a big import.
* ``lock`` — ``lock_timeout``: a row or table lock another session holds (the site inside a long
  transaction on the customers, a migration waiting for a table). The watchdog names the holders meanwhile.
* ``load_lock`` — waiting for another import to finish writing the same schema (the load lock, taken by
  polling so that the wait can be cancelled and reported; :mod:`onec_pipeline.store.load_lock`).
* ``idle_in_transaction`` — ``idle_in_transaction_session_timeout``: the server ends a transaction whose
  client stopped talking (killed, cut off), releasing its locks — the load lock included — for the re-run.
"""

from __future__ import annotations

import math
import os
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from onec_pipeline.settings import DatabaseTimeouts
from onec_pipeline.store.liveness import DatabaseUnresponsiveError, Watchdog, probe_backends

#: the watchdog of each engine the store created (LoadConnection looks its own up here)
_WATCHDOGS: weakref.WeakKeyDictionary[sa.Engine, Watchdog] = weakref.WeakKeyDictionary()
APPLICATION_NAME = "onec_pipeline"


def _ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))


def connect_args(
    timeouts: DatabaseTimeouts, *, server_settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """psycopg2 ``connect`` keyword arguments carrying the timeouts (and ``server_settings`` as ``-c``).

    The kernel's own detectors of a dead peer — keepalives (an idle line: ``stall / 2`` then three probes
    ``stall / 3`` apart) and ``tcp_user_timeout`` (unacknowledged data) — fire at 1.5 × ``stall``: a backstop
    behind the watchdog, which acts at ``stall`` plus one probe interval and says more precisely why.
    """
    stall = timeouts.stall if timeouts.stall > 0 else 60
    keepalive_idle, keepalive_interval = max(1, int(stall / 2)), max(1, int(stall / 3))
    settings = {
        "statement_timeout": str(_ms(timeouts.statement)),
        "lock_timeout": str(_ms(timeouts.lock)),
        "idle_in_transaction_session_timeout": str(_ms(timeouts.idle_in_transaction)),
        "tcp_keepalives_idle": str(keepalive_idle),
        "tcp_keepalives_interval": str(keepalive_interval),
        "tcp_keepalives_count": "3",
        **(server_settings or {}),
    }
    args: dict[str, Any] = {
        "application_name": f"{APPLICATION_NAME}:{os.getpid()}",
        "keepalives": 1,
        "keepalives_idle": keepalive_idle,
        "keepalives_interval": keepalive_interval,
        "keepalives_count": 3,
        "options": " ".join(f"-c {name}={value}" for name, value in settings.items()),
    }
    if timeouts.connect > 0:
        args["connect_timeout"] = max(2, math.ceil(timeouts.connect))  # libpq rounds 1 up to 2 anyway
    if timeouts.stall > 0:
        args["tcp_user_timeout"] = _ms(1.5 * timeouts.stall)
    return args


def where(url: sa.URL) -> str:
    """``host:port/database`` of a URL, for messages (never the password)."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def attach_watchdog(engine: sa.Engine, timeouts: DatabaseTimeouts) -> Watchdog | None:
    """Watch every statement the engine runs (PostgreSQL; ``stall`` 0 disables it)."""
    if engine.dialect.name != "postgresql" or timeouts.stall <= 0:
        return None
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    probe_timeouts = DatabaseTimeouts(
        connect=min(timeouts.connect or 10, 10), stall=timeouts.stall, statement=10, lock=5, load_lock=0
    )
    probe_params = {**cparams, **connect_args(probe_timeouts)}
    probe_params["application_name"] = f"{APPLICATION_NAME}:{os.getpid()}:probe"

    def connect() -> Any:
        return engine.dialect.loaded_dbapi.connect(*cargs, **probe_params)

    watchdog = Watchdog(
        probe_backends(connect), stall=timeouts.stall, describe=f"PostgreSQL {where(engine.url)}"
    )
    _WATCHDOGS[engine] = watchdog

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        watchdog.enter(cursor.connection, label=statement_label(statement))

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        watchdog.leave(cursor.connection)

    @event.listens_for(engine, "handle_error")
    def _error(context: sa.engine.ExceptionContext) -> None:
        cursor = getattr(context, "cursor", None)
        raw = getattr(cursor, "connection", None)
        if raw is None and context.connection is not None and not context.connection.invalidated:
            raw = context.connection.connection.dbapi_connection
        if raw is None:
            return
        watchdog.leave(raw)
        reason = watchdog.aborted(raw)
        label = statement_label(context.statement or "")
        if reason is not None:
            raise unresponsive(engine.url, label, reason, watchdog.stall) from None
        if context.is_disconnect:  # TCP keepalives / tcp_user_timeout, a restart: the connection is gone
            lost = " ".join(str(context.original_exception).split())
            raise unresponsive(engine.url, label, lost, watchdog.stall, lost=True) from None

    return watchdog


def watchdog_for(engine: sa.Engine) -> Watchdog | None:
    return _WATCHDOGS.get(engine)


def statement_label(statement: str) -> str:
    """The start of a statement, on one line (for messages)."""
    words = " ".join(statement.split())
    return words[:70] + ("…" if len(words) > 70 else "")


def unresponsive(
    url: sa.URL, label: str, reason: str, stall: float, *, lost: bool = False
) -> DatabaseUnresponsiveError:
    """The error of a statement the server stopped answering (the watchdog's ``reason``), or — ``lost`` —
    whose connection broke (the kernel's keepalive or user timeout, a server restart: ``reason`` is libpq's).
    Raised ``from None`` where this module raises it itself; from the ``handle_error`` hook SQLAlchemy still
    chains libpq's error under it ("server closed the connection unexpectedly"), so the run's summary,
    which reports the innermost cause of a failure, stops at this error (``runs/summary.py``)."""
    what = "lost the connection" if lost else "stopped answering"
    return DatabaseUnresponsiveError(
        f"the catalog database {where(url)} {what} during {label!r}: {reason}. Nothing of this transaction "
        f"was committed; re-run the import once the database answers again (ONEC_DB_STALL_TIMEOUT={stall:g} s)"
    )
