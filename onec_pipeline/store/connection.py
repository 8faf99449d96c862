"""The connection of one loading transaction: statements wait for the COPY batch in flight first."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import psycopg2
import sqlalchemy as sa

from onec_pipeline.store.engine import unresponsive, watchdog_for
from onec_pipeline.store.liveness import Reporter
from onec_pipeline.store.pgcopy import CopySender, connection_codec


class LoadConnection:
    """A SQLAlchemy connection inside a transaction, plus the background COPY sender on PostgreSQL.

    Every statement goes through :meth:`execute`, which first waits for a COPY batch still in flight (and
    re-raises its error): nothing else ever uses the connection while a COPY runs.
    """

    def __init__(self, conn: sa.Connection, *, reporter: Reporter | None = None):
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        #: the DBAPI connection (psycopg2) the COPY batches go through; None on SQLite
        self.raw = conn.connection.dbapi_connection if self.pg else None
        #: COPY data is encoded once, in the connection's client encoding (psycopg2 sends bytes as they are)
        self.codec = connection_codec(self.raw) if self.pg else "utf_8"
        #: the engine's watchdog (a COPY runs outside SQLAlchemy: it is registered by the sender)
        self.watchdog = watchdog_for(conn.engine) if self.pg else None
        watchdog, raw = self.watchdog, self.raw

        def watch() -> AbstractContextManager[Any]:
            if watchdog is None:
                return nullcontext()
            return watchdog.watching(
                raw, "COPY into a staging table", reporter or watchdog.current_reporter()
            )

        self.sender = CopySender(self.raw, watch=watch)

    def wait(self) -> sa.Connection:
        """Wait for the COPY in flight; returns the connection, free for direct use. A COPY the watchdog
        interrupted raises :class:`~onec_pipeline.store.liveness.DatabaseUnresponsiveError`."""
        try:
            self.sender.wait()
        except Exception as exc:
            if self.watchdog is None:
                raise
            reason = self.watchdog.aborted(self.raw)
            # libpq's own errors (no SQLSTATE): the connection broke — not an error the server reported
            lost = reason is None and isinstance(exc, psycopg2.OperationalError) and not exc.pgcode
            if reason is None and not lost:
                raise  # an error of the COPY itself (a bad value, a missing table): the server said so
            self.conn.invalidate()
            url, stall, label = self.conn.engine.url, self.watchdog.stall, "COPY into a staging table"
            raise unresponsive(url, label, reason or " ".join(str(exc).split()), stall, lost=lost) from None
        return self.conn

    def execute(self, statement: Any, params: Any = None) -> sa.CursorResult[*tuple[Any, ...]]:
        return self.wait().execute(statement, params)

    def execute_sql(self, sql: str, **params: Any) -> sa.CursorResult[*tuple[Any, ...]]:
        return self.execute(sa.text(sql), params)

    def send_copy(self, sql: str, data: bytes) -> None:
        """Start ``COPY … FROM STDIN`` of ``data`` in the background (PostgreSQL), once the previous batch
        is through (its error, if any, raised here)."""
        self.wait()
        self.sender.send(sql, data)

    def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """``executemany`` of a driver-level INSERT (SQLite staging)."""
        self.wait().exec_driver_sql(sql, rows)

    def bind_time(self, moment: datetime | None) -> datetime | str | None:
        """Bind value of a timestamp for raw SQL (SQLite: SQLAlchemy's DateTime text format)."""
        if moment is None or self.pg:
            return moment
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
