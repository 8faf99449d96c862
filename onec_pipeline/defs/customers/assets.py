"""The customer assets.

* ``customers`` - partitioned by upload like the catalog assets, pool ``onec_catalog``, config
  ``ImportConfig``: reads the partition's archived ``Контрагенты`` files and resolves every contragent
  (:func:`onec_pipeline.store.customers.import_customers`) inside one ``store.transaction``; reject records
  (a Контрагент without Ид) go to the store's ``rejects`` through the same transaction.
* ``customers_export`` - not partitioned: writes site-created customers that need export to a CommerceML
  ``Контрагенты`` file in ``ONEC_OUTBOX_DIR`` (default ``$ONEC_HOME/outbox``), marks them and logs it, in one
  database transaction. Automation: a cron condition (every 15 minutes) for the automation sensor.
"""

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from onec_pipeline.commerceml import Customer, Entity, ReadStats, read_upload
from onec_pipeline.settings import Settings, ShopRules
from onec_pipeline.store import UploadRef
from onec_pipeline.store.customers import counts_in_transaction, export_to_outbox, import_in_transaction

from ..constants import COUNT_NAMES, CUSTOMERS_GROUP, POOL, format_count
from ..importing import (
    ImportConfig,
    Metadata,
    RecordCounter,
    RecordsOf,
    full_export_text,
    nothing_to_load,
    open_archived_upload,
    timing_metadata,
)
from ..partitions import uploads_partitions
from ..resources import CatalogDatabase, ImportProgress, UploadDirs

EXPORT_CRON = "*/15 * * * *"


class _Contragents(RecordsOf[Customer]):
    """The upload's Контрагент records for the resolution (rejects kept aside, as ``RecordsOf`` does);
    contragents whose Роль the shop does not import (``ONEC_CUSTOMER_ROLES``) are counted per role."""

    def __init__(self, records: Iterable[Any], rules: ShopRules) -> None:
        super().__init__(records, Customer)
        self.rules = rules
        self.skipped_roles: dict[str, int] = {}

    def __iter__(self) -> Iterator[Customer]:
        for record in super().__iter__():
            if self.rules.admits_role(record.role):
                yield record
            else:
                role = (record.role or "").strip() or "(no role)"
                self.skipped_roles[role] = self.skipped_roles.get(role, 0) + 1

    @property
    def skipped(self) -> int:
        return sum(self.skipped_roles.values())


def _sync_metadata(result: Any, counts: dict[str, int], rejected: int) -> Metadata:
    """What the resolution did (``result``: the store's ``CustomerSyncResult``)."""
    resolved = ("inserted", "updated", "unchanged", "stale", "deactivated")
    metadata: Metadata = {name: MetadataValue.int(getattr(result, name)) for name in resolved}
    metadata["has_data"] = MetadataValue.bool(True)
    metadata["rejected"] = MetadataValue.int(rejected)
    metadata["conflicts"] = MetadataValue.int(result.conflicts)
    metadata["conflicts_already_open"] = MetadataValue.int(result.conflicts_open)
    metadata["flagged_invalid"] = MetadataValue.int(result.flagged)
    metadata["replay"] = MetadataValue.bool(result.replay)
    metadata["matched_by"] = MetadataValue.json(result.matched_by)
    metadata["log_rows"] = MetadataValue.int(result.log_rows)
    metadata["table_counts"] = MetadataValue.json(counts)
    return metadata


def run_customers_import(
    key: str,
    *,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    log: logging.Logger,
    progress: ImportProgress,
) -> MaterializeResult:
    """Import the contragents of one archived upload (the body of the ``customers`` asset)."""
    upload, metadata = open_archived_upload(key, upload_dirs, [Entity.CUSTOMERS], dry_run=config.dry_run)
    if not upload.has(Entity.CUSTOMERS):
        counts = (*COUNT_NAMES, "conflicts")
        return nothing_to_load("customers", key, metadata, log=log, progress=progress, counts=counts)

    store = catalog_db.get_store()
    full = frozenset({Entity.CUSTOMERS} if upload.is_full(Entity.CUSTOMERS) else ())
    ref = UploadRef(key=key, exported_at=upload.exported_at, full=full)
    stats = ReadStats()
    counter = RecordCounter(log, "customers", key, progress, meter=upload.meter)
    rules = store.rules
    contragents = _Contragents(counter.wrap(read_upload(upload, {Entity.CUSTOMERS}, stats)), rules)
    progress.start("customers", key)
    started = time.perf_counter()
    with store.transaction(
        ref, dry_run=config.dry_run, allow_mass_deactivation=config.allow_mass_deactivation
    ) as tx:
        result = import_in_transaction(tx, contragents, full=bool(full))
        if contragents.rejects:
            tx.load(contragents.rejects)
        table_counts = counts_in_transaction(tx)
    seconds = time.perf_counter() - started
    rejected = len(contragents.rejects)
    metadata.update(_sync_metadata(result, table_counts, rejected))
    metadata["records"] = MetadataValue.int(counter.count)
    metadata["full_entities"] = full_export_text(full)
    metadata["skipped_by_role"] = MetadataValue.int(contragents.skipped)
    metadata["skipped_roles"] = MetadataValue.json(contragents.skipped_roles)
    metadata["shop_rules"] = MetadataValue.json(
        {k: v for k, v in rules.describe().items() if k.startswith("ONEC_CUSTOMER")}
    )
    metadata.update(timing_metadata(counter.count, seconds, stats.seconds))
    log.info(
        f"customers [{key}]: {format_count(counter.count)} records in {seconds:.2f}s "
        f"({format_count(result.inserted)} inserted, {format_count(result.updated)} updated, "
        f"{format_count(result.unchanged)} unchanged, {format_count(result.stale)} stale, "
        f"{format_count(result.conflicts)} new conflicts, {format_count(result.flagged)} with invalid values, "
        f"{format_count(rejected)} rejected, {format_count(contragents.skipped)} skipped by role"
        + (", replay" if result.replay else "")
        + ")"
        + (" [dry run: rolled back]" if config.dry_run else "")
    )
    progress.done("customers", records=counter.count, seconds=seconds, has_data=True, **result.as_dict())
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
    progress: ResourceParam[ImportProgress],
) -> MaterializeResult:
    return run_customers_import(
        context.partition_key,
        config=config,
        catalog_db=catalog_db,
        upload_dirs=upload_dirs,
        log=context.log,
        progress=progress,
    )


class CustomersExportConfig(Config):
    """Where the export goes (default ``ONEC_OUTBOX_DIR`` / ``$ONEC_HOME/outbox``); dry run rolls back."""

    outbox_dir: str | None = None
    dry_run: bool = False


def run_customers_export(
    config: CustomersExportConfig, catalog_db: CatalogDatabase, log: logging.Logger
) -> MaterializeResult:
    """Write pending site-created customers to the outbox (the body of ``customers_export``)."""
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


customer_assets = [customers, customers_export]
