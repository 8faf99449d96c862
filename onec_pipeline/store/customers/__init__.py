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

Modules: ``tables`` (the tables of a schema), ``values`` (a contragent as column values), ``resolution``
(the import), ``export`` (the outbox file), ``queries`` (counts, export candidates, what waits for review),
``review`` (closing a conflict).
"""

from onec_pipeline.store.customers.export import (
    EXPORT_OPERATION,
    SITE_ID_PREFIX,
    CustomerExportResult,
    export_customers,
    export_id,
    export_to_outbox,
    row_to_customer,
)
from onec_pipeline.store.customers.queries import (
    counts_in_transaction,
    customer_counts,
    duplicate_active_emails,
    export_candidates_query,
    open_conflicts,
    pending_export_count,
)
from onec_pipeline.store.customers.resolution import (
    IMPORT_OPERATION,
    LOG_BATCH,
    CustomerSyncResult,
    import_customers,
    import_in_transaction,
)
from onec_pipeline.store.customers.review import resolve_conflict
from onec_pipeline.store.customers.tables import CustomerTables, customer_tables
from onec_pipeline.store.customers.values import incoming_payload

__all__ = [
    "EXPORT_OPERATION",
    "IMPORT_OPERATION",
    "LOG_BATCH",
    "SITE_ID_PREFIX",
    "CustomerExportResult",
    "CustomerSyncResult",
    "CustomerTables",
    "counts_in_transaction",
    "customer_counts",
    "customer_tables",
    "duplicate_active_emails",
    "export_candidates_query",
    "export_customers",
    "export_id",
    "export_to_outbox",
    "import_customers",
    "import_in_transaction",
    "incoming_payload",
    "open_conflicts",
    "pending_export_count",
    "resolve_conflict",
    "row_to_customer",
]
