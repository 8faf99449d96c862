"""The connection of one loading transaction: statements wait for the COPY batch in flight first."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

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
            reason = self.watchdog.aborted(self.raw) if self.watchdog is not None else None
            if reason is None:
                raise
            self.conn.invalidate()
            url, stall = self.conn.engine.url, self.watchdog.stall if self.watchdog else 0
            raise unresponsive(url, "COPY into a staging table", reason, stall) from exc
        return self.conn

    def execute(self, statement: Any, params: Any = None) -> sa.CursorResult[*tuple[Any, ...]]:
        return self.wait().execute(statement, params)

    def execute_sql(self, sql: str, **params: Any) -> sa.CursorResult[*tuple[Any, ...]]:
        return self.execute(sa.text(sql), params)

    def send_copy(self, sql: str, data: bytes) -> None:
        """Start ``COPY … FROM STDIN`` of ``data`` in the background (PostgreSQL)."""
        self.sender.send(sql, data)

    def insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """``executemany`` of a driver-level INSERT (SQLite staging)."""
        self.wait().exec_driver_sql(sql, rows)

    def bind_time(self, moment: datetime | None) -> datetime | str | None:
        """Bind value of a timestamp for raw SQL (SQLite: SQLAlchemy's DateTime text format)."""
        if moment is None or self.pg:
            return moment
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
