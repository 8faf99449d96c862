"""Identity resolution of imported contragents (operation ``import_from_1c``), see the package docstring."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Customer, Entity
from onec_pipeline.commerceml.validation import normalise_email, normalise_phone
from onec_pipeline.store.customers.queries import ids_in_open_conflicts
from onec_pipeline.store.customers.tables import CustomerTables, tables_for
from onec_pipeline.store.customers.values import (
    DATA_COLUMNS,
    incoming_payload,
    jsonable,
    name_key,
    source_text,
    utcnow,
    values_from_record,
)
from onec_pipeline.store.errors import MassDeactivationError
from onec_pipeline.store.transaction import Transaction

IMPORT_OPERATION = "import_from_1c"
LOG_BATCH = 500


@dataclass
class CustomerSyncResult:
    """What one :func:`import_customers` call did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    conflicts: int = 0  # new conflicts opened
    conflicts_open: int = 0  # contragents whose conflict was already open (replays)
    deactivated: int = 0
    flagged: int = 0  # customers written with invalid values kept raw
    replay: bool = False
    log_rows: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return (
            self.inserted + self.updated + self.unchanged + self.stale + self.conflicts + self.conflicts_open
        )

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rows"] = self.rows
        return data


class _Importer:
    """Resolves and writes the contragents of one upload, row by row, in the caller's transaction."""

    def __init__(
        self,
        conn: sa.Connection,
        tables: CustomerTables,
        upload_key: str,
        exported_at: datetime | None,
        now: datetime,
    ) -> None:
        self.conn = conn
        self.customers_t, self.conflicts_t, self.log_t = tables.customers, tables.conflicts, tables.log
        # statements built once and executed with parameters (building one per row costs more than running it)
        customers = self.customers_t
        # one round trip finds every candidate: the row with this onec_id, active rows with one of the
        # e-mails, active rows with one of the phones (flags tell which condition each row met)
        email_hit = sa.func.lower(customers.c.email).in_(sa.bindparam("emails", expanding=True))
        phone_hit = customers.c.phone.in_(sa.bindparam("phones", expanding=True))
        self.q_candidates = (
            sa.select(customers, email_hit.label("_email_hit"), phone_hit.label("_phone_hit"))
            .where(
                sa.or_(
                    customers.c.onec_id == sa.bindparam("onec_id"),
                    sa.and_(customers.c.is_active.is_(True), sa.or_(email_hit, phone_hit)),
                )
            )
            .order_by(customers.c.id)
        )
        self.s_insert = customers.insert().returning(customers.c.id)
        self.s_update = customers.update().where(customers.c.id == sa.bindparam("row_id"))
        self.pending_log: list[dict[str, Any]] = []
        self.full_exports = tables.full_exports
        self.newest_full = conn.execute(
            sa.select(sa.func.max(self.full_exports.c.upload_key)).where(
                self.full_exports.c.entity == Entity.CUSTOMERS.value
            )
        ).scalar_one_or_none()
        self.key = upload_key
        self.exported_at = exported_at
        self.now = now
        self.result = CustomerSyncResult()
        self.seen: set[str] = set()
        self.result.replay = (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(self.log_t)
                .where(
                    self.log_t.c.operation == IMPORT_OPERATION,
                    self.log_t.c.upload_key == upload_key,
                )
            ).scalar_one()
            > 0
        )

    # -- logging -------------------------------------------------------------------------------------------
    def log(self, status: str, details: dict, customer_id: int | None = None, onec_id: str | None = None):
        """Buffer one log row (written in batches, in decision order, by :meth:`flush_log`)."""
        self.pending_log.append(
            {
                "customer_id": customer_id,
                "onec_id": onec_id,
                "operation": IMPORT_OPERATION,
                "status": status,
                "details": jsonable(details),
                "upload_key": self.key,
                "created_at": self.now,
            }
        )
        self.result.log_rows += 1
        if len(self.pending_log) >= LOG_BATCH:
            self.flush_log()

    def flush_log(self) -> None:
        if self.pending_log:
            self.conn.execute(self.log_t.insert(), self.pending_log)
            self.pending_log = []

    def log_no_change(self, reason: str, customer: Customer, customer_id: int | None, **extra) -> None:
        if self.result.replay:
            return  # summarised in one row at the end
        details = {"reason": reason, "source": source_text(customer), **extra}
        self.log("skipped", details, customer_id, customer.id)

    # -- decisions ------------------------------------------------------------------------------------------
    def apply(self, customer: Customer) -> None:
        onec_id = customer.id.strip()
        values, issues = values_from_record(customer)
        duplicate = onec_id in self.seen
        self.seen.add(onec_id)

        emails = sorted({e for e in (normalise_email(x) for x in customer.emails) if e})
        phones = sorted({p for p in (normalise_phone(x) for x in customer.phones) if p})
        found = self.conn.execute(
            self.q_candidates, {"onec_id": onec_id, "emails": emails, "phones": phones}
        ).mappings()
        rows = [dict(r) for r in found]
        row = next((r for r in rows if r["onec_id"] == onec_id), None)
        if row is not None:
            self.apply_guarded(customer, row, values, issues, "onec_id", duplicate)
            return
        if self.result.replay and self.keep_open_conflict(customer):
            return  # a replay keeps the conflict waiting for review (the candidates may have changed since)
        if customer.deleted:
            self.insert(customer, values, issues)
            return

        name = name_key(customer.name)
        by_email = [r for r in rows if r["_email_hit"]]
        by_phone_name = [r for r in rows if r["_phone_hit"] and name and name_key(r["name"]) == name]
        for matched_by, candidates in (("email", by_email), ("phone_name", by_phone_name)):
            if not candidates:
                continue
            if len(candidates) > 1:
                self.conflict(customer, "ambiguous", matched_by, candidates)
            elif candidates[0]["onec_id"] is not None:
                self.conflict(customer, "onec_id_mismatch", matched_by, candidates)
            else:
                self.update(customer, candidates[0], values, issues, matched_by, link=True)
            return
        self.insert(customer, values, issues)

    def apply_guarded(self, customer, row, values, issues, matched_by, duplicate) -> None:
        row_key = row["upload_key"]
        if row_key is None or self.key > row_key:
            self.update(customer, row, values, issues, matched_by, link=False)
        elif self.key == row_key:
            self.result.unchanged += 1
            if duplicate:
                self.log_no_change("duplicate_in_upload", customer, row["id"])
            else:
                self.log_no_change("unchanged", customer, row["id"])
        else:
            self.result.stale += 1
            self.log_no_change("stale", customer, row["id"], row_upload_key=row_key)

    def _count_match(self, matched_by: str) -> None:
        self.result.matched_by[matched_by] = self.result.matched_by.get(matched_by, 0) + 1

    def insert(self, customer: Customer, values: dict, issues: list) -> None:
        # a contragent first seen in an upload older than the newest full export, which lacks it, is gone
        hidden_by = self.newest_full if self.newest_full and self.key < self.newest_full else None
        if hidden_by:
            values = {**values, "is_active": False}
        params = {
            "onec_id": customer.id.strip(),
            "created_in_1c": True,
            "needs_1c_export": False,
            "sync_status": "error" if issues else "synced",
            "last_sync_at": self.now,
            "upload_key": self.key,
            "exported_at": self.exported_at,
            "created_at": self.now,
            "updated_at": self.now,
            **values,
        }
        new_id = self.conn.execute(self.s_insert, params).scalar_one()
        self.result.inserted += 1
        self.result.flagged += bool(issues)
        details = {"action": "inserted", "matched_by": None, "invalid": issues or None}
        if hidden_by:
            details["inactive"] = f"absent from the newer full export {hidden_by}"
        details["source"] = source_text(customer)
        self.log("error" if issues else "success", details, new_id, customer.id.strip())

    def update(self, customer, row, values: dict, issues: list, matched_by: str, link: bool) -> None:
        new = dict(values)
        # 1C without a (valid) e-mail or phone does not erase a stored one; the raw value stays in contacts
        # and validation_issues
        if row["email"] and (new["email"] is None or normalise_email(new["email"]) is None):
            new["email"] = row["email"]
        if new["phone"] is None and row["phone"] is not None:
            new["phone"], new["phone_raw"] = row["phone"], row["phone_raw"]
        elif new["phone_raw"] is None:
            new["phone_raw"] = row["phone_raw"]
        changed = [c for c in DATA_COLUMNS if jsonable(row[c]) != new[c]]
        status = "error" if issues else "synced"
        if row["sync_status"] == "conflict" and row["id"] in ids_in_open_conflicts(
            self.conn, self.conflicts_t
        ):
            status = "conflict"  # still a candidate of a conflict waiting for review
        extra: dict[str, Any] = {
            "upload_key": self.key,
            "exported_at": self.exported_at,
            "sync_status": status,
            "last_sync_at": self.now,
            "updated_at": self.now,
        }
        if link:
            extra.update(onec_id=customer.id.strip(), needs_1c_export=False)
            changed.append("onec_id")
        self.conn.execute(self.s_update, {"row_id": row["id"], **new, **extra})
        self.result.updated += 1
        self.result.flagged += bool(issues)
        self._count_match(matched_by)
        details = {
            "action": "updated",
            "matched_by": matched_by,
            "changed": changed,
            "invalid": issues or None,
            "previous_upload_key": row["upload_key"],
            "source": source_text(customer),
        }
        self.log("error" if issues else "success", details, row["id"], customer.id.strip())

    def keep_open_conflict(self, customer: Customer) -> bool:
        """True (counted and logged) when this upload already opened a conflict about ``customer``."""
        existing = self.conn.execute(
            sa.select(self.conflicts_t.c.id).where(
                self.conflicts_t.c.onec_id == customer.id.strip(),
                self.conflicts_t.c.upload_key == self.key,
                self.conflicts_t.c.status == "open",
            )
        ).first()
        if existing is None:
            return False
        self.result.conflicts_open += 1
        self.log_no_change("conflict_already_open", customer, None, conflict_id=existing.id)
        return True

    def conflict(self, customer: Customer, reason: str, matched_by: str, candidates) -> None:
        onec_id = customer.id.strip()
        candidate_ids = sorted(int(c["id"]) for c in candidates)
        if self.keep_open_conflict(customer):
            return
        # an older open conflict about the same contragent is superseded by this one
        self.conn.execute(
            self.conflicts_t.update()
            .where(self.conflicts_t.c.onec_id == onec_id, self.conflicts_t.c.status == "open")
            .values(status="superseded", resolved_at=self.now, resolution=f"superseded by upload {self.key}")
        )
        conflict_id = self.conn.execute(
            self.conflicts_t.insert()
            .values(
                onec_id=onec_id,
                upload_key=self.key,
                reason=reason,
                matched_by=matched_by,
                candidate_ids=candidate_ids,
                incoming=incoming_payload(customer),
                status="open",
                created_at=self.now,
            )
            .returning(self.conflicts_t.c.id)
        ).scalar_one()
        self.conn.execute(
            self.customers_t.update()
            .where(self.customers_t.c.id.in_(candidate_ids), self.customers_t.c.sync_status != "conflict")
            .values(sync_status="conflict", updated_at=self.now)
        )
        self.result.conflicts += 1
        details = {
            "conflict_id": conflict_id,
            "reason": reason,
            "matched_by": matched_by,
            "candidates": candidate_ids,
            "source": source_text(customer),
        }
        self.log("conflict", details, None, onec_id)

    def deactivate_absent(self, allow_mass: bool, max_share: float) -> None:
        """A full export deactivates 1C customers it does not contain (written by older uploads).

        Refuses (:class:`~onec_pipeline.store.MassDeactivationError`) to deactivate more than ``max_share`` of
        the active 1C customers unless ``allow_mass`` - the store's guard for catalog entities.
        """
        customers = self.customers_t
        active = customers.c.is_active.is_(True)
        query = sa.select(customers.c.id, customers.c.onec_id, customers.c.upload_key).where(
            customers.c.onec_id.is_not(None),
            active,
            sa.or_(customers.c.upload_key.is_(None), customers.c.upload_key < self.key),
        )
        doomed = [row for row in self.conn.execute(query) if row.onec_id not in self.seen]
        total = self.conn.execute(
            sa.select(sa.func.count()).select_from(customers).where(customers.c.onec_id.is_not(None), active)
        ).scalar_one()
        if doomed and not allow_mass and len(doomed) > max_share * total:
            raise MassDeactivationError(Entity.CUSTOMERS, self.key, len(doomed), total, max_share)
        for row in doomed:
            self.conn.execute(
                customers.update()
                .where(customers.c.id == row.id)
                .values(is_active=False, upload_key=self.key, last_sync_at=self.now, updated_at=self.now)
            )
            self.result.deactivated += 1
            details = {"action": "deactivated", "reason": "absent from full export"}
            details["previous_upload_key"] = row.upload_key
            self.log("success", details, row.id, row.onec_id)
        full_exports = self.full_exports
        known = self.conn.execute(
            sa.select(sa.func.count())
            .select_from(full_exports)
            .where(full_exports.c.entity == Entity.CUSTOMERS.value, full_exports.c.upload_key == self.key)
        ).scalar_one()
        if not known:
            self.conn.execute(
                full_exports.insert().values(
                    entity=Entity.CUSTOMERS.value,
                    upload_key=self.key,
                    exported_at=self.exported_at,
                    recorded_at=self.now,
                )
            )

    def finish(self) -> CustomerSyncResult:
        result = self.result
        if result.replay:
            details = {
                "reason": "replay",
                "unchanged": result.unchanged,
                "stale": result.stale,
                "conflicts_open": result.conflicts_open,
            }
            self.log("skipped", details)
        self.flush_log()
        return result


def import_customers(
    conn: sa.Connection,
    records: Iterable[Customer],
    upload_key: str,
    *,
    exported_at: datetime | None = None,
    full: bool = False,
    now: datetime | None = None,
    schema: str | None = None,
    allow_mass_deactivation: bool = False,
    max_deactivation_share: float = 0.5,
) -> CustomerSyncResult:
    """Resolve and write imported contragents, row by row, inside the caller's transaction.

    ``records`` may hold other record types (rejects...): only :class:`Customer` records are used.
    ``full`` (the upload is a complete directory of customers) deactivates absent 1C customers written
    by older uploads (at most ``max_deactivation_share`` of the active 1C customers unless
    ``allow_mass_deactivation``: else :class:`~onec_pipeline.store.MassDeactivationError`, and the caller's
    transaction rolls back). See the package docstring for the resolution rules and the exact log contract.
    """
    importer = _Importer(conn, tables_for(conn, schema), upload_key, exported_at, now or utcnow())
    for record in records:
        if isinstance(record, Customer):
            importer.apply(record)
    if full:
        importer.deactivate_absent(allow_mass_deactivation, max_deactivation_share)
    return importer.finish()


def import_in_transaction(tx: Transaction, records: Iterable[Customer], *, full: bool) -> CustomerSyncResult:
    """:func:`import_customers` inside a store transaction (``store.transaction(ref)``): takes the load lock
    first (these writes go straight to the tables, not through the loader)."""
    tx.lock()
    return import_customers(
        tx.conn,
        records,
        tx.key,
        exported_at=tx.exported_at,
        full=full,
        now=tx.now,
        schema=tx.store.schema,
        allow_mass_deactivation=tx.allow_mass_deactivation,
        max_deactivation_share=tx.max_deactivation_share,
    )
