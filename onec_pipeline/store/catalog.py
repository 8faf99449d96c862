"""CatalogStore: the catalog database — migrations, loading transactions, the load lock, counts.

Loading itself is :class:`~onec_pipeline.store.transaction.Transaction` (see its module docstring for the
flow and the version guard); this module opens and closes its database transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.settings import DatabaseTimeouts, ShopRules, normalise_database_url
from onec_pipeline.store import applied, rows
from onec_pipeline.store.connection import LoadConnection
from onec_pipeline.store.engine import attach_watchdog, connect_args, watchdog_for
from onec_pipeline.store.liveness import Reporter
from onec_pipeline.store.load_lock import LOCK_ORDER, take_load_lock
from onec_pipeline.store.loads import LoadResult, ProgressCallback, UploadRef
from onec_pipeline.store.revision import at_head
from onec_pipeline.store.shop_rules import RuleApplier, RulesReport
from onec_pipeline.store.tables import ACTIVE_TABLES, BOOKKEEPING_TABLES, CATALOG_TABLES, metadata
from onec_pipeline.store.transaction import Transaction

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# a load that wrote at least this many rows of a table refreshes its planner statistics (ANALYZE)
ANALYZE_MIN_ROWS = 10_000
# besides the keys and indexed columns, the columns whose statistics that ANALYZE refreshes
PLANNER_COLUMNS = frozenset(
    {
        "product_id",
        "offer_id",
        "is_active",
        "deleted",
        "admitted",
        "upload_key",
        "data_key",
        "quantity",
        "price",
    }
)


#: database collations whose text order is the byte order (``CatalogStore.sorts_bytewise``)
BYTEWISE_COLLATIONS = frozenset({"c", "posix", "c.utf8"})


class CatalogStore:
    """The catalog database (PostgreSQL in production, SQLite for demos and tests)."""

    def __init__(
        self,
        url: str,
        schema: str | None = "onec",
        *,
        engine: sa.Engine | None = None,
        timeouts: DatabaseTimeouts | None = None,
        rules: ShopRules | None = None,
        **engine_kw: Any,
    ):
        self.url = normalise_database_url(str(url))
        #: how long the database may keep a load waiting, per situation (``store.engine``)
        self.timeouts = timeouts if timeouts is not None else DatabaseTimeouts.from_env()
        if engine is None and self.url.startswith("postgresql+psycopg2") and "connect_args" not in engine_kw:
            # Staging tables are TEMP tables: give them room in local buffers (allocated on demand).
            engine_kw["connect_args"] = connect_args(self.timeouts, server_settings={"temp_buffers": "256MB"})
        self.engine: sa.Engine = engine if engine is not None else sa.create_engine(self.url, **engine_kw)
        self.watchdog = watchdog_for(self.engine) or attach_watchdog(self.engine, self.timeouts)
        self.dialect = self.engine.dialect.name
        self.schema: str | None = None if self.dialect == "sqlite" else (schema or None)
        #: every table of every family (the one shared MetaData of this schema)
        self.metadata = metadata(self.schema)
        self.tables: dict[str, sa.Table] = {t.name: t for t in self.metadata.sorted_tables}
        self._upgraded = False
        self._upgrade_lock = threading.Lock()
        self._rules = rules

    @property
    def rules(self) -> ShopRules:
        """The shop's rules loads apply: as given, else read from the environment at every use (a changed
        setting takes effect on the next load without restarting the process holding this store)."""
        return self._rules if self._rules is not None else ShopRules.from_env()

    @rules.setter
    def rules(self, rules: ShopRules | None) -> None:
        self._rules = rules

    # --- schema --------------------------------------------------------------------------------------

    # Alembic is imported where it is used: importing it costs ~0.12 s (its context, DDL implementations),
    # paid only by a process that migrates or asks for the revision, not by every importer of the store
    # (code locations, the CLI).

    def alembic_config(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["schema"] = self.schema
        return cfg

    def upgrade(self) -> str | None:
        """Apply the Alembic migrations up to head (idempotent); returns the current revision."""
        from alembic import command
        from alembic.migration import MigrationContext

        with self._upgrade_lock, self._sqlite_file_lock():
            cfg = self.alembic_config()
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Serialise concurrent first uses (several runs starting at once).
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"onec:{self.schema}"}
                    )
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                ctx = MigrationContext.configure(conn, opts={"version_table_schema": self.schema})
                revision = ctx.get_current_revision()
            self._upgraded = True
            return revision

    def _sqlite_file_lock(self) -> AbstractContextManager[Any]:
        """Serialise first uses of one SQLite file across processes (a run's steps start in parallel
        processes; without it two of them migrate a fresh catalog at once). PostgreSQL uses an advisory lock."""
        database = self.engine.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            return nullcontext()
        from filelock import FileLock  # a Dagster dependency, needed by SQLite catalogs only

        return FileLock(f"{Path(database).resolve()}.migrate.lock", timeout=300)

    def current_revision(self) -> str | None:
        from alembic.migration import MigrationContext

        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table_schema": self.schema})
            return ctx.get_current_revision()

    def ensure_schema(self) -> None:
        """Migrate the catalog up to head once per store; a catalog found at head costs one query."""
        if self._upgraded:
            return
        if at_head(self.engine, self.schema, MIGRATIONS_DIR / "versions"):
            self._upgraded = True
            return
        self.upgrade()

    def table(self, name: str) -> sa.Table:
        return self.tables[name]

    @cached_property
    def sorts_bytewise(self) -> bool:
        """The database orders text as its bytes do (collation ``C``, ``POSIX`` or ``C.UTF-8``, which glibc
        orders by code point): sorts of ids may then say ``COLLATE "C"`` and skip ``strcoll``
        (``apply.dedup_statements``). False on SQLite and for any other collation."""
        if self.dialect != "postgresql":
            return False
        with self.engine.connect() as conn:
            collation = conn.execute(
                sa.text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            ).scalar()
        return str(collation or "").lower().replace("-", "") in BYTEWISE_COLLATIONS

    def qualified(self, name: str) -> str:
        prep = self.engine.dialect.identifier_preparer
        return f"{prep.quote_schema(self.schema)}.{prep.quote(name)}" if self.schema else prep.quote(name)

    def dispose(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.engine.dispose()

    # --- loading -------------------------------------------------------------------------------------

    @contextmanager
    def transaction(
        self,
        ref: UploadRef,
        *,
        dry_run: bool = False,
        allow_mass_deactivation: bool = False,
        max_deactivation_share: float = 0.5,
        progress: ProgressCallback | None = None,
        log: Reporter | None = None,
    ) -> Iterator[Transaction]:
        """One database transaction for one upload: ``with store.transaction(ref) as tx: tx.load(records)``.

        Leaving the block finishes full-export deactivation (may raise
        :class:`~onec_pipeline.store.errors.MassDeactivationError`) and commits; any exception — or
        ``dry_run`` — rolls everything back. ``log`` (a run's logger) receives the warnings about waits:
        for the load lock, for a lock another session holds.
        """
        self.ensure_schema()
        reporting = self.watchdog.reporting(log) if self.watchdog is not None else nullcontext()
        with reporting, self.engine.connect() as conn:
            trans = conn.begin()
            try:
                tx = Transaction(
                    self,
                    conn,
                    ref,
                    dry_run=dry_run,
                    allow_mass_deactivation=allow_mass_deactivation,
                    max_deactivation_share=max_deactivation_share,
                    progress=progress,
                    reporter=log,
                )
                yield tx
                tx.finish()
            except BaseException:
                _rollback(conn, trans)
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
                self._analyze_after_load(conn, tx.results)

    def _analyze_after_load(self, conn: sa.Connection, results: dict[Entity, LoadResult]) -> None:
        """Refresh the planner statistics of tables a load changed in bulk (PostgreSQL).

        Autovacuum analyzes a table only some time after 10 % of it changed; until then the planner sees an
        empty or much smaller table, and the queries that follow a first load (the per-upload checks, the
        storefront's) pick nested loops over millions of rows. ANALYZE samples a fixed number of rows: well
        under a second even on the largest tables. A failure is logged, never raised (the load is committed).
        """
        if self.dialect != "postgresql":
            return
        tables = sorted(
            {
                rows.SPECS[entity].table
                for entity, res in results.items()
                if entity in rows.SPECS and res.written + res.unchanged + res.deactivated >= ANALYZE_MIN_ROWS
            }
        )
        for name in tables:
            started = time.perf_counter()
            try:
                with conn.begin():
                    conn.exec_driver_sql(f"ANALYZE {self.qualified(name)} ({self._analyzed_columns(name)})")
            except sa.exc.DBAPIError as exc:
                log.warning("ANALYZE %s after the load failed: %s", name, exc)
            else:
                log.debug("ANALYZE %s took %.2fs", name, time.perf_counter() - started)

    def _analyzed_columns(self, name: str) -> str:
        """The columns whose statistics a load refreshes: those queries join or filter on — the keys and
        indexed columns, versions, flags, quantities and prices (``PLANNER_COLUMNS``). Not the descriptive
        texts, timestamps and JSON documents: no query of the load, its checks or the rules filters on
        them, and comparing every sampled value costs most of the ANALYZE (20,000 offers: 90 ms with every
        non-JSON column, 53 ms without them); autovacuum's own ANALYZE, which a bulk load soon triggers,
        covers them."""
        table = self.tables[name]
        indexed = {column.name for index in table.indexes for column in index.columns}
        prep = self.engine.dialect.identifier_preparer
        return ", ".join(
            prep.quote(column.name)
            for column in table.columns
            if column.primary_key or column.name in indexed or column.name in PLANNER_COLUMNS
        )

    @contextmanager
    def locked_connection(self, *, dry_run: bool = False) -> Iterator[sa.Connection]:
        """A transaction serialised with every load of this schema (the load lock, taken first); commits
        when the block ends, rolls back on an error or with ``dry_run``."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                if self.dialect == "postgresql":
                    for family in LOCK_ORDER:  # every load lock: serialised with loads of any family
                        take_load_lock(conn, self.schema, timeout=self.timeouts.load_lock, family=family)
                yield conn
            except BaseException:
                _rollback(conn, trans)
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()

    def reevaluate_rules(self, *, dry_run: bool = False) -> RulesReport:
        """Apply the shop's rules (:attr:`rules`) to the whole catalog under the load lock: sellable
        quantities, brands, root admission (after a setting changed); what changed, with the admission counts."""
        with self.locked_connection(dry_run=dry_run) as conn:
            return RuleApplier(LoadConnection(conn), self.qualified, self.rules, "").everything()

    def applied_entities(self, key: str) -> dict[str, datetime]:
        """Entities of upload ``key`` a committed load already applied here, with when (see ``applied``)."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            return applied.applied_entities(conn, key, schema=self.schema)

    def load(self, records: Iterable[Any], ref: UploadRef, **kwargs: Any) -> dict[Entity, LoadResult]:
        """Shorthand: load ``records`` in one transaction and return the final counts."""
        with self.transaction(ref, **kwargs) as tx:
            tx.load(records)
        return tx.results

    # --- inspection ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table (``goods``) and active rows (``goods_active``) for tables with deletion marks."""
        self.ensure_schema()
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for name in CATALOG_TABLES + BOOKKEEPING_TABLES:
                table = self.tables[name]
                if name in ACTIVE_TABLES:
                    active = sa.func.coalesce(sa.func.sum(sa.case((table.c.is_active, 1), else_=0)), 0)
                    total, active_rows = conn.execute(
                        sa.select(sa.func.count(), active).select_from(table)
                    ).one()
                    out[name] = int(total)
                    out[f"{name}_active"] = int(active_rows)
                else:
                    out[name] = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        return out


def _rollback(conn: sa.Connection, trans: sa.RootTransaction) -> None:
    """Roll back after an error; a connection that is already gone (the server stopped answering, the
    watchdog cut it) is discarded instead, and the original error is the one reported."""
    try:
        trans.rollback()
    except sa.exc.DBAPIError as exc:
        log.debug("rollback after the error failed (%s); the connection is discarded", exc)
        conn.invalidate()
