"""The order assets.

* ``order_updates`` — partitioned by upload like the other import assets, pool ``onec_catalog``, config
  ``ImportConfig``: reads the partition's ``Документ`` files (2.03–3.1) and applies them
  (:func:`onec_pipeline.store.orders.apply_order_updates`: version-guarded, 1C-owned columns only, 1C's own
  orders inserted with their origin) in one ``store.transaction``; rejects go to the store's ``rejects``.
* ``orders_export`` — not partitioned: pending site orders as one CommerceML file in ``ONEC_OUTBOX_DIR`` for
  file-based exchange (version / encoding from ``ONEC_ORDERS_VERSION`` / ``ONEC_ORDERS_ENCODING`` or the run
  config). The HTTP exchange serves the same orders to ``type=sale&mode=query``; when an order counts as
  delivered is the rule in :mod:`onec_pipeline.store.orders.export`. Automation: every 15 minutes.
"""

import logging
import time
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from onec_pipeline.commerceml import Entity, Order, ReadStats, read_upload
from onec_pipeline.settings import OrderSettings, Settings
from onec_pipeline.store import UploadRef
from onec_pipeline.store.orders import (
    apply_order_updates,
    counts_of,
    export_to_outbox,
    order_counts,
    unknown_offer_lines,
)

from ..constants import COUNT_NAMES, ORDERS_GROUP, POOL, format_count
from ..importing import (
    ImportConfig,
    Metadata,
    RecordCounter,
    RecordsOf,
    nothing_to_load,
    open_archived_upload,
    skip_if_applied,
    timing_metadata,
)
from ..partitions import uploads_partitions
from ..resources import CatalogDatabase, ImportProgress, UploadDirs

EXPORT_CRON = "*/15 * * * *"
UPDATE_COUNTS = (*COUNT_NAMES, "confirmed", "linked_customers")


def run_order_updates(
    key: str,
    *,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    log: logging.Logger,
    progress: ImportProgress,
) -> MaterializeResult:
    """Apply the order documents of one archived upload (the body of the ``order_updates`` asset)."""
    upload, metadata = open_archived_upload(key, upload_dirs, [Entity.ORDERS], dry_run=config.dry_run)
    if not upload.has(Entity.ORDERS):
        return nothing_to_load(
            "order_updates", key, metadata, log=log, progress=progress, counts=UPDATE_COUNTS
        )
    store = catalog_db.get_store()
    if not config.force:
        skipped = skip_if_applied("order_updates", key, store, {Entity.ORDERS}, metadata, log, progress)
        if skipped is not None:
            return skipped
    ref = UploadRef(key=key, exported_at=upload.exported_at, full=frozenset())
    stats = ReadStats()
    counter = RecordCounter(log, "order_updates", key, progress, meter=upload.meter)
    documents = RecordsOf(counter.wrap(read_upload(upload, {Entity.ORDERS}, stats)), Order)
    progress.start("order_updates", key)
    started = time.perf_counter()
    with store.transaction(ref, dry_run=config.dry_run) as tx:
        tx.lock()
        result = apply_order_updates(
            tx.conn, documents, key, exported_at=tx.exported_at, schema=store.schema, now=tx.now
        )
        if documents.rejects:
            tx.load(documents.rejects)
        if not config.dry_run:
            tx.record_applied({str(Entity.ORDERS): counter.count})
        counts = order_counts(tx.conn, store.schema)
        unknown, _sample = unknown_offer_lines(tx.conn, store.schema, limit=0)
    seconds = time.perf_counter() - started
    rejected = len(documents.rejects)
    for name, value in result.as_dict().items():
        if name != "matched_by":
            metadata[name] = MetadataValue.int(value)
    metadata.update(
        {
            "has_data": MetadataValue.bool(True),
            "rejected": MetadataValue.int(rejected),
            "deactivated": MetadataValue.int(0),
            "matched_by": MetadataValue.json(result.matched_by),
            "unknown_offer_lines": MetadataValue.int(unknown),
            "table_counts": MetadataValue.json(counts),
            "records": MetadataValue.int(counter.count),
        }
    )
    metadata.update(timing_metadata(counter.count, seconds, stats.seconds))
    log.info(
        f"order_updates [{key}]: {format_count(counter.count)} documents in {seconds:.2f}s "
        f"({format_count(result.updated)} updated, {format_count(result.unchanged)} unchanged, "
        f"{format_count(result.stale)} stale, {format_count(result.inserted)} created by 1C, "
        f"{format_count(result.confirmed)} confirmed, {format_count(rejected)} rejected)"
        + (" [dry run: rolled back]" if config.dry_run else "")
    )
    progress.done("order_updates", records=counter.count, seconds=seconds, has_data=True)
    return MaterializeResult(metadata=metadata)


@asset(
    name="order_updates",
    partitions_def=uploads_partitions,
    pool=POOL,
    group_name=ORDERS_GROUP,
    kinds={"python", "sql"},
    description=(
        "1C's order updates (Документ) of one upload: 1C's number and date, posted, paid, shipped, cancelled, "
        "status; version-guarded, 1C-owned columns only; orders 1C created are stored with their origin."
    ),
)
def order_updates(
    context: AssetExecutionContext,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    progress: ResourceParam[ImportProgress],
) -> MaterializeResult:
    return run_order_updates(
        context.partition_key,
        config=config,
        catalog_db=catalog_db,
        upload_dirs=upload_dirs,
        log=context.log,
        progress=progress,
    )


class OrdersExportConfig(Config):
    """Where and how (default ``ONEC_OUTBOX_DIR``, ``ONEC_ORDERS_VERSION``, ``ONEC_ORDERS_ENCODING``); a dry
    run rolls back and removes the file."""

    outbox_dir: str | None = None
    version: str | None = None
    encoding: str | None = None
    dry_run: bool = False


def run_orders_export(
    config: OrdersExportConfig, catalog_db: CatalogDatabase, log: logging.Logger
) -> MaterializeResult:
    """Write pending site orders to the outbox (the body of ``orders_export``)."""
    outbox = Path(config.outbox_dir) if config.outbox_dir else Settings.from_env().outbox_dir
    defaults = OrderSettings.from_env()
    version, encoding = config.version or defaults.version, config.encoding or defaults.encoding
    store = catalog_db.get_store()
    batch = export_to_outbox(store, outbox, version=version, encoding=encoding, dry_run=config.dry_run)
    counts = counts_of(store)
    metadata: Metadata = {
        "exported": MetadataValue.int(len(batch.order_ids)),
        "batch": MetadataValue.text(batch.id or "none"),
        "outbox": MetadataValue.path(str(outbox)),
        "file": MetadataValue.text(batch.path.name if batch.path else "none"),
        "version": MetadataValue.text(version),
        "encoding": MetadataValue.text(encoding),
        "order_ids": MetadataValue.json(batch.order_ids[:100]),
        "confirmed": MetadataValue.int(counts["confirmed"]),
        "sent_unconfirmed": MetadataValue.int(counts["sent_unconfirmed"]),
        "pending_export": MetadataValue.int(counts["pending_export"]),
        "table_counts": MetadataValue.json(counts),
        "dry_run": MetadataValue.bool(config.dry_run),
    }
    log.info(
        f"orders_export: {len(batch.order_ids)} order(s) written to {batch.path}"
        if batch.order_ids
        else "orders_export: nothing to export"
    )
    return MaterializeResult(metadata=metadata)


@asset(
    name="orders_export",
    pool=POOL,
    group_name=ORDERS_GROUP,
    kinds={"python", "sql", "xml"},
    automation_condition=AutomationCondition.cron_tick_passed(EXPORT_CRON)
    & ~AutomationCondition.in_progress(),
    description=(
        "Pending site orders as CommerceML Документы (Заказ товара) in the outbox (ONEC_OUTBOX_DIR) for 1C; "
        "the HTTP exchange serves them to type=sale&mode=query. Delivered once 1C confirms."
    ),
)
def orders_export(
    context: AssetExecutionContext, config: OrdersExportConfig, catalog_db: CatalogDatabase
) -> MaterializeResult:
    return run_orders_export(config, catalog_db, context.log)


order_assets = [order_updates, orders_export]
