"""A loading transaction: records → staging tables → one set-based apply per entity → full exports.

Flow of one :meth:`Transaction.load` call (identical on PostgreSQL and SQLite, only staging differs):

1. every record is converted to a row (:mod:`onec_pipeline.store.rows`; a bad value becomes a reject) and
   streamed into a per-entity TEMP staging table (:mod:`onec_pipeline.store.staging`);
2. per entity, in dependency order, under the load lock: staging rows are deduplicated by key (last
   occurrence wins), classified against the table in one set-based query (inserted / updated / unchanged /
   stale) and applied with ONE ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <incoming newer>``
   (:mod:`onec_pipeline.store.apply`);
3. when the transaction block ends (:meth:`Transaction.finish`): full exports deactivate what they no
   longer contain, under the mass-deactivation breaker (:mod:`onec_pipeline.store.full_exports`), the
   upload is recorded, then everything commits — or rolls back on error or ``dry_run``.

Version guard (docs/ARCHITECTURE.md): a row's content is replaced only by a newer upload
(``incoming key > data_key``); a full export F deactivates rows with ``upload_key < F`` (after applying F,
exactly the rows it does not contain) and sets their ``upload_key`` to F; a row first written by an upload
older than the newest applied full export of its entity is inserted inactive. Applying uploads in any
order, with repeats, therefore ends in the state of applying each once in chronological order.

Details that keep that promise and keep replays cheap:

* an identical replay (same upload key) writes nothing: the upsert statement is skipped when no staged row
  is newer, and stale / same-version rows are filtered out before it otherwise;
* a newer upload that re-sends identical content still advances ``data_key``/``upload_key`` (counted as
  ``unchanged``), otherwise an older upload applied later could overwrite it;
* rows stamped with this transaction's ``updated_at`` were written by it, so a later ``tx.load`` call of the
  same upload overwrites them (last occurrence wins across calls too);
* every catalog table has ``is_active``; groups, goods, offers, prices, rests and stock totals are
  deactivated by full exports (``rows.DEACTIVATING_ENTITIES``), reference data only by deletion marks;
* derived columns (``prices.currency``: the price's own, else its price type's) are computed while
  de-duplicating and re-derived when their source rows change, so they too end in the same state in any
  order; the shop's rules (``offers.quantity``, the brand, root admission: :mod:`onec_pipeline.store.shop_rules`)
  are recomputed set-based after each entity and when the block ends, so they do too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity, Reject
from onec_pipeline.settings import DatabaseTimeouts, ShopRules
from onec_pipeline.store import applied, apply, rows, staging
from onec_pipeline.store.connection import LoadConnection
from onec_pipeline.store.errors import RowError, StoreError
from onec_pipeline.store.full_exports import FullExports
from onec_pipeline.store.liveness import Reporter
from onec_pipeline.store.load_lock import LOCK_ORDER, PRICES_FAMILY, take_load_lock
from onec_pipeline.store.loads import LoadResult, ProgressCallback, UploadRef, naive, utcnow
from onec_pipeline.store.rejects import RejectLog
from onec_pipeline.store.shop_rules import RuleApplier
from onec_pipeline.store.staging import StagingTable
from onec_pipeline.store.turns import TURNS, priority_of

log = logging.getLogger(__name__)

PROGRESS_EVERY = 10_000
#: a de-duplicated TEMP table of at least this many rows gets statistics on its keys before it is used
ANALYZE_DEDUP_MIN_ROWS = 10_000


class ChangeObserver(Protocol):
    """Sees every staged entity after its classification, before it is written (``store/changes.py``)."""

    def before_upsert(
        self, spec: rows.EntitySpec, dedup: str, target: str, found: apply.Classified
    ) -> None: ...


class TableSource(Protocol):
    """What a transaction needs of its store (:class:`~onec_pipeline.store.CatalogStore`)."""

    schema: str | None
    tables: dict[str, sa.Table]
    timeouts: DatabaseTimeouts
    rules: ShopRules

    def qualified(self, name: str) -> str: ...

    @property
    def sorts_bytewise(self) -> bool: ...


class _Routing:
    """Where the records of one :meth:`Transaction.load` call go: one staging table per entity."""

    def __init__(self) -> None:
        self.stages: dict[Entity, StagingTable] = {}
        self.by_class: dict[type, StagingTable] = {}
        self.unstaged: dict[Entity, int] = {}  # records counted outside a stage (rejects from the reader)

    def counts(self) -> dict[Entity, int]:
        counts = {entity: stage.count for entity, stage in self.stages.items()}
        counts.update(self.unstaged)
        return counts


class Transaction:
    """A loading transaction (see :meth:`CatalogStore.transaction`)."""

    def __init__(
        self,
        store: TableSource,
        conn: sa.Connection,
        ref: UploadRef,
        *,
        dry_run: bool,
        allow_mass_deactivation: bool,
        max_deactivation_share: float,
        progress: ProgressCallback | None,
        reporter: Reporter | None = None,
    ):
        self.store = store
        self.reporter = reporter
        self.connection = self.conn = conn
        self.db = LoadConnection(conn, reporter=reporter)
        self.pg = self.db.pg
        self.ref = ref
        self.dry_run = dry_run
        self.allow_mass_deactivation = allow_mass_deactivation
        self.max_deactivation_share = max_deactivation_share
        self.progress = progress
        self.key = ref.key
        self.exported_at = naive(ref.exported_at)
        # The write timestamp of this transaction: rows stamped with it were written by this transaction
        # (a later load() call of the same upload may overwrite them: last occurrence wins).
        self.now = utcnow()
        self.results: dict[Entity, LoadResult] = {}
        self.rejects = RejectLog(self.db, store.tables["rejects"], self.key, self.now)
        self.full_exports = FullExports(
            self.db,
            store.qualified,
            store.tables["full_exports"],
            ref,
            self.now,
            allow_mass_deactivation=allow_mass_deactivation,
            max_deactivation_share=max_deactivation_share,
        )
        #: the shop's rules (quantity, brand, root admission), applied as entities are written
        self.shop_rules = RuleApplier(self.db, store.qualified, store.rules, self.key)
        self._finished = False
        self._locks: set[str | None] = set()  # the load lock families this transaction holds
        self.changes: ChangeObserver | None = None  # what the upload changes (store/changes.py), optional
        #: seconds this transaction's loads waited for their staging turn (``store/turns.py``)
        self.turn_seconds = 0.0
        if self.pg:
            self.db.execute_sql("SET LOCAL work_mem = '256MB'")
            # the load's big statements run once each: compiling them costs more than it saves (200K
            # offers, two runs each way: 60.1 s with JIT, 56.8 s without)
            self.db.execute_sql("SET LOCAL jit = off")

    def lock(self, entities: Iterable[Entity] | None = None) -> None:
        """Serialise the writing phase with other loads of the same schema (PostgreSQL advisory locks, held
        until the transaction ends). Taken lazily, right before the first upsert: parsing and COPY staging of
        two assets (prices and rests of one run) proceed in parallel. Writing ``entities`` takes the prices
        lock when they are prices or price types, the schema's lock for anything else (``load_lock``: the
        prices and rests of one run apply side by side too); None (code that writes through
        ``tx.connection`` directly, like customers, and the end of a transaction that took none) means the
        schema's lock."""
        wanted = {None} if entities is None else {lock_family(e) for e in entities}
        for family in LOCK_ORDER:
            if family not in wanted or family in self._locks:
                continue
            if self.pg:
                take_load_lock(
                    self.db.wait(),
                    self.store.schema,
                    timeout=self.store.timeouts.load_lock,
                    reporter=self.reporter,
                    what=f"upload {self.key}",
                    family=family,
                )
            self._locks.add(family)

    def record_applied(self, records: dict[str, int]) -> None:
        """Mark entity -> records read of this upload applied, committed with this transaction (not on a
        dry run, which rolls back anyway)."""
        applied.record_applied(self.db.wait(), self.key, records, schema=self.store.schema)

    def result(self, entity: Entity) -> LoadResult:
        res = self.results.get(entity)
        if res is None:
            res = self.results[entity] = LoadResult()
        return res

    def _qualified(self, table: str) -> str:
        return self.store.qualified(table)

    # --- load ----------------------------------------------------------------------------------------

    def load(self, records: Iterable[Any], *, entities: Iterable[Entity] = ()) -> dict[Entity, LoadResult]:
        """Stream ``records`` into the store; returns this transaction's (cumulative) results.

        May be called several times within one transaction; later calls win over earlier ones for the
        same key. Records are routed by ``record.entity``; :class:`Reject` records go to ``rejects``.
        ``entities``: what the records are, when the caller knows: loads of stock, then of prices, stage
        first among the loads of this process (``store/turns.py``).
        """
        if self._finished:
            raise StoreError("transaction already finished")
        started = time.perf_counter()
        self.rejects.pending = []
        routing = _Routing()
        done = False
        try:
            self._stage(records, routing, priority_of(entities))
            counts = routing.counts()
            self.rejects.write()
            self.rejects.clear_replaced()
            for entity, n in counts.items():
                self.result(entity).rows += n
            self._apply_staged(routing.stages)
            if self.progress is not None:
                for entity, n in counts.items():
                    if n % PROGRESS_EVERY:
                        self.progress(entity, n)
            done = True
        finally:
            self._release(routing.stages, done)
        log.debug("load of %s took %.2fs", self.key, time.perf_counter() - started)
        return self.results

    def _stage(self, records: Iterable[Any], routing: _Routing, priority: int) -> None:
        """The hot loop: every record to its staging table (a bad value becomes a reject), in this load's
        staging turn (``store/turns.py``)."""
        by_class = routing.by_class
        progress = self.progress
        every = PROGRESS_EVERY
        with TURNS.turn(priority) as turn:
            for rec in records:
                stage = by_class.get(rec.__class__)
                if stage is None:
                    stage = self._route(rec, routing)
                    if stage is None:
                        continue  # a reject from the reader: recorded
                try:
                    stage.push(rec)
                except RowError as exc:
                    self._reject(stage.spec.entity, _record_id(rec), str(exc), repr(rec), rec.source)
                stage.count += 1
                if stage.count % every == 0:
                    turn.offer()
                    if progress is not None:
                        progress(stage.spec.entity, stage.count)
        self.turn_seconds += turn.waited

    def _route(self, rec: Any, routing: _Routing) -> StagingTable | None:
        """The staging table of a record class met for the first time (None: ``rec`` is a reject)."""
        if isinstance(rec, Reject):
            self._reader_reject(rec, routing)
            return None
        entity = rec.entity
        spec = rows.SPECS.get(entity)
        if spec is None:
            raise StoreError(
                f"{type(rec).__name__} records are not catalog records; "
                f"load them with onec_pipeline.store.customers"
            )
        stage = routing.stages.get(entity)
        if stage is None:
            self.rejects.touch(entity)
            stage = routing.stages[entity] = StagingTable(self.db, spec)
            stage.count = routing.unstaged.pop(entity, 0)
        routing.by_class[rec.__class__] = stage
        return stage

    def _reader_reject(self, rec: Reject, routing: _Routing) -> None:
        entity = Entity(rec.entity)
        self._reject(entity, rec.entity_id, rec.reason, rec.raw, rec.source)
        stage = routing.stages.get(entity)
        if stage is not None:
            stage.count += 1
            routed = stage.count
        else:
            routed = routing.unstaged[entity] = routing.unstaged.get(entity, 0) + 1
        if routed % PROGRESS_EVERY == 0 and self.progress is not None:
            self.progress(entity, routed)

    def _reject(self, entity: Entity, entity_id: Any, reason: str, raw: Any, source: Any) -> None:
        self.result(entity).rejected += 1
        self.rejects.add(entity, entity_id, reason, raw, source)

    def _apply_staged(self, stages: dict[Entity, StagingTable]) -> None:
        for entity in rows.APPLY_ORDER:
            stage = stages.get(entity)
            if stage is None:
                continue
            started = time.perf_counter()
            stage.flush()
            self.lock(stages)  # every lock this load call needs, in their order, before its first upsert
            self._apply(stage)
            self.result(entity).seconds += time.perf_counter() - started

    def _release(self, stages: dict[Entity, StagingTable], done: bool) -> None:
        """No COPY may outlive a load call (the caller owns the connection again); SQLite drops its tables."""
        try:
            self.db.sender.wait()
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

    # --- apply one entity ----------------------------------------------------------------------------

    def _apply(self, stage: StagingTable) -> None:
        spec, dedup = stage.spec, stage.dedup_name
        target = self._qualified(spec.table)
        statements = apply.dedup_statements(
            spec, stage.name, dedup, pg=self.pg, qualified=self._qualified, bytewise=self.store.sorts_bytewise
        )
        made = None
        for sql in statements:
            made = self.db.execute_sql(sql)
        if self.pg and stage.seq >= ANALYZE_DEDUP_MIN_ROWS:
            # a TEMP table has no statistics until asked: without them the planner takes 200 distinct keys
            # and joins the rows in scope by nested loops, one index probe per row; with them, hash joins
            # (the sellable quantity of 200K offers takes about the same 6.5 s either way here, its rewrite
            # of the rows dominating, but the plan no longer rests on a guess; ANALYZE of the keys: ~0.1 s)
            self.db.execute_sql(f"ANALYZE {dedup} ({', '.join(staging.quote(k) for k in spec.keys)})")
        found = self._classify(spec, dedup, target, made)
        result = self.result(spec.entity)
        result.duplicates += stage.seq - found.distinct
        result.inserted += found.inserted
        result.updated += found.updated
        result.stale += found.stale
        result.unchanged += found.unchanged
        if self.changes is not None:
            self.changes.before_upsert(spec, dedup, target, found)
        # Nothing newer: no statement at all (ON CONFLICT … WHERE false would still lock every row).
        new_rows_active = False
        if found.inserted or found.rewrite:
            new_rows_active = self._upsert(spec, dedup, target, found)
        if found.inserted or found.updated:
            self._rederive(spec, dedup)
        changed = bool(found.inserted or found.updated)
        all_new = found.inserted == found.distinct
        # the table holds exactly these rows now, all active: the rules may read them from ``dedup``
        only_rows = found.empty_target and new_rows_active
        self.shop_rules.after_apply(spec.entity, dedup, changed, all_new=all_new, only_rows=only_rows)

    def _classify(self, spec: rows.EntitySpec, dedup: str, target: str, made: Any) -> apply.Classified:
        """What the de-duplicated rows are to the target table (:class:`apply.Classified`). Into an empty
        table (a first load; the load lock keeps it so until the upsert) every row is new: the rows the
        de-duplication made (PostgreSQL's row count of ``CREATE TABLE … AS``), without the classifying join
        over all of them (1M offers' stock: 0.9 s)."""
        distinct = made.rowcount if self.pg and made is not None else -1
        if distinct >= 0:
            empty = self.db.execute_sql(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").scalar()
            if empty:
                return apply.Classified(distinct, 0, 0, distinct, 0, empty_target=True)
        classify = apply.classify_statement(spec, dedup, target, pg=self.pg)
        counts = self.db.execute_sql(classify, upload=self.key, now=self.db.bind_time(self.now)).one()
        inserted, updated, stale, distinct, rewrite = (int(n) for n in counts)
        return apply.Classified(inserted, updated, stale, distinct, rewrite)

    def _upsert(self, spec: rows.EntitySpec, dedup: str, target: str, found: apply.Classified) -> bool:
        """Insert and update the de-duplicated rows; whether the inserted rows are active."""
        # what a new row gets: inactive if a newer full export of this entity has been applied
        insert_key, insert_exported = self.full_exports.insert_version(spec, found.inserted)
        extras, params = self.shop_rules.insert_extras(spec.entity, dedup) if found.inserted else (None, {})
        upsert = apply.upsert_statement(
            spec, dedup, target, found, new_rows_active=insert_key == self.key, extras=extras
        )
        bind = self.db.bind_time
        self.db.execute_sql(
            upsert,
            **params,
            upload=self.key,
            insert_key=insert_key,
            insert_exported=bind(insert_exported),
            exported=bind(self.exported_at),
            now=bind(self.now),
        )
        return insert_key == self.key

    def _rederive(self, spec: rows.EntitySpec, dedup: str) -> None:
        """Rows whose derived columns come from ``spec``'s table follow its changed rows (prices without a
        currency of their own follow their price type's)."""
        for table, found in apply.DERIVED.items():
            for derivation in found:
                if derivation.table == spec.table:
                    self.db.execute_sql(
                        apply.rederive_statement(
                            derivation,
                            self._qualified(table),
                            self._qualified(spec.table),
                            f"SELECT id FROM {dedup}",
                            pg=self.pg,
                        )
                    )

    # --- end of transaction --------------------------------------------------------------------------

    def finish(self) -> None:
        """Deactivate what full exports no longer contain, record the upload. Called by the block's end."""
        if self._finished:
            return
        self._finished = True
        if not self._locks:
            self.lock()
        started = time.perf_counter()
        by_full_exports = self.full_exports.finish()
        for entity, deactivated in by_full_exports.items():
            if deactivated or entity in self.results:
                self.result(entity).deactivated += deactivated
        self.shop_rules.after_full_exports(by_full_exports)
        self.shop_rules.finish()
        bind = self.db.bind_time
        self.db.execute_sql(
            f"""INSERT INTO {self._qualified("uploads")} (key, exported_at, first_loaded_at, loaded_at)
                VALUES (:upload, :exported, :now, :now)
                ON CONFLICT (key) DO UPDATE SET loaded_at = excluded.loaded_at""",
            upload=self.key,
            exported=bind(self.exported_at),
            now=bind(self.now),
        )
        log.debug("finish of %s took %.2fs", self.key, time.perf_counter() - started)


#: the entities a load may write under the prices lock alone (``load_lock``)
PRICE_ENTITIES = frozenset({Entity.PRICES, Entity.PRICE_TYPES})


def lock_family(entity: Entity) -> str | None:
    """The load lock family writing ``entity`` needs (None: the schema's lock)."""
    return PRICES_FAMILY if entity in PRICE_ENTITIES else None


def _record_id(rec: Any) -> str | None:
    for attr in ("id", "offer_id"):
        value = getattr(rec, attr, None)
        if value is not None:
            return str(value)
    return None
