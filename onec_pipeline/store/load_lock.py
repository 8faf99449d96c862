"""The load lock: one writer per catalog schema at a time, and a wait that says what it is waiting for.

Loads parse and stage in parallel; applying them to the catalog tables is serialised by a transaction-level
advisory lock (PostgreSQL) named after the schema. Prices are a family apart: a load that writes only
prices and price types takes the schema's *prices* lock instead (``family="prices"``), so the prices and
the rests of one run apply side by side (no rule, check or change report of either family reads what the
other writes). A load that writes both takes the prices lock first, then the schema's; so does
``CatalogStore.locked_connection``: locks are always taken in that order. Another import holding it is normal (a CLI import beside a
sensor run, the prices and rests steps of one run), so the wait is long by design — up to
``ONEC_DB_LOAD_LOCK_TIMEOUT`` —, but never silent: the first wait names the session holding the lock (its
application, state, how long its transaction runs, its statement), again every minute, and giving up says
the same. The lock is polled (``pg_try_advisory_xact_lock`` with a short, growing sleep) rather than
waited for inside the server, so a run being terminated (Ctrl-C, run monitoring) stops waiting at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa

from onec_pipeline.store.errors import StoreError
from onec_pipeline.store.liveness import Reporter, describe_sessions

log = logging.getLogger(__name__)

#: a lock wait is reported again after this many seconds
REPORT_EVERY = 60.0
_MAX_SLEEP = 1.0


class LoadLockTimeout(StoreError):
    """Another import held the load lock longer than ``ONEC_DB_LOAD_LOCK_TIMEOUT``."""


#: the lock families, in the order a transaction that needs several takes them (None: the schema's own lock)
PRICES_FAMILY = "prices"
LOCK_ORDER: tuple[str | None, ...] = (PRICES_FAMILY, None)


def load_lock_key(schema: str | None, family: str | None = None) -> str:
    """The advisory lock that serialises the writing phase of loads into one schema (PostgreSQL); with
    ``family``, the lock of that family of tables only (``prices``)."""
    return f"onec-load:{schema}" if family is None else f"onec-load:{schema}:{family}"


def _try(conn: sa.Connection, key: str) -> bool:
    return bool(conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": key}).scalar())


def lock_holders(conn: sa.Connection, key: str) -> tuple[str, ...]:
    """Descriptions of the sessions holding advisory lock ``key`` (see ``liveness.describe_sessions``)."""
    hashed = int(conn.execute(sa.text("SELECT hashtext(:k)"), {"k": key}).scalar_one()) & 0xFFFFFFFFFFFFFFFF
    pids = (
        conn.execute(
            sa.text(
                """SELECT pid FROM pg_locks
                   WHERE locktype = 'advisory' AND granted AND objsubid = 1
                     AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
            ),
            {"high": hashed >> 32, "low": hashed & 0xFFFFFFFF},
        )
        .scalars()
        .all()
    )
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        return describe_sessions(cursor, [int(p) for p in pids])


def take_load_lock(
    conn: sa.Connection,
    schema: str | None,
    *,
    timeout: float,
    reporter: Reporter | None = None,
    what: str = "load",
    family: str | None = None,
) -> None:
    """Take the load lock of ``schema`` (of its ``family`` of tables) for the rest of ``conn``'s transaction
    (PostgreSQL), waiting at most ``timeout`` seconds (0: no limit) for the import holding it; raises
    :class:`LoadLockTimeout`."""
    key = load_lock_key(schema, family)
    if family is not None:
        schema = f"{schema}.{family}"  # how the messages name it
    if _try(conn, key):
        return
    report = reporter or log
    started = time.monotonic()
    holders = lock_holders(conn, key)
    limit = f"up to {timeout:g} s (ONEC_DB_LOAD_LOCK_TIMEOUT)" if timeout > 0 else "without a limit"
    report.warning(
        f"{what}: waiting for the load lock of schema {schema!r}, {limit}: another import is writing — "
        f"{'; '.join(holders) or 'its session could not be identified'}"
    )
    reported, sleep = started, 0.05
    while True:
        time.sleep(sleep)
        sleep = min(sleep * 2, _MAX_SLEEP)
        if _try(conn, key):
            report.warning(
                f"{what}: got the load lock of schema {schema!r} after {time.monotonic() - started:.0f} s"
            )
            return
        now = time.monotonic()
        if timeout > 0 and now - started >= timeout:
            holders = lock_holders(conn, key) or holders
            raise LoadLockTimeout(
                f"{what}: gave up after {now - started:.0f} s waiting for the load lock of schema {schema!r} "
                f"(ONEC_DB_LOAD_LOCK_TIMEOUT={timeout:g}); held by {'; '.join(holders) or 'an unknown session'}. "
                f"Nothing was written; re-run when that import has finished"
            )
        if now - reported >= REPORT_EVERY:
            reported = now
            holders = lock_holders(conn, key) or holders
            report.warning(
                f"{what}: still waiting for the load lock of schema {schema!r} after {now - started:.0f} s — "
                f"held by {'; '.join(holders) or 'an unknown session'}"
            )
