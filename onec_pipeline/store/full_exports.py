"""Full exports: a full export of an entity deactivates what it no longer contains, under the breaker.

Used by :class:`~onec_pipeline.store.transaction.Transaction` (one instance per transaction). The rules
(docs/ARCHITECTURE.md, "Version guard" and "The mass-deactivation breaker"):

* **Deactivation.** When the transaction block ends, a full export F of entity E (``E in UploadRef.full``,
  E deactivatable: groups, goods, offers, prices, rests, stock totals) deactivates every row of E whose
  ``upload_key`` is older than F, setting ``upload_key = F``. No list of the ids F contained is needed:
  applying F left every row it contains at ``upload_key >= F`` (rewritten with F's version, or already
  holding a newer or the same one), so the rows still older than F are exactly the ones it lacks. One
  set-based statement per entity; partial exports never run it. An entity of ``UploadRef.full`` that
  received no record at all is an *empty* full export: everything older goes (the breaker judges it).
* **Insertion under a newer full export.** A row first written by an upload older than the newest full
  export N of its entity is inserted inactive with ``upload_key = N`` (chronologically, N dropped it).
* **The breaker, forwards.** F may deactivate at most ``max_deactivation_share`` of the entity's active
  rows unless the load allows mass deactivation; otherwise :class:`MassDeactivationError`, nothing changes.
* **The breaker, backwards.** In a backfill the newer full export N may be applied *before* the older
  uploads it would have been judged against: it then deactivates nothing itself, and the older uploads'
  rows are inserted inactive. So that the outcome does not depend on the order, an older upload O whose
  rows N hides is judged as N would have been in order: if N now hides more than the share of the rows
  (hidden + active) and N was not applied with mass deactivation allowed, O is refused with an error
  naming N. Whichever order the two arrive in, one of them fails with the same diagnosis, and allowing it
  gives the same final state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store import rows
from onec_pipeline.store.connection import LoadConnection
from onec_pipeline.store.errors import MassDeactivationError
from onec_pipeline.store.loads import UploadRef, naive


@dataclass(frozen=True)
class FullExport:
    """An applied full export of one entity."""

    key: str
    exported_at: datetime | None
    mass_deactivation_allowed: bool


class FullExports:
    """The full-export side of one loading transaction."""

    def __init__(
        self,
        db: LoadConnection,
        qualified: Callable[[str], str],
        table: sa.Table,
        ref: UploadRef,
        now: datetime,
        *,
        allow_mass_deactivation: bool,
        max_deactivation_share: float,
    ):
        self.db = db
        self.qualified = qualified
        self.table = table  # full_exports
        self.ref = ref
        self.key = ref.key
        self.exported_at = naive(ref.exported_at)
        self.now = now
        self.allow = allow_mass_deactivation
        self.share = max_deactivation_share
        self._newest: dict[str, FullExport] | None = None
        #: entity -> the newer full export whose absence hides rows this transaction inserted
        self._hidden_by: dict[Entity, FullExport] = {}

    # --- while applying ------------------------------------------------------------------------------

    def newest(self, entity: Entity) -> FullExport | None:
        """The newest full export of ``entity`` applied before this transaction."""
        if self._newest is None:
            newest: dict[str, FullExport] = {}
            table = self.table
            found = self.db.execute(
                sa.select(
                    table.c.entity, table.c.upload_key, table.c.exported_at, table.c.mass_deactivation_allowed
                )
            )
            for name, key, exported_at, allowed in found:
                if name not in newest or key > newest[name].key:
                    newest[name] = FullExport(key, exported_at, bool(allowed))
            self._newest = newest
        return self._newest.get(entity.value)

    def insert_version(self, spec: rows.EntitySpec, inserted: int) -> tuple[str, datetime | None]:
        """(upload_key, exported_at) new rows of ``spec`` get: this upload's, or those of a newer full export
        of the entity, which lacks them (they are then inserted inactive, and judged by :meth:`finish`)."""
        if spec.deactivatable:
            newest = self.newest(spec.entity)
            if newest is not None and newest.key > self.key:
                if inserted:
                    self._hidden_by[spec.entity] = newest
                return newest.key, newest.exported_at
        return self.key, self.exported_at

    # --- when the transaction block ends -------------------------------------------------------------

    def finish(self) -> dict[Entity, int]:
        """Judge older rows hidden by newer full exports, then deactivate what this upload's full exports
        lack; returns the rows deactivated per entity."""
        for entity, newer in self._hidden_by.items():
            self._judge_hidden(rows.SPECS[entity], newer)
        deactivated: dict[Entity, int] = {}
        for entity in rows.APPLY_ORDER:
            spec = rows.SPECS[entity]
            if spec.deactivatable and entity in self.ref.full:
                deactivated[entity] = self._deactivate(spec)
        return deactivated

    def _judge_hidden(self, spec: rows.EntitySpec, newer: FullExport) -> None:
        if self.allow or newer.mass_deactivation_allowed:
            return
        target = self.qualified(spec.table)
        live = "NOT deleted" if spec.has_deleted else "true"
        active, hidden = (
            self.db.execute_sql(
                f"""SELECT coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN upload_key = :full AND data_key < :full AND {live}
                                    THEN 1 ELSE 0 END), 0)
                    FROM {target}""",
                full=newer.key,
            )
            .tuples()
            .one()
        )
        active, hidden = int(active), int(hidden)
        if hidden > self.share * (active + hidden):
            raise MassDeactivationError(
                spec.entity, newer.key, hidden, active + hidden, self.share, older_upload=self.key
            )

    def _deactivate(self, spec: rows.EntitySpec) -> int:
        target = self.qualified(spec.table)
        active, going, older = (
            self.db.execute_sql(
                f"""SELECT coalesce(sum(CASE WHEN is_active THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN is_active AND upload_key < :upload THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN upload_key < :upload THEN 1 ELSE 0 END), 0)
                    FROM {target}""",
                upload=self.key,
            )
            .tuples()
            .one()
        )
        active, going, older = int(active), int(going), int(older)
        if going and not self.allow and going > self.share * active:
            raise MassDeactivationError(spec.entity, self.key, going, active, self.share)
        bind = self.db.bind_time
        if older:  # inactive rows too: their upload_key moves on, so that older content stays hidden
            self.db.execute_sql(
                f"""UPDATE {target}
                    SET is_active = false, upload_key = :upload, exported_at = :exported, updated_at = :now
                    WHERE upload_key < :upload""",
                upload=self.key,
                exported=bind(self.exported_at),
                now=bind(self.now),
            )
        self.db.execute_sql(
            f"""INSERT INTO {self.qualified("full_exports")} AS f
                    (entity, upload_key, exported_at, recorded_at, mass_deactivation_allowed)
                VALUES (:entity, :upload, :exported, :now, :allowed)
                ON CONFLICT (entity, upload_key) DO UPDATE
                SET mass_deactivation_allowed = f.mass_deactivation_allowed OR excluded.mass_deactivation_allowed""",
            entity=spec.entity.value,
            upload=self.key,
            exported=bind(self.exported_at),
            now=bind(self.now),
            allowed=self.allow,
        )
        return going
