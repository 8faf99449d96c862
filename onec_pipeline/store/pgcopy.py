"""PostgreSQL COPY: the text format of one staged row, and the sender that ships batches in the background.

Values reach here as ``rows.py`` made them: ``str`` (decimals and JSON already as canonical text), ``bool``
or ``None``. COPY's text format wants tab-separated fields, ``\\N`` for NULL, ``t``/``f`` for booleans and
backslash escapes for tab, newline, carriage return and backslash.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from psycopg2.extensions import encodings as _PG_ENCODINGS

NULL = "\\N"
BOOL_TEXT = {True: "t", False: "f"}
#: characters that need COPY escaping, or that rows.py refuses (NUL)
SPECIAL = re.compile(r"[\t\n\r\\\x00]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(seq: int, row: tuple) -> str:
    """One line of COPY text format: ``seq`` then the row's values (str | bool | None, see rows.py)."""
    line = "\t".join([NULL if v is None else BOOL_TEXT[v] if v.__class__ is bool else v for v in row])
    # fast path: no value holds a tab, newline, CR or backslash (each NULL marker holds one backslash)
    if (
        line.count("\\") != row.count(None)
        or line.count("\t") != len(row) - 1
        or "\n" in line
        or "\r" in line
    ):
        line = "\t".join(
            [
                NULL if v is None else BOOL_TEXT[v] if v.__class__ is bool else v.translate(_ESCAPES)
                for v in row
            ]
        )
    return f"{seq}\t{line}\n"


def connection_codec(raw_connection: Any) -> str:
    """Python codec of a psycopg2 connection's client encoding (COPY data is sent as bytes in it)."""
    return _PG_ENCODINGS.get(raw_connection.encoding, "utf_8")


class CopySender:
    """Sends COPY batches from a background thread while the caller goes on reading and formatting.

    psycopg2 releases the GIL while libpq waits for the server, so PostgreSQL ingests batch N on the other
    core while Python builds batch N+1. At most one batch is in flight: :meth:`send` and :meth:`wait`
    first wait for the previous one (and re-raise its error), so nothing else ever uses the connection
    while a COPY runs. The transaction's connection calls :meth:`wait` before every other statement.
    """

    def __init__(
        self, raw_connection: Any, *, watch: Callable[[], AbstractContextManager[Any]] = nullcontext
    ):
        self.raw = raw_connection
        self.watch = watch  # a batch in flight is watched (the liveness watchdog)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self, sql: str, data: bytes) -> None:
        try:
            cur = self.raw.cursor()
            try:
                with self.watch():
                    cur.copy_expert(sql, io.BytesIO(data), size=1 << 20)
            finally:
                cur.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            self._error = exc

    def send(self, sql: str, data: bytes) -> None:
        self.wait()
        self._thread = threading.Thread(target=self._run, args=(sql, data), name="onec-copy", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error
