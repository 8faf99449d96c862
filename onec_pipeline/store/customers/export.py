"""Export of site-created customers to 1C (operation ``export_to_1c``), see the package docstring."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Customer
from onec_pipeline.commerceml.writer import EMAIL_CONTACT_TYPE, PHONE_CONTACT_TYPE, write_customers
from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.customers.queries import (
    customer_counts,
    export_candidates_query,
    pending_export_count,
)
from onec_pipeline.store.customers.tables import CustomerTables, tables_for
from onec_pipeline.store.customers.values import utcnow

EXPORT_OPERATION = "export_to_1c"
SITE_ID_PREFIX = "site-"


@dataclass
class CustomerExportResult:
    path: Path | None
    exported: int
    customer_ids: list[int]


def export_id(customer_id: int) -> str:
    """The ``Ид`` a site-created customer carries in the export file."""
    return f"{SITE_ID_PREFIX}{customer_id}"


def row_to_customer(row: Mapping[Any, Any], onec_id: str | None = None) -> Customer:
    """A ``customers`` row as a :class:`Customer` record (what the export writes and the reader reads back).

    The stored e-mail and phone are part of ``contacts`` (as ``Электронная почта`` / ``Телефон рабочий``
    contacts when the stored contacts don't hold them), exactly as the writer puts them in the file.
    """
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
    now = now or utcnow()
    tables = tables_for(conn, schema)
    if pending_export_count(conn, schema) == 0:
        return CustomerExportResult(None, 0, [])
    ids: list[int] = []

    def selected() -> Iterator[Customer]:
        # streamed from a server-side cursor: memory holds one batch of rows, not the whole export
        query = export_candidates_query(tables).execution_options(stream_results=True, yield_per=500)
        for row in conn.execute(query).mappings():
            ids.append(int(row["id"]))
            yield row_to_customer(row)

    path = Path(outbox_dir) / f"customers-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.xml"
    # ДатаФормирования in local time without offset, as 1C writes it
    write_customers(path, selected(), generated_at=now.replace(tzinfo=UTC).astimezone().replace(tzinfo=None))
    try:
        _mark_exported(conn, tables, ids, path.name, now)
    except BaseException:
        path.unlink(missing_ok=True)  # the rows stay pending: no file may claim them
        raise
    return CustomerExportResult(path, len(ids), ids)


def _mark_exported(
    conn: sa.Connection, tables: CustomerTables, ids: list[int], file: str, now: datetime
) -> None:
    customers = tables.customers
    conn.execute(
        customers.update()
        .where(customers.c.id.in_(ids))
        .values(
            needs_1c_export=False,
            sync_status="synced",
            last_sync_at=now,
            last_export_file=file,
            updated_at=now,
        )
    )
    conn.execute(
        tables.log.insert(),
        [
            {
                "customer_id": customer_id,
                "onec_id": None,
                "operation": EXPORT_OPERATION,
                "status": "success",
                "details": {"action": "exported", "file": file, "id_in_file": export_id(customer_id)},
                "upload_key": None,
                "created_at": now,
            }
            for customer_id in ids
        ],
    )


def export_to_outbox(
    store: CatalogStore, outbox_dir: str | Path, *, dry_run: bool = False
) -> tuple[CustomerExportResult, dict[str, int]]:
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
