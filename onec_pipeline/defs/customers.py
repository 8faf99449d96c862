"""Customers (1C contragents): the ``customers`` import asset, the ``customers_export`` asset and checks.

* ``customers`` - partitioned by upload like the catalog assets, pool ``onec_catalog``, config
  ``ImportConfig``: reads the partition's archived ``Контрагенты`` files and resolves every contragent
  (:func:`onec_pipeline.store.customers.import_customers`) inside one ``store.transaction``; reject records
  (a Контрагент without Ид) go to the store's ``rejects`` through the same transaction.
* ``customers_export`` - not partitioned: writes site-created customers that need export to a CommerceML
  ``Контрагенты`` file in ``ONEC_OUTBOX_DIR`` (default ``$ONEC_HOME/outbox``), marks them and logs it, in one
  database transaction. Automation: a cron condition (every 15 minutes) for the automation sensor.
* checks on ``customers`` (per upload partition): open conflicts (WARN) and duplicate e-mails among
  active customers (ERROR); both describe the whole table after the upload's import.
"""

import time
import warnings
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    PreviewWarning,
    asset,
    asset_check,
)

from onec_pipeline.commerceml.records import Customer, Entity, Reject
from onec_pipeline.defs.assets import POOL, ImportConfig, open_archived_upload
from onec_pipeline.defs.partitions import uploads_partitions
from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs
from onec_pipeline.settings import Settings

CUSTOMERS_GROUP = "customers"
EXPORT_CRON = "*/15 * * * *"
SAMPLE = 10


def _emit(event: str, asset_name: str, **details) -> None:
    from onec_pipeline.defs import assets as assets_module

    hook = getattr(assets_module, "PROGRESS_HOOK", None)
    if hook is not None:
        try:
            hook(event, asset_name, details)
        except Exception:  # noqa: BLE001 - a display problem never fails an import
            pass


def run_customers_import(
    key: str,
    *,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    log,
) -> MaterializeResult:
    """Import the contragents of one archived upload (the body of the ``customers`` asset)."""
    from onec_pipeline.commerceml import ReadStats, read_upload
    from onec_pipeline.store import UploadRef
    from onec_pipeline.store.customers import counts_in_transaction, import_in_transaction

    upload, metadata = open_archived_upload(key, upload_dirs, [Entity.CUSTOMERS], dry_run=config.dry_run)
    if not upload.has(Entity.CUSTOMERS):
        metadata["has_data"] = MetadataValue.bool(False)
        metadata["note"] = MetadataValue.text(f"upload {key} holds no customers data: nothing loaded")
        for name in ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected", "conflicts"):
            metadata[name] = MetadataValue.int(0)
        log.info(f"customers: upload {key} holds no customers data")
        _emit("done", "customers", records=0, seconds=0.0, has_data=False)
        return MaterializeResult(metadata=metadata)

    store = catalog_db.get_store()
    full = upload.is_full(Entity.CUSTOMERS)
    ref = UploadRef(
        key=key, exported_at=upload.exported_at, full=frozenset({Entity.CUSTOMERS} if full else ())
    )
    stats = ReadStats()
    rejects: list[Reject] = []
    count = 0

    def contragents():
        nonlocal count
        for record in read_upload(upload, {Entity.CUSTOMERS}, stats):
            count += 1
            if isinstance(record, Customer):
                yield record
            elif isinstance(record, Reject):
                rejects.append(record)

    _emit("start", "customers", key=key)
    started = time.perf_counter()
    with store.transaction(
        ref, dry_run=config.dry_run, allow_mass_deactivation=config.allow_mass_deactivation
    ) as tx:
        result = import_in_transaction(tx, contragents(), full=full)
        if rejects:
            tx.load(rejects)
        counts = counts_in_transaction(tx)
    seconds = time.perf_counter() - started
    rejected = len(rejects)
    for name in ("inserted", "updated", "unchanged", "stale", "deactivated"):
        metadata[name] = MetadataValue.int(getattr(result, name))
    metadata["has_data"] = MetadataValue.bool(True)
    metadata["rejected"] = MetadataValue.int(rejected)
    metadata["records"] = MetadataValue.int(count)
    metadata["conflicts"] = MetadataValue.int(result.conflicts)
    metadata["conflicts_already_open"] = MetadataValue.int(result.conflicts_open)
    metadata["flagged_invalid"] = MetadataValue.int(result.flagged)
    metadata["replay"] = MetadataValue.bool(result.replay)
    metadata["matched_by"] = MetadataValue.json(result.matched_by)
    metadata["log_rows"] = MetadataValue.int(result.log_rows)
    metadata["table_counts"] = MetadataValue.json(counts)
    metadata["full_entities"] = MetadataValue.text("customers" if full else "none")
    parse_seconds = float(getattr(stats, "seconds", 0.0) or 0.0)
    metadata["parse_seconds"] = MetadataValue.float(round(parse_seconds, 3))
    metadata["load_seconds"] = MetadataValue.float(round(max(seconds - parse_seconds, 0.0), 3))
    metadata["seconds"] = MetadataValue.float(round(seconds, 3))
    metadata["rows_per_second"] = MetadataValue.float(round(count / max(seconds, 1e-9), 1))
    log.info(
        f"customers [{key}]: {count} records in {seconds:.2f}s ({result.inserted} inserted, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.stale} stale, "
        f"{result.conflicts} new conflicts, {result.flagged} with invalid values, {rejected} rejected"
        + (", replay" if result.replay else "")
        + ")"
        + (" [dry run: rolled back]" if config.dry_run else "")
    )
    _emit("done", "customers", records=count, seconds=seconds, has_data=True, **result.as_dict())
    return MaterializeResult(metadata=metadata)


@asset(
    name="customers",
    partitions_def=uploads_partitions,
    pool=POOL,
    group_name=CUSTOMERS_GROUP,
    kinds={"python", "sql"},
    description=(
        "Customers (Контрагенты) of one upload: identity resolution by 1C id, e-mail, phone + name; "
        "ambiguous matches become conflicts for review; every decision is logged."
    ),
)
def customers(
    context: AssetExecutionContext,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
) -> MaterializeResult:
    return run_customers_import(
        context.partition_key,
        config=config,
        catalog_db=catalog_db,
        upload_dirs=upload_dirs,
        log=context.log,
    )


class CustomersExportConfig(Config):
    """Where the export goes (default ``ONEC_OUTBOX_DIR`` / ``$ONEC_HOME/outbox``); dry run rolls back."""

    outbox_dir: str | None = None
    dry_run: bool = False


def run_customers_export(
    config: CustomersExportConfig, catalog_db: CatalogDatabase, log
) -> MaterializeResult:
    """Write pending site-created customers to the outbox (the body of ``customers_export``)."""
    from onec_pipeline.store.customers import export_to_outbox

    outbox = Path(config.outbox_dir) if config.outbox_dir else Settings.from_env().outbox_dir
    result, counts = export_to_outbox(catalog_db.get_store(), outbox, dry_run=config.dry_run)
    metadata = {
        "exported": MetadataValue.int(result.exported),
        "outbox": MetadataValue.path(str(outbox)),
        "file": MetadataValue.text(result.path.name if result.path else "none"),
        "customer_ids": MetadataValue.json(result.customer_ids[:100]),
        "table_counts": MetadataValue.json(counts),
        "dry_run": MetadataValue.bool(config.dry_run),
    }
    if result.path is not None and not config.dry_run:
        metadata["path"] = MetadataValue.path(str(result.path))
    log.info(
        f"customers_export: {result.exported} customer(s) written to {result.path}"
        if result.exported
        else "customers_export: nothing to export"
    )
    return MaterializeResult(metadata=metadata)


@asset(
    name="customers_export",
    pool=POOL,
    group_name=CUSTOMERS_GROUP,
    kinds={"python", "sql", "xml"},
    automation_condition=AutomationCondition.cron_tick_passed(EXPORT_CRON)
    & ~AutomationCondition.in_progress(),
    description=(
        "Site-created customers that need export, written to a CommerceML Контрагенты file in the outbox "
        "(ONEC_OUTBOX_DIR) for 1C; marked exported and logged."
    ),
)
def customers_export(
    context: AssetExecutionContext, config: CustomersExportConfig, catalog_db: CatalogDatabase
) -> MaterializeResult:
    return run_customers_export(config, catalog_db, context.log)


# ---------------------------------------------------------------------------------------------- checks


def conflicts_check_result(store, key: str | None) -> AssetCheckResult:
    from onec_pipeline.store.audit import open_customer_conflicts

    conflicts = open_customer_conflicts(store)
    mine = [c for c in conflicts if key is not None and c["upload_key"] == key]
    return AssetCheckResult(
        passed=not conflicts,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{len(conflicts)} open customer conflict(s) for review ({len(mine)} from this upload)"
            if conflicts
            else "no open customer conflicts"
        ),
        metadata={
            "open_conflicts": MetadataValue.int(len(conflicts)),
            "from_this_upload": MetadataValue.int(len(mine)),
            "sample": MetadataValue.json(conflicts[:SAMPLE]),
        },
    )


def duplicate_emails_check_result(store) -> AssetCheckResult:
    from onec_pipeline.store.audit import duplicate_active_emails

    dupes = duplicate_active_emails(store)
    return AssetCheckResult(
        passed=not dupes,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"{len(dupes)} e-mail(s) shared by several active customers"
            if dupes
            else "active e-mails are unique"
        ),
        metadata={
            "duplicate_emails": MetadataValue.int(len(dupes)),
            "sample": MetadataValue.json(dupes[:SAMPLE]),
        },
    )


# partitioned standalone checks are a preview feature in dagster 1.13 (see defs/checks.py)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)

    @asset_check(
        asset="customers",
        name="customers_open_conflicts",
        partitions_def=uploads_partitions,
        blocking=False,
        description="Contragents that could not be merged safely wait for manual review (WARN).",
    )
    def customers_open_conflicts(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase):
        key = context.partition_key if context.has_partition_key else None
        return conflicts_check_result(catalog_db.get_store(), key)

    @asset_check(
        asset="customers",
        name="customers_duplicate_emails",
        partitions_def=uploads_partitions,
        blocking=False,  # nothing downstream to protect; the result is an ERROR for the operators
        description="An e-mail must not belong to several active customers (ERROR).",
    )
    def customers_duplicate_emails(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase):
        return duplicate_emails_check_result(catalog_db.get_store())


customer_assets = [customers, customers_export]
customer_checks = [customers_open_conflicts, customers_duplicate_emails]
