"""CatalogStore: version-guarded, set-based bulk loading of CommerceML records.

Flow of one :meth:`Transaction.load` call (identical on PostgreSQL and SQLite, only staging differs):

1. every record is converted to a row (:mod:`onec_pipeline.store.rows`; a bad value becomes a reject) and
   streamed into a per-entity TEMP staging table: COPY from an in-memory buffer flushed every
   ``COPY_BATCH`` rows on PostgreSQL, batched ``executemany`` on SQLite;
2. per entity, in dependency order: staging rows are deduplicated by key (last occurrence wins), classified
   against the table in one set-based query (inserted / updated / unchanged / stale) and applied with ONE
   ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <incoming newer>``;
3. when the transaction block ends: full exports deactivate what they no longer contain (with the
   circuit breaker), then everything commits — or rolls back on error or ``dry_run``.

Version guard (docs/ARCHITECTURE.md): a row's content is replaced only by a newer upload
(``incoming key > data_key``); a full export F deactivates rows with ``upload_key < F`` that it does not
contain and sets their ``upload_key`` to F; a row first written by an upload older than the newest applied
full export of its entity is inserted inactive. Applying uploads in any order, with repeats, therefore ends
in the state of applying each once in chronological order.

Details that keep that promise and keep replays cheap:

* an identical replay (same upload key) writes nothing: the upsert statement is skipped when no staged row
  is newer, and stale / same-version rows are filtered out before it otherwise;
* a newer upload that re-sends identical content still advances ``data_key``/``upload_key`` (counted as
  ``unchanged``), otherwise an older upload applied later could overwrite it;
* rows stamped with this transaction's ``updated_at`` were written by it, so a later ``tx.load`` call of the
  same upload overwrites them (last occurrence wins across calls too);
* a full export only counts for entities in ``UploadRef.full`` that received at least one valid record in
  the transaction; only groups, goods and offers are deactivated (``rows.DEACTIVATING_ENTITIES``).
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity, Reject
from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store import applied
from onec_pipeline.store import rows as R
from onec_pipeline.store.errors import MassDeactivationError, StoreError
from onec_pipeline.store.tables import ACTIVE_TABLES, BOOKKEEPING_TABLES, CATALOG_TABLES, metadata

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
COPY_BATCH = 50_000
# ... or this many characters, whichever comes first: goods/offers lines with JSON properties run to a few KB,
# and 50,000 of them held as text (plus the joined copy) cost hundreds of MB
COPY_BATCH_CHARS = 4_000_000
SQLITE_BATCH = 5_000
PROGRESS_EVERY = 10_000
# a load that wrote at least this many rows of a table refreshes its planner statistics (ANALYZE)
ANALYZE_MIN_ROWS = 10_000
REJECT_RAW_LIMIT = 4_000

ProgressCallback = Callable[[Entity, int], None]


@dataclass(frozen=True)
class UploadRef:
    """Which upload a transaction writes: its key (sorts chronologically), export time, full entities."""

    key: str
    exported_at: datetime | None = None
    full: frozenset[Entity] = field(default_factory=frozenset)

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError("UploadRef.key must be a non-empty string")
        object.__setattr__(self, "full", frozenset(Entity(e) for e in self.full))


@dataclass
class LoadResult:
    """Counts for one entity in one transaction (cumulative over ``tx.load`` calls).

    ``unchanged`` counts rows whose content and active flag stay as they were: replays of the same
    upload, and rows a newer upload re-sent with identical content (their version is still advanced so
    that older uploads cannot overwrite them later). ``deactivated`` is filled in when the transaction
    block ends (full exports only).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    deactivated: int = 0
    rejected: int = 0
    rows: int = 0  # records received (including rejected ones and duplicates)
    duplicates: int = 0  # records superseded by a later record with the same key in the same load
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, int | float]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "deactivated": self.deactivated,
            "rejected": self.rejected,
            "rows": self.rows,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(dt: datetime | None) -> datetime | None:
    """1C writes local wall time; an explicit offset is dropped (PostgreSQL ``timestamp`` does the same)."""
    return None if dt is None else dt.replace(tzinfo=None)


class CatalogStore:
    """The catalog database (PostgreSQL in production, SQLite for demos and tests)."""

    def __init__(
        self, url: str, schema: str | None = "onec", *, engine: sa.Engine | None = None, **engine_kw
    ):
        self.url = normalise_database_url(str(url))
        if engine is None and self.url.startswith("postgresql+psycopg2") and "connect_args" not in engine_kw:
            # Staging tables are TEMP tables: give them room in local buffers (allocated on demand).
            engine_kw["connect_args"] = {"options": "-c temp_buffers=256MB"}
        self.engine: sa.Engine = engine if engine is not None else sa.create_engine(self.url, **engine_kw)
        self.dialect = self.engine.dialect.name
        self.schema: str | None = None if self.dialect == "sqlite" else (schema or None)
        #: every table of every family (the one shared MetaData of this schema)
        self.metadata = metadata(self.schema)
        self.tables: dict[str, sa.Table] = {t.name: t for t in self.metadata.sorted_tables}
        self._upgraded = False
        self._upgrade_lock = threading.Lock()

    # --- schema --------------------------------------------------------------------------------------

    def alembic_config(self):
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

    def _sqlite_file_lock(self):
        """Serialise first uses of one SQLite file across processes (a run's steps start in parallel
        processes; without it two of them migrate a fresh catalog at once). PostgreSQL uses an advisory lock."""
        from contextlib import nullcontext

        database = self.engine.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            return nullcontext()
        from filelock import FileLock  # a Dagster dependency

        return FileLock(f"{Path(database).resolve()}.migrate.lock", timeout=300)

    def current_revision(self) -> str | None:
        from alembic.migration import MigrationContext

        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table_schema": self.schema})
            return ctx.get_current_revision()

    def ensure_schema(self) -> None:
        if not self._upgraded:
            self.upgrade()

    def table(self, name: str) -> sa.Table:
        return self.tables[name]

    def qualified(self, name: str) -> str:
        prep = self.engine.dialect.identifier_preparer
        return f"{prep.quote_schema(self.schema)}.{prep.quote(name)}" if self.schema else prep.quote(name)

    def dispose(self) -> None:
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
    ):
        """One database transaction for one upload: ``with store.transaction(ref) as tx: tx.load(records)``.

        Leaving the block finishes full-export deactivation (may raise :class:`MassDeactivationError`) and
        commits; any exception — or ``dry_run`` — rolls everything back.
        """
        self.ensure_schema()
        with self.engine.connect() as conn:
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
                )
                yield tx
                tx.finish()
            except BaseException:
                trans.rollback()
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
                R.SPECS[entity].table
                for entity, res in results.items()
                if entity in R.SPECS and res.written + res.unchanged + res.deactivated >= ANALYZE_MIN_ROWS
            }
        )
        for name in tables:
            t0 = time.perf_counter()
            try:
                with conn.begin():
                    conn.exec_driver_sql(f"ANALYZE {self.qualified(name)}")
            except sa.exc.DBAPIError as exc:
                log.warning("ANALYZE %s after the load failed: %s", name, exc)
            else:
                log.debug("ANALYZE %s took %.2fs", name, time.perf_counter() - t0)

    @contextmanager
    def locked_connection(self, *, dry_run: bool = False) -> Iterator[sa.Connection]:
        """A transaction serialised with every load of this schema (the load lock, taken first); commits
        when the block ends, rolls back on an error or with ``dry_run``."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                if self.dialect == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _load_lock_key(self)}
                    )
                yield conn
            except BaseException:
                trans.rollback()
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()

    def applied_entities(self, key: str) -> dict[str, datetime]:
        """Entities of upload ``key`` a committed load already applied here, with when (see ``applied``)."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            return applied.applied_entities(conn, key, schema=self.schema)

    def load(self, records: Iterable, ref: UploadRef, **kwargs) -> dict[Entity, LoadResult]:
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
                q = self.qualified(name)
                if name in ACTIVE_TABLES:
                    total, active = conn.execute(
                        sa.text(
                            f"SELECT count(*), coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0) FROM {q}"
                        )
                    ).one()
                    out[name] = int(total)
                    out[f"{name}_active"] = int(active)
                else:
                    out[name] = int(conn.execute(sa.text(f"SELECT count(*) FROM {q}")).scalar_one())
        return out


_tmp_counter = itertools.count()


class _Stage:
    """A TEMP staging table receiving the rows of one entity during one ``load`` call."""

    def __init__(self, tx: Transaction, spec: R.EntitySpec):
        self.tx = tx
        self.spec = spec
        n = next(_tmp_counter)
        self.name = f"onec_stg_{spec.table}_{n}"
        self.dedup = f"onec_dd_{spec.table}_{n}"
        self.seq = 0
        self.count = 0  # records routed to this entity (including rejected ones)
        self.extract = spec.extract
        self.pending: list = []
        self.chars = 0  # characters pending (generic PostgreSQL path)
        self.cols = ["seq"] + [c for c, _ in spec.staged_columns]
        # PostgreSQL drops the staging tables at commit/rollback; SQLite ones are dropped after use.
        suffix = " ON COMMIT DROP" if tx.pg else ""
        tx._exec(f"CREATE TEMP TABLE {self.name} ({self._ddl()}){suffix}")
        self.add = self._add_pg if tx.pg else self._add_sqlite
        fast = _FAST_PUSH.get(spec.entity) if tx.pg else None
        self.push = (lambda rec: fast(self, rec)) if fast is not None else self._push

    def _push(self, rec) -> None:
        self.add(self.extract(rec))

    def _ddl(self) -> str:
        pg = self.tx.pg
        types = {
            "text": "text",
            "bool": "boolean" if pg else "INTEGER",
            "dec": "numeric" if pg else "NUMERIC",
            "json": "jsonb" if pg else "TEXT",
        }
        parts = ["seq bigint" if pg else "seq INTEGER"]
        parts += [f"{_q(c)} {types[k]}" for c, k in self.spec.staged_columns]
        return ", ".join(parts)

    def _add_pg(self, row: tuple) -> None:
        self.seq += 1
        line = _copy_line(self.seq, row)
        self.pending.append(line)
        self.chars += len(line)
        if len(self.pending) >= COPY_BATCH or self.chars >= COPY_BATCH_CHARS:
            self.flush()

    def _add_sqlite(self, row: tuple) -> None:
        self.seq += 1
        pending = self.pending
        pending.append((self.seq, *row))
        if len(pending) >= SQLITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.tx.pg:
            text = "".join(self.pending)
            self.pending, self.chars = [], 0
            # psycopg2 sends bytes as they are (no second copy re-encoded): encode in the connection's encoding
            data = text.encode(_pg_codec(self.tx.raw))
            del text
            cols = ", ".join(_q(c) for c in self.cols)
            self.tx._sender.send(f"COPY {self.name} ({cols}) FROM STDIN", data)
        else:
            marks = ", ".join("?" for _ in self.cols)
            self.tx.conn.exec_driver_sql(f"INSERT INTO {self.name} VALUES ({marks})", self.pending)
        self.pending = []

    def drop(self) -> None:
        if self.tx.pg:
            return
        self.tx._exec(f"DROP TABLE IF EXISTS {self.name}")
        self.tx._exec(f"DROP TABLE IF EXISTS {self.dedup}")


class _CopySender:
    """Sends COPY batches from a background thread while the caller goes on reading and formatting.

    psycopg2 releases the GIL while libpq waits for the server, so PostgreSQL ingests batch N on the other
    core while Python builds batch N+1. At most one batch is in flight: :meth:`send` and :meth:`wait`
    first wait for the previous one (and re-raise its error), so nothing else ever uses the connection
    while a COPY runs. ``Transaction`` calls :meth:`wait` before every other statement.
    """

    def __init__(self, raw):
        self.raw = raw
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self, sql: str, data: bytes) -> None:
        try:
            cur = self.raw.cursor()
            try:
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


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NULL = "\\N"
_BOOL = {True: "t", False: "f"}
# characters that need COPY escaping, or that rows.py refuses (NUL)
_SPECIAL = re.compile(r"[\t\n\r\\\x00]")
_MAX_ID = R.MAX_ID_LENGTH


def _pg_codec(raw) -> str:
    from psycopg2.extensions import encodings

    return encodings.get(raw.encoding, "utf_8")


def _fast_stock(stage: _Stage, rec) -> None:
    """COPY line of a Stock without the generic tuple/escaping path (the bulk of big uploads)."""
    o, w = rec.offer_id, rec.warehouse_id
    if o.__class__ is str and w.__class__ is str:
        o, w = o.strip(), w.strip()
        if o and w and len(o) <= _MAX_ID and len(w) <= _MAX_ID and not _SPECIAL.search(o + w):
            q = R.req_dec(rec.quantity, "quantity")
            stage.seq += 1
            pending = stage.pending
            pending.append(f"{stage.seq}\t{o}\t{w}\t{q}\n")
            if len(pending) >= COPY_BATCH:
                stage.flush()
            return
    stage.add(stage.extract(rec))


def _fast_price(stage: _Stage, rec) -> None:
    o, p = rec.offer_id, rec.price_type_id
    cur, unit, pres = rec.currency, rec.unit, rec.presentation
    if (
        o.__class__ is str
        and p.__class__ is str
        and (cur is None or cur.__class__ is str)
        and (unit is None or unit.__class__ is str)
        and (pres is None or pres.__class__ is str)
    ):
        o, p = o.strip(), p.strip()
        if (
            o
            and p
            and len(o) <= _MAX_ID
            and len(p) <= _MAX_ID
            and not _SPECIAL.search(f"{o}{p}{cur or ''}{unit or ''}{pres or ''}")
        ):
            price = R.req_dec(rec.price, "price")
            ratio = R.dec(rec.ratio, "ratio") if rec.ratio is not None else None
            stage.seq += 1
            pending = stage.pending
            pending.append(
                f"{stage.seq}\t{o}\t{p}\t{price}\t{_NULL if cur is None else cur}\t"
                f"{_NULL if unit is None else unit}\t{_NULL if ratio is None else ratio}\t"
                f"{_NULL if pres is None else pres}\n"
            )
            if len(pending) >= COPY_BATCH:
                stage.flush()
            return
    stage.add(stage.extract(rec))


_FAST_PUSH = {Entity.RESTS: _fast_stock, Entity.PRICES: _fast_price}


def _copy_line(seq: int, row: tuple) -> str:
    """One line of COPY text format; values are str | bool | None (see rows.py)."""
    line = "\t".join([_NULL if v is None else _BOOL[v] if v.__class__ is bool else v for v in row])
    # fast path: no value holds a tab, newline, CR or backslash (each NULL marker holds one backslash)
    if (
        line.count("\\") != row.count(None)
        or line.count("\t") != len(row) - 1
        or "\n" in line
        or "\r" in line
    ):
        line = "\t".join(
            [
                _NULL if v is None else _BOOL[v] if v.__class__ is bool else v.translate(_COPY_ESCAPES)
                for v in row
            ]
        )
    return f"{seq}\t{line}\n"


def _q(name: str) -> str:
    return f'"{name}"'


def _load_lock_key(store: CatalogStore) -> str:
    return f"onec-load:{store.schema}"


class Transaction:
    """A loading transaction (see :meth:`CatalogStore.transaction`)."""

    def __init__(
        self,
        store: CatalogStore,
        conn: sa.Connection,
        ref: UploadRef,
        *,
        dry_run: bool,
        allow_mass_deactivation: bool,
        max_deactivation_share: float,
        progress: ProgressCallback | None,
    ):
        self.store = store
        self.connection = self.conn = conn
        self.ref = ref
        self.dry_run = dry_run
        self.allow_mass_deactivation = allow_mass_deactivation
        self.max_deactivation_share = max_deactivation_share
        self.progress = progress
        self.pg = store.dialect == "postgresql"
        self.raw = conn.connection.dbapi_connection if self.pg else None
        self._sender = _CopySender(self.raw)
        self.key = ref.key
        self.exported_at = _naive(ref.exported_at)
        # The write timestamp of this transaction: rows stamped with it were written by this transaction
        # (a later load() call of the same upload may overwrite them: last occurrence wins).
        self.now = _utcnow()
        self.results: dict[Entity, LoadResult] = {}
        self._seen: dict[Entity, str] = {}  # full-export entity -> temp table of the keys loaded
        self._rejects_cleared: set[str] = set()
        self._touched: set[str] = set()  # entities met in this transaction (their old rejects are replaced)
        self._full_exports: dict[str, tuple] | None = None
        self._finished = False
        self._locked = False
        if self.pg:
            self._exec("SET LOCAL work_mem = '256MB'")

    def lock(self) -> None:
        """Serialise the writing phase with other loads of the same schema (PostgreSQL advisory lock, held
        until the transaction ends). Taken lazily, right before the first upsert: parsing and COPY staging of
        two assets (prices and rests of one run) proceed in parallel, applying them does not. Code that
        writes through ``tx.connection`` directly (customers) calls it first."""
        if self.pg and not self._locked:
            self._exec("SELECT pg_advisory_xact_lock(hashtext(:k))", k=_load_lock_key(self.store))
        self._locked = True

    def record_applied(self, records: dict[str, int]) -> None:
        """Mark entity -> records read of this upload applied, committed with this transaction (not on a
        dry run, which rolls back anyway)."""
        applied.record_applied(self._execute_conn(), self.key, records, schema=self.store.schema)

    def _execute_conn(self) -> sa.Connection:
        self._sender.wait()
        return self.conn

    # --- helpers -------------------------------------------------------------------------------------

    def _execute(self, statement, params=None):
        """Every statement of the transaction goes through here: first wait for a COPY in flight."""
        self._sender.wait()
        return self.conn.execute(statement, params)

    def _exec(self, sql: str, **params):
        return self._execute(sa.text(sql), params)

    def _ts(self, dt: datetime | None):
        """Bind value of a timestamp for raw SQL (SQLite: SQLAlchemy's DateTime text format)."""
        if dt is None or self.pg:
            return dt
        return dt.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _t(self, name: str) -> str:
        return self.store.qualified(name)

    def result(self, entity: Entity) -> LoadResult:
        res = self.results.get(entity)
        if res is None:
            res = self.results[entity] = LoadResult()
        return res

    # --- public --------------------------------------------------------------------------------------

    def load(self, records: Iterable) -> dict[Entity, LoadResult]:
        """Stream ``records`` into the store; returns this transaction's (cumulative) results.

        May be called several times within one transaction; later calls win over earlier ones for the
        same key. Records are routed by ``record.entity``; :class:`Reject` records go to ``rejects``.
        """
        if self._finished:
            raise StoreError("transaction already finished")
        started = time.perf_counter()
        stages: dict[Entity, _Stage] = {}
        rejects: list[dict] = []
        specs = R.SPECS
        progress = self.progress
        by_class: dict[type, _Stage] = {}
        extra: dict[Entity, int] = {}  # records counted outside a stage (rejects from the reader)
        every = PROGRESS_EVERY
        done = False
        try:
            for rec in records:
                cls = rec.__class__
                stage = by_class.get(cls)
                if stage is None:
                    if cls is Reject or isinstance(rec, Reject):
                        entity = Entity(rec.entity)
                        self._reject(rejects, entity, rec.entity_id, rec.reason, rec.raw, rec.source)
                        stage = stages.get(entity)
                        if stage is not None:
                            stage.count += 1
                            n = stage.count
                        else:
                            n = extra[entity] = extra.get(entity, 0) + 1
                        if n % every == 0 and progress is not None:
                            progress(entity, n)
                        if len(rejects) >= 1000:
                            self._write_rejects(rejects)
                        continue
                    entity = rec.entity
                    spec = specs.get(entity)
                    if spec is None:
                        raise StoreError(
                            f"{type(rec).__name__} records are not catalog records; "
                            f"load them with onec_pipeline.store.customers"
                        )
                    stage = stages.get(entity)
                    if stage is None:
                        self._touched.add(entity.value)
                        stage = stages[entity] = _Stage(self, spec)
                        stage.count = extra.pop(entity, 0)
                    by_class[cls] = stage
                try:
                    stage.push(rec)
                except R.RowError as exc:
                    self._reject(rejects, stage.spec.entity, _record_id(rec), str(exc), repr(rec), rec.source)
                    if len(rejects) >= 1000:
                        self._write_rejects(rejects)
                stage.count += 1
                if stage.count % every == 0 and progress is not None:
                    progress(stage.spec.entity, stage.count)
            counts = {e: st.count for e, st in stages.items()}
            counts.update(extra)
            self._write_rejects(rejects)
            self._clear_rejects()
            for entity, n in counts.items():
                self.result(entity).rows += n
            for entity in R.APPLY_ORDER:
                stage = stages.get(entity)
                if stage is None:
                    continue
                t0 = time.perf_counter()
                stage.flush()
                self.lock()
                self._apply(stage)
                self.result(entity).seconds += time.perf_counter() - t0
            if progress is not None:
                for entity, n in counts.items():
                    if n % PROGRESS_EVERY:
                        progress(entity, n)
            done = True
        finally:
            # no COPY may outlive this call (the caller owns the connection again)
            try:
                self._sender.wait()
            except Exception:
                if done:
                    raise
                # else an error is already propagating: that is the one to report
            for stage in stages.values():
                if not self.conn.invalidated and self.conn.in_transaction():
                    try:
                        stage.drop()
                    except sa.exc.DBAPIError:  # the transaction is aborted: rollback drops them anyway
                        pass
        log.debug("load of %s took %.2fs", self.key, time.perf_counter() - started)
        return self.results

    # --- rejects -------------------------------------------------------------------------------------

    def _clear_rejects(self) -> None:
        """Replaying an upload replaces (not duplicates) its rejects for the entities it loads again."""
        todo = sorted(self._touched - self._rejects_cleared)
        if todo:
            self._rejects_cleared.update(todo)
            rj = self.store.tables["rejects"]
            self._execute(rj.delete().where(rj.c.upload == self.key, rj.c.entity.in_(todo)))

    def _reject(self, buf: list, entity: Entity, entity_id, reason: str, raw, source) -> None:
        self._touched.add(entity.value)
        self.result(entity).rejected += 1
        buf.append(
            {
                "upload": self.key,
                "entity": entity.value,
                "entity_id": None
                if entity_id is None
                else str(entity_id).replace("\x00", "")[: R.MAX_ID_LENGTH],
                "reason": str(reason).replace("\x00", ""),
                "raw": None if raw is None else str(raw)[:REJECT_RAW_LIMIT].replace("\x00", "\\x00"),
                "file": getattr(source, "file", None),
                "line": getattr(source, "line", None),
                "created_at": self.now,
            }
        )

    def _write_rejects(self, buf: list) -> None:
        if buf:
            self._clear_rejects()
            self._execute(self.store.tables["rejects"].insert(), buf)
            buf.clear()

    # --- apply one entity --------------------------------------------------------------------------

    def _apply(self, stage: _Stage) -> None:
        spec = stage.spec
        res = self.result(spec.entity)
        t = self._t(spec.table)
        keys = spec.keys
        content = list(spec.content_columns)
        staged = list(keys) + content
        kcols = ", ".join(_q(k) for k in keys)
        u = self.key
        # 1. deduplicate (last occurrence wins); on PostgreSQL the result is written in key order, which
        #    keeps the b-tree inserts of a first load local (measured: ~1.6x faster than unsorted input)
        d = stage.dedup
        if self.pg:
            self._exec(
                f"CREATE TEMP TABLE {d} ON COMMIT DROP AS SELECT DISTINCT ON ({kcols}) * FROM {stage.name} "
                f"ORDER BY {kcols}, seq DESC"
            )
        else:
            self._exec(
                f"CREATE TEMP TABLE {d} AS SELECT * FROM {stage.name} WHERE seq IN "
                f"(SELECT max(seq) FROM {stage.name} GROUP BY {kcols})"
            )
            self._exec(f"CREATE UNIQUE INDEX {d}_k ON {d} ({kcols})")
        # 2. what a new row gets: inactive if a newer full export of this entity has been applied
        ins_key, ins_exported = u, self.exported_at
        if spec.deactivatable:
            row = self._newest_full_exports().get(spec.entity.value)
            if row is not None and row[0] > u:
                ins_key, ins_exported = row[0], row[1]
        # 3. classify, set-based
        dist = "IS DISTINCT FROM" if self.pg else "IS NOT"
        on = " AND ".join(f"t.{_q(k)} = d.{_q(k)}" for k in keys)
        newer = "(t.data_key < :u OR (t.data_key = :u AND t.updated_at = :now))"
        changed = " OR ".join(f"d.{_q(c)} {dist} t.{_q(c)}" for c in content) or "false"
        if spec.has_active:
            changed += (
                " OR (CASE WHEN t.upload_key > :u THEN t.is_active ELSE NOT d.deleted END) <> t.is_active"
            )
        k0 = _q(keys[0])
        row = self._exec(
            f"""SELECT
                  coalesce(sum(CASE WHEN t.{k0} IS NULL THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN t.{k0} IS NOT NULL AND {newer} AND ({changed}) THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN t.{k0} IS NOT NULL AND t.data_key > :u THEN 1 ELSE 0 END), 0),
                  count(*),
                  coalesce(sum(CASE WHEN t.{k0} IS NOT NULL AND {newer} THEN 1 ELSE 0 END), 0)
                FROM {d} d LEFT JOIN {t} t ON {on}""",
            u=u,
            now=self._ts(self.now),
        ).one()
        inserted, updated, stale, distinct, rewrite = (int(x) for x in row)
        res.duplicates += stage.seq - distinct
        res.inserted += inserted
        res.updated += updated
        res.stale += stale
        res.unchanged += distinct - inserted - updated - stale
        # 4. one upsert: only rows with an incoming newer version are written
        # Nothing newer: no statement at all (ON CONFLICT … WHERE false would still lock every row).
        if inserted or rewrite:
            ins_cols = staged + (["is_active"] if spec.has_active else [])
            ins_cols += ["data_key", "upload_key", "exported_at", "updated_at"]
            sel = [f"d.{_q(c)}" for c in staged]
            if spec.has_active:
                sel.append("NOT d.deleted" if ins_key == u else "false")
            sel += [":u", ":ins_key", ":ins_exported", ":now"]
            sets = [f"{_q(c)} = excluded.{_q(c)}" for c in content]
            if spec.has_active:
                sets.append(
                    "is_active = CASE WHEN t.upload_key > :u THEN t.is_active ELSE NOT excluded.deleted END"
                )
            sets += [
                "data_key = :u",
                "exported_at = CASE WHEN t.upload_key > :u THEN t.exported_at ELSE :exported END",
                "upload_key = CASE WHEN t.upload_key > :u THEN t.upload_key ELSE :u END",
                "updated_at = :now",
            ]
            skip = "true"
            if inserted + rewrite < distinct:  # leave out stale and same-version rows up front
                skip = f"NOT EXISTS (SELECT 1 FROM {t} t WHERE {on} AND NOT {newer})"
            # Every row is new (a first load): a plain INSERT, about 30 % faster than the speculative
            # insertion of ON CONFLICT on millions of rows. Safe: the load lock keeps other loads out between
            # the classification above and this statement (a conflict would fail the load, never merge).
            upsert = f"ON CONFLICT ({kcols}) DO UPDATE SET {', '.join(sets)} WHERE {newer}"
            if inserted == distinct:
                upsert = ""
            self._exec(
                f"""INSERT INTO {t} AS t ({", ".join(_q(c) for c in ins_cols)})
                    SELECT {", ".join(sel)} FROM {d} d WHERE {skip}
                    {upsert}""",
                u=u,
                ins_key=ins_key,
                ins_exported=self._ts(ins_exported),
                exported=self._ts(self.exported_at),
                now=self._ts(self.now),
            )
        # 5. offers.quantity mirrors stock_totals whichever side arrives last
        if spec.entity in (Entity.OFFERS, Entity.STOCK_TOTALS):
            k = "id" if spec.entity is Entity.OFFERS else "offer_id"
            dist = "IS DISTINCT FROM" if self.pg else "IS NOT"
            self._exec(
                f"""UPDATE {self._t("offers")} AS o SET quantity = s.quantity
                    FROM {self._t("stock_totals")} s
                    WHERE s.offer_id = o.id AND o.id IN (SELECT {_q(k)} FROM {d})
                      AND o.quantity {dist} s.quantity"""
            )
        # 6. remember what a full export contains
        if spec.deactivatable and spec.entity in self.ref.full:
            seen = self._seen.get(spec.entity)
            if seen is None:
                seen = self._seen[spec.entity] = f"onec_seen_{spec.table}_{next(_tmp_counter)}"
                suffix = " ON COMMIT DROP" if self.pg else ""
                self._exec(f"CREATE TEMP TABLE {seen} (id text PRIMARY KEY){suffix}")
            self._exec(f"INSERT INTO {seen} (id) SELECT id FROM {d} WHERE true ON CONFLICT (id) DO NOTHING")

    def _newest_full_exports(self) -> dict[str, tuple]:
        """entity -> (upload_key, exported_at) of the newest full export applied before this transaction."""
        if self._full_exports is None:
            fe = self.store.tables["full_exports"]
            newest: dict[str, tuple] = {}
            for entity, upload_key, exported_at in self._execute(
                sa.select(fe.c.entity, fe.c.upload_key, fe.c.exported_at)
            ):
                if entity not in newest or upload_key > newest[entity][0]:
                    newest[entity] = (upload_key, exported_at)
            self._full_exports = newest
        return self._full_exports

    # --- end of transaction --------------------------------------------------------------------------

    def finish(self) -> None:
        """Deactivate what full exports no longer contain, record the upload. Called by the block's end."""
        if self._finished:
            return
        self._finished = True
        self.lock()
        t0 = time.perf_counter()
        for entity in R.APPLY_ORDER:
            seen = self._seen.get(entity)
            if seen is not None:
                self._deactivate(R.SPECS[entity], seen)
        self._exec(
            f"""INSERT INTO {self._t("uploads")} (key, exported_at, first_loaded_at, loaded_at)
                VALUES (:u, :e, :now, :now)
                ON CONFLICT (key) DO UPDATE SET loaded_at = excluded.loaded_at""",
            u=self.key,
            e=self._ts(self.exported_at),
            now=self._ts(self.now),
        )
        if not self.pg:
            for seen in self._seen.values():
                self._exec(f"DROP TABLE IF EXISTS {seen}")
        if self._seen:
            log.debug("finish of %s took %.2fs", self.key, time.perf_counter() - t0)

    def _deactivate(self, spec: R.EntitySpec, seen: str) -> None:
        t = self._t(spec.table)
        cand = f"t.upload_key < :u AND NOT EXISTS (SELECT 1 FROM {seen} s WHERE s.id = t.id)"
        active, going = self._exec(
            f"""SELECT coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN is_active AND {cand} THEN 1 ELSE 0 END), 0)
                FROM {t} t""",
            u=self.key,
        ).one()
        active, going = int(active), int(going)
        if going and not self.allow_mass_deactivation and going > self.max_deactivation_share * active:
            raise MassDeactivationError(spec.entity, self.key, going, active, self.max_deactivation_share)
        self._exec(
            f"""UPDATE {t} AS t SET is_active = false, upload_key = :u, exported_at = :e, updated_at = :now
                WHERE {cand}""",
            u=self.key,
            e=self._ts(self.exported_at),
            now=self._ts(self.now),
        )
        self.result(spec.entity).deactivated += going
        self._exec(
            f"""INSERT INTO {self._t("full_exports")} (entity, upload_key, exported_at, recorded_at)
                VALUES (:en, :u, :e, :now) ON CONFLICT (entity, upload_key) DO NOTHING""",
            en=spec.entity.value,
            u=self.key,
            e=self._ts(self.exported_at),
            now=self._ts(self.now),
        )


def _record_id(rec) -> str | None:
    for attr in ("id", "offer_id"):
        value = getattr(rec, attr, None)
        if value is not None:
            return str(value)
    return None
