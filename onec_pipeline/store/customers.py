"""Customers (1C contragents): identity resolution, conflicts for review, audit log, export selection.

Tables (catalog schema, migration ``0002_customers``; declared in :mod:`onec_pipeline.store.tables.customers`):

* ``customers`` - one row per customer, from 1C (``onec_id`` set, ``created_in_1c``) or created by the site
  (``onec_id`` NULL, ``needs_1c_export`` true). ``email`` is the normalised (trimmed, lower-case) first valid
  address, ``phone`` the normalised first valid number, ``phone_raw`` the number as received. Version guard
  as for catalog rows: ``upload_key`` / ``exported_at`` of the upload that last wrote the row.
* ``customer_conflicts`` - contragents that could not be merged safely, for manual review.
* ``customer_sync_log`` - one row per decision (audit trail).

Identity resolution for each imported contragent (:func:`import_customers`):

1. by ``onec_id``; the version guard decides: newer upload → update, same upload → unchanged, older → stale;
2. else by e-mail (any of its valid e-mails, case-insensitive) among active rows;
3. else by normalised phone plus name (case- and whitespace-insensitive) among active rows.

A single candidate without a ``onec_id`` is updated and gets the ``onec_id`` (``needs_1c_export`` is cleared:
1C knows the customer now). No candidate → insert. Several candidates, or one that already carries a
different ``onec_id`` → nothing is merged or inserted: a ``customer_conflicts`` row (status ``open``) keeps
the incoming contragent whole, and the candidate rows get ``sync_status = 'conflict'`` (kept while the
conflict is open, even when a candidate is updated through its own ``onec_id``; candidates are not exported
meanwhile). A newer upload's conflict about the same contragent supersedes the open one. After review,
:func:`resolve_conflict` closes it and releases the candidates. A contragent marked deleted in 1C is only
matched by ``onec_id`` (it never deactivates a site row through e-mail/phone); otherwise it is inserted
inactive. A full export (``full=True``) deactivates the active 1C customers it lacks whose ``upload_key`` is
older, refusing more than ``max_deactivation_share`` of them unless ``allow_mass_deactivation``, and is
recorded in the store's ``full_exports``; a contragent first seen in an upload older than the newest full
export (which therefore lacks it) is inserted inactive - so any order of application ends in the
chronological state, as for catalog rows.

Invalid INN / KPP / e-mail / phone never drop a customer: values are kept as received (e-mail: trimmed,
lower-cased), the problems are stored in ``customers.validation_issues`` and the decision is logged with
status ``error`` (details ``action`` still says ``inserted``/``updated``), and ``sync_status = 'error'``.

Audit log contract (``customer_sync_log``, operation ``import_from_1c``):

* every insert / update / deactivation → one row, status ``success`` (or ``error`` when values were
  flagged), details ``{"action", "matched_by", "changed", "invalid", "source"}``;
* every new conflict → one row, status ``conflict``, details ``{"conflict_id", "reason", "candidates"}``;
* a no-change decision on the *first* application of an upload (row written by a newer upload: ``stale``;
  the same contragent twice in one upload: ``duplicate_in_upload``; the same conflict already open:
  ``conflict_already_open``; row already written by this upload: ``unchanged``) → one row, status
  ``skipped``, details ``{"reason": ...}``;
* **replay** (the log already holds ``import_from_1c`` rows for this upload key): no-change decisions are
  not logged one by one; the replay adds exactly **one** row: ``customer_id`` NULL, ``onec_id`` NULL,
  status ``skipped``, details ``{"reason": "replay", "unchanged": n, "stale": n, "conflicts_open": n}``.
  A replay that does change something (a conflict resolved by hand in between) logs those changes as above.
  So N applications of one upload leave its first-application rows plus exactly N-1 replay rows.
* the log is written in the caller's transaction: a dry run or a failed import leaves no log rows (and the
  next application is therefore a first application again).

Export (operation ``export_to_1c``): :func:`export_customers` selects active site-created rows with
``needs_1c_export``, no ``onec_id`` and no open conflict, writes them with :func:`onec_pipeline.commerceml.writer.write_customers`
(``Ид`` = ``site-<id>``), then clears ``needs_1c_export``, sets ``sync_status = 'synced'``, ``last_sync_at``,
``last_export_file`` and logs one ``success`` row per customer (details ``{"action": "exported", "file",
"id_in_file"}``). The file is complete (atomic rename) before the rows are marked; if the transaction then
fails the rows stay pending and are exported again (at-least-once).

All functions take a SQLAlchemy ``Connection`` inside a transaction (the store's transaction; the caller
commits) and the catalog ``schema`` (ignored on SQLite); :func:`customer_tables` gives the tables of a schema.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Customer, Entity
from onec_pipeline.commerceml.validation import customer_issues, normalise_email, normalise_phone
from onec_pipeline.store.errors import MassDeactivationError
from onec_pipeline.store.tables import metadata, table_in

IMPORT_OPERATION = "import_from_1c"
LOG_BATCH = 500
EXPORT_OPERATION = "export_to_1c"
SITE_ID_PREFIX = "site-"


@dataclass(frozen=True)
class CustomerTables:
    customers: sa.Table
    conflicts: sa.Table
    log: sa.Table
    #: the store's bookkeeping table, shared by every entity: customers' full exports are recorded there
    full_exports: sa.Table


def customer_tables(schema: str | None = None) -> CustomerTables:
    """The customers tables in ``schema`` (``None`` for SQLite / the default schema), from the store's
    one MetaData (declared in :mod:`onec_pipeline.store.tables.customers`)."""
    md = metadata(schema)
    return CustomerTables(
        customers=table_in(md, "customers"),
        conflicts=table_in(md, "customer_conflicts"),
        log=table_in(md, "customer_sync_log"),
        full_exports=table_in(md, "full_exports"),
    )


def _tables(conn: sa.Connection, schema: str | None) -> CustomerTables:
    return customer_tables(None if conn.dialect.name == "sqlite" else schema)


# data columns written from a 1C contragent (compared to decide what changed)
_DATA_COLUMNS = (
    "kind",
    "name",
    "official_name",
    "inn",
    "kpp",
    "okpo",
    "email",
    "phone",
    "phone_raw",
    "addresses",
    "contacts",
    "representatives",
    "role",
    "validation_issues",
    "is_active",
)


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


@dataclass
class CustomerExportResult:
    path: Path | None
    exported: int
    customer_ids: list[int]


def _now() -> datetime:
    """Naive UTC, like every timestamp of the catalog schema."""
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _name_key(name: str | None) -> str:
    return re.sub(r"\s+", " ", (name or "").strip()).casefold()


def _jsonable(value: Any) -> Any:
    """Round-trip through plain types so comparisons with stored JSON are exact."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def incoming_payload(customer: Customer) -> dict[str, Any]:
    """The contragent as plain JSON (kept whole in a conflict for the reviewer)."""
    data = {f.name: getattr(customer, f.name) for f in dataclasses.fields(customer) if f.name != "source"}
    data["source"] = str(customer.source) if customer.source else None
    return _jsonable(data)


def _values_from_record(customer: Customer) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Column values of a contragent and its validation issues."""
    raw_emails = [e for e in customer.emails if _clean(e)]
    valid_emails = [e for e in (normalise_email(x) for x in raw_emails) if e]
    email = valid_emails[0] if valid_emails else (raw_emails[0].strip().lower() if raw_emails else None)
    raw_phones = [p for p in customer.phones if _clean(p)]
    phone = phone_raw = None
    for raw in raw_phones:
        if (normalised := normalise_phone(raw)) is not None:
            phone, phone_raw = normalised, raw.strip()
            break
    if phone_raw is None and raw_phones:
        phone_raw = raw_phones[0].strip()
    issues = [
        i.as_dict()
        for i in customer_issues(inn=customer.inn, kpp=customer.kpp, emails=raw_emails, phones=raw_phones)
    ]
    values = {
        "kind": customer.kind,
        "name": customer.name,
        "official_name": customer.official_name,
        "inn": _clean(customer.inn),
        "kpp": _clean(customer.kpp),
        "okpo": _clean(customer.okpo),
        "email": email,
        "phone": phone,
        "phone_raw": phone_raw,
        "addresses": _jsonable(customer.addresses),
        "contacts": _jsonable(customer.contacts),
        "representatives": _jsonable(customer.representatives),
        "role": customer.role,
        "validation_issues": issues or None,
        "is_active": not customer.deleted,
    }
    return values, issues


def _ids_in_open_conflicts(conn: sa.Connection, conflicts: sa.Table) -> set[int]:
    query = sa.select(conflicts.c.candidate_ids).where(conflicts.c.status == "open")
    return {int(i) for (ids,) in conn.execute(query) for i in (ids or [])}


class _Importer:
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
        t = self.customers_t
        # one round trip finds every candidate: the row with this onec_id, active rows with one of the
        # e-mails, active rows with one of the phones (flags tell which condition each row met)
        email_hit = sa.func.lower(t.c.email).in_(sa.bindparam("emails", expanding=True))
        phone_hit = t.c.phone.in_(sa.bindparam("phones", expanding=True))
        self.q_candidates = (
            sa.select(t, email_hit.label("_email_hit"), phone_hit.label("_phone_hit"))
            .where(
                sa.or_(
                    t.c.onec_id == sa.bindparam("onec_id"),
                    sa.and_(t.c.is_active.is_(True), sa.or_(email_hit, phone_hit)),
                )
            )
            .order_by(t.c.id)
        )
        self.s_insert = t.insert().returning(t.c.id)
        self.s_update = t.update().where(t.c.id == sa.bindparam("row_id"))
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
                "details": _jsonable(details),
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
        details = {"reason": reason, "source": str(customer.source) if customer.source else None, **extra}
        self.log("skipped", details, customer_id, customer.id)

    # -- decisions ------------------------------------------------------------------------------------------
    def apply(self, customer: Customer) -> None:
        onec_id = customer.id.strip()
        values, issues = _values_from_record(customer)
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
        if customer.deleted:
            self.insert(customer, values, issues)
            return

        name_key = _name_key(customer.name)
        by_email = [r for r in rows if r["_email_hit"]]
        by_phone_name = [r for r in rows if r["_phone_hit"] and name_key and _name_key(r["name"]) == name_key]
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
        details["source"] = str(customer.source) if customer.source else None
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
        changed = [c for c in _DATA_COLUMNS if _jsonable(row[c]) != new[c]]
        status = "error" if issues else "synced"
        if row["sync_status"] == "conflict" and row["id"] in _ids_in_open_conflicts(
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
            "source": str(customer.source) if customer.source else None,
        }
        self.log("error" if issues else "success", details, row["id"], customer.id.strip())

    def conflict(self, customer: Customer, reason: str, matched_by: str, candidates) -> None:
        onec_id = customer.id.strip()
        candidate_ids = sorted(int(c["id"]) for c in candidates)
        existing = self.conn.execute(
            sa.select(self.conflicts_t.c.id).where(
                self.conflicts_t.c.onec_id == onec_id,
                self.conflicts_t.c.upload_key == self.key,
                self.conflicts_t.c.status == "open",
            )
        ).first()
        if existing is not None:
            self.result.conflicts_open += 1
            self.log_no_change("conflict_already_open", customer, None, conflict_id=existing.id)
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
            "source": str(customer.source) if customer.source else None,
        }
        self.log("conflict", details, None, onec_id)

    def deactivate_absent(self, allow_mass: bool, max_share: float) -> None:
        """A full export deactivates 1C customers it does not contain (written by older uploads).

        Refuses (:class:`~onec_pipeline.store.MassDeactivationError`) to deactivate more than ``max_share`` of
        the active 1C customers unless ``allow_mass`` - the store's guard for catalog entities.
        """
        t = self.customers_t
        active = t.c.is_active.is_(True)
        query = sa.select(t.c.id, t.c.onec_id, t.c.upload_key).where(
            t.c.onec_id.is_not(None),
            active,
            sa.or_(t.c.upload_key.is_(None), t.c.upload_key < self.key),
        )
        doomed = [row for row in self.conn.execute(query) if row.onec_id not in self.seen]
        total = self.conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.onec_id.is_not(None), active)
        ).scalar_one()
        if doomed and not allow_mass and len(doomed) > max_share * total:
            raise MassDeactivationError(Entity.CUSTOMERS, self.key, len(doomed), total, max_share)
        for row in doomed:
            self.conn.execute(
                t.update()
                .where(t.c.id == row.id)
                .values(is_active=False, upload_key=self.key, last_sync_at=self.now, updated_at=self.now)
            )
            self.result.deactivated += 1
            details = {"action": "deactivated", "reason": "absent from full export"}
            details["previous_upload_key"] = row.upload_key
            self.log("success", details, row.id, row.onec_id)
        fe = self.full_exports
        known = self.conn.execute(
            sa.select(sa.func.count())
            .select_from(fe)
            .where(fe.c.entity == Entity.CUSTOMERS.value, fe.c.upload_key == self.key)
        ).scalar_one()
        if not known:
            self.conn.execute(
                fe.insert().values(
                    entity=Entity.CUSTOMERS.value,
                    upload_key=self.key,
                    exported_at=self.exported_at,
                    recorded_at=self.now,
                )
            )

    def finish(self) -> CustomerSyncResult:
        r = self.result
        if r.replay:
            details = {
                "reason": "replay",
                "unchanged": r.unchanged,
                "stale": r.stale,
                "conflicts_open": r.conflicts_open,
            }
            self.log("skipped", details)
        self.flush_log()
        return r


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
    transaction rolls back). See the module docstring for the resolution rules and the exact log contract.
    """
    importer = _Importer(conn, _tables(conn, schema), upload_key, exported_at, now or _now())
    for record in records:
        if isinstance(record, Customer):
            importer.apply(record)
    if full:
        importer.deactivate_absent(allow_mass_deactivation, max_deactivation_share)
    return importer.finish()


def import_in_transaction(tx: Any, records: Iterable[Customer], *, full: bool) -> CustomerSyncResult:
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


def counts_in_transaction(tx: Any) -> dict[str, int]:
    """:func:`customer_counts` as the store transaction ``tx`` sees them."""
    return customer_counts(tx.conn, tx.store.schema)


# -- export ----------------------------------------------------------------------------------------------


def export_id(customer_id: int) -> str:
    """The ``Ид`` a site-created customer carries in the export file."""
    return f"{SITE_ID_PREFIX}{customer_id}"


def row_to_customer(row: Any, onec_id: str | None = None) -> Customer:
    """A ``customers`` row as a :class:`Customer` record (what the export writes and the reader reads back).

    The stored e-mail and phone are part of ``contacts`` (as ``Электронная почта`` / ``Телефон рабочий``
    contacts when the stored contacts don't hold them), exactly as the writer puts them in the file.
    """
    from onec_pipeline.commerceml.writer import EMAIL_CONTACT_TYPE, PHONE_CONTACT_TYPE

    email = row["email"] or None
    phone = row["phone_raw"] or row["phone"] or None
    contacts = [dict(c) for c in (row["contacts"] or [])]
    present = {(c.get("value") or "").strip().lower() for c in contacts}
    if email and email.lower() not in present:
        contacts.append({"type": EMAIL_CONTACT_TYPE, "value": email, "comment": None})
    if phone and phone.strip().lower() not in present:
        contacts.append({"type": PHONE_CONTACT_TYPE, "value": phone, "comment": None})
    return Customer(
        id=onec_id or row["onec_id"] or export_id(row["id"]),
        name=row["name"],
        # the writer needs ОфициальноеНаименование / ПолноеНаименование to tell the kind: the name stands in
        official_name=row["official_name"]
        or (row["name"] if row["kind"] in ("legal", "individual") else None),
        kind=row["kind"],
        inn=row["inn"],
        kpp=row["kpp"],
        okpo=row["okpo"],
        emails=[email] if email else [],
        phones=[phone] if phone else [],
        addresses=list(row["addresses"] or []),
        contacts=contacts,
        role=row["role"],
        representatives=list(row["representatives"] or []),
        deleted=not row["is_active"],
    )


def export_candidates_query(tables: CustomerTables) -> sa.Select:
    """Active site-created rows waiting for export; rows in an open conflict wait for its review."""
    customers = tables.customers
    return (
        sa.select(customers)
        .where(
            customers.c.needs_1c_export.is_(True),
            customers.c.onec_id.is_(None),
            customers.c.is_active.is_(True),
            customers.c.sync_status != "conflict",
        )
        .order_by(customers.c.id)
    )


def pending_export_count(conn: sa.Connection, schema: str | None = None) -> int:
    query = export_candidates_query(_tables(conn, schema)).with_only_columns(sa.func.count()).order_by(None)
    return conn.execute(query).scalar_one()


def export_customers(
    conn: sa.Connection, outbox_dir: str | Path, *, now: datetime | None = None, schema: str | None = None
) -> CustomerExportResult:
    """Write site-created customers that need export to a ``Контрагенты`` file and mark them exported.

    Nothing to export → no file (``path`` None). Rows are streamed into the file (bounded memory); the
    file is complete on disk (atomic rename) before the rows are marked; if marking fails the file is
    removed. If the caller's transaction fails after this returns, the caller should remove the file
    (``customers_export`` does); otherwise the rows stay pending and are exported again next time
    (at-least-once; 1C matches them by ``Ид``).
    """
    import uuid

    from onec_pipeline.commerceml.writer import write_customers

    now = now or _now()
    tables = _tables(conn, schema)
    customers, customer_sync_log = tables.customers, tables.log
    if pending_export_count(conn, schema) == 0:
        return CustomerExportResult(None, 0, [])
    ids: list[int] = []

    def selected():
        # streamed from a server-side cursor: memory holds one batch of rows, not the whole export
        query = export_candidates_query(tables).execution_options(stream_results=True, yield_per=500)
        for row in conn.execute(query).mappings():
            ids.append(int(row["id"]))
            yield row_to_customer(row)

    path = Path(outbox_dir) / f"customers-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.xml"
    # ДатаФормирования in local time without offset, as 1C writes it
    write_customers(path, selected(), generated_at=now.replace(tzinfo=UTC).astimezone().replace(tzinfo=None))
    try:
        conn.execute(
            customers.update()
            .where(customers.c.id.in_(ids))
            .values(
                needs_1c_export=False,
                sync_status="synced",
                last_sync_at=now,
                last_export_file=path.name,
                updated_at=now,
            )
        )
        conn.execute(
            customer_sync_log.insert(),
            [
                {
                    "customer_id": cid,
                    "onec_id": None,
                    "operation": EXPORT_OPERATION,
                    "status": "success",
                    "details": {"action": "exported", "file": path.name, "id_in_file": export_id(cid)},
                    "upload_key": None,
                    "created_at": now,
                }
                for cid in ids
            ],
        )
    except BaseException:
        path.unlink(missing_ok=True)  # the rows stay pending: no file may claim them
        raise
    return CustomerExportResult(path, len(ids), ids)


def export_to_outbox(store: Any, outbox_dir: str | Path, *, dry_run: bool = False):
    """Export pending site-created customers (:func:`export_customers`) in one transaction serialised with
    the loads; returns ``(CustomerExportResult, customer_counts)``. The file is removed again when the
    transaction does not commit (an error, or ``dry_run``): the rows then stay pending."""
    result: CustomerExportResult | None = None
    try:
        with store.locked_connection(dry_run=dry_run) as conn:
            result = export_customers(conn, outbox_dir, schema=store.schema)
            counts = customer_counts(conn, store.schema)
    except BaseException:
        if result is not None and result.path is not None:
            result.path.unlink(missing_ok=True)
        raise
    if dry_run and result.path is not None:
        result.path.unlink(missing_ok=True)
    return result, counts


# -- review ----------------------------------------------------------------------------------------------


def resolve_conflict(
    conn: sa.Connection,
    conflict_id: int,
    resolution: str,
    *,
    schema: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Close an open conflict after manual review (the reviewer fixes the rows by hand: e.g. sets the
    ``onec_id`` on the right site row, or corrects an e-mail); returns the candidate ids released.

    Candidates in no other open conflict leave ``sync_status = 'conflict'``: ``pending`` for site rows
    still waiting for export, ``synced`` for the others. The next import of the contragent resolves it again with the fixed rows.
    """
    tables = _tables(conn, schema)
    now = now or _now()
    row = (
        conn.execute(sa.select(tables.conflicts).where(tables.conflicts.c.id == conflict_id))
        .mappings()
        .first()
    )
    if row is None or row["status"] != "open":
        raise ValueError(f"customer conflict {conflict_id} is not open")
    conn.execute(
        tables.conflicts.update()
        .where(tables.conflicts.c.id == conflict_id)
        .values(status="resolved", resolution=resolution, resolved_at=now)
    )
    still = _ids_in_open_conflicts(conn, tables.conflicts)
    released = [int(i) for i in row["candidate_ids"] if int(i) not in still]
    t = tables.customers
    waiting = sa.and_(t.c.onec_id.is_(None), t.c.needs_1c_export.is_(True))
    for status, where in (("pending", waiting), ("synced", sa.not_(waiting))):
        conn.execute(
            t.update()
            .where(t.c.id.in_(released), t.c.sync_status == "conflict", where)
            .values(sync_status=status, updated_at=now)
        )
    return released


# -- checks ----------------------------------------------------------------------------------------------


def open_conflicts(conn: sa.Connection, schema: str | None = None) -> list[dict[str, Any]]:
    customer_conflicts = _tables(conn, schema).conflicts
    query = (
        sa.select(
            customer_conflicts.c.id,
            customer_conflicts.c.onec_id,
            customer_conflicts.c.upload_key,
            customer_conflicts.c.reason,
            customer_conflicts.c.matched_by,
            customer_conflicts.c.candidate_ids,
        )
        .where(customer_conflicts.c.status == "open")
        .order_by(customer_conflicts.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def duplicate_active_emails(conn: sa.Connection, schema: str | None = None) -> list[dict[str, Any]]:
    """E-mails (case-insensitive) held by more than one active customer, with the customer ids."""
    customers = _tables(conn, schema).customers
    email = sa.func.lower(customers.c.email)
    dupes = (
        sa.select(email.label("email"))
        .where(customers.c.is_active.is_(True), customers.c.email.is_not(None), customers.c.email != "")
        .group_by(email)
        .having(sa.func.count() > 1)
    ).subquery()
    query = (
        sa.select(dupes.c.email, customers.c.id)
        .join(customers, sa.func.lower(customers.c.email) == dupes.c.email)
        .where(customers.c.is_active.is_(True))
        .order_by(dupes.c.email, customers.c.id)
    )
    result: dict[str, list[int]] = {}
    for row in conn.execute(query):
        result.setdefault(row.email, []).append(int(row.id))
    return [{"email": e, "customer_ids": ids} for e, ids in result.items()]


def customer_counts(conn: sa.Connection, schema: str | None = None) -> dict[str, int]:
    tables = _tables(conn, schema)
    customers, customer_conflicts = tables.customers, tables.conflicts

    def count(*where) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(customers).where(*where)).scalar_one()

    return {
        "customers": count(),
        "customers_active": count(customers.c.is_active.is_(True)),
        "customers_from_1c": count(customers.c.onec_id.is_not(None)),
        "customers_pending_export": pending_export_count(conn, schema),
        "customers_conflict": count(customers.c.sync_status == "conflict"),
        "customers_flagged": count(customers.c.sync_status == "error"),
        "customer_conflicts_open": conn.execute(
            sa.select(sa.func.count())
            .select_from(customer_conflicts)
            .where(customer_conflicts.c.status == "open")
        ).scalar_one(),
    }
