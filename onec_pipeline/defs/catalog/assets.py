"""Catalog assets: one per record family, partitioned by upload.

``groups → goods → offers → prices, rests``; each materialisation reads its partition's archived files
with the reader and writes them with one ``store.transaction`` (all or nothing), then evaluates its
per-upload checks (``checks.py``). Every writer uses the pool ``onec_catalog`` (see dagster.yaml for how
that pool serialises runs).
"""

import logging
import time
from collections.abc import Mapping

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from onec_pipeline.commerceml import Entity, ReadStats, Upload, read_upload
from onec_pipeline.media import PicturePublisher
from onec_pipeline.store import CatalogStore, LoadResult, UploadRef
from onec_pipeline.store.audit import catalog_is_empty
from onec_pipeline.store.changes import ChangeCapture, ChangeReport
from onec_pipeline.store.shop_rules import RulesReport

from ..constants import ASSET_ENTITIES, CATALOG_ENTITIES, CATALOG_GROUP, COUNT_NAMES, POOL, format_count
from ..importing import (
    ImportConfig,
    RecordCounter,
    changes_metadata,
    full_export_text,
    nothing_to_load,
    open_archived_upload,
    reader_text,
    skip_if_applied,
    timing_metadata,
)
from ..partitions import uploads_partitions
from ..resources import CatalogDatabase, ImportProgress, UploadDirs
from .checks import evaluate_upload_checks, upload_check_specs
from .pictures import log_pictures, picture_publisher, pictures_metadata

RESULT_FIELDS = (*COUNT_NAMES, "duplicates", "rows")


def _result_counts(results: Mapping[Entity, LoadResult]) -> dict[str, int]:
    totals = dict.fromkeys(RESULT_FIELDS, 0)
    for res in results.values():
        for name in totals:
            totals[name] += int(getattr(res, name, 0) or 0)
    return totals


def _per_entity_markdown(results: Mapping[Entity, LoadResult]) -> str:
    rows = ["| entity | " + " | ".join(RESULT_FIELDS) + " |", "|---" * (len(RESULT_FIELDS) + 1) + "|"]
    for entity, res in sorted(results.items(), key=lambda kv: str(kv[0])):
        rows.append(
            f"| {entity} | " + " | ".join(format_count(getattr(res, c, 0) or 0) for c in RESULT_FIELDS) + " |"
        )
    return "\n".join(rows)


#: the rows of an asset that need a catalog to attach to (its reference data — price types, warehouses —
#: does not: 1C sends a split package's classifier first, often as an upload of its own)
ROWS_NEEDING_A_CATALOG: dict[str, frozenset[Entity]] = {
    "prices": frozenset({Entity.PRICES}),
    "rests": frozenset({Entity.RESTS, Entity.STOCK_TOTALS}),
}


def _refuse_into_empty_catalog(asset_name: str, key: str, upload: Upload, store: CatalogStore) -> None:
    """Price or stock rows with no catalog to attach them to (none stored, none in the upload) fail the
    asset; an upload of reference data alone (a classifier-only first part) loads."""
    carried = sorted(e.value for e in ROWS_NEEDING_A_CATALOG.get(asset_name, ()) if upload.has(e))
    if not carried or any(upload.has(e) for e in CATALOG_ENTITIES):
        return
    if catalog_is_empty(store):
        raise Failure(
            f"upload {key}: {asset_name} into an empty catalog: load the catalog first "
            f"(upload {key} carries {', '.join(carried)} rows, but no goods or offers are stored and the "
            f"upload carries none)"
        )


def _load(
    store: CatalogStore,
    ref: UploadRef,
    upload: Upload,
    present: set[Entity],
    config: ImportConfig,
    counter: RecordCounter,
    log: logging.Logger,
    pictures: PicturePublisher | None = None,
) -> tuple[dict[Entity, LoadResult], ReadStats, ChangeReport, RulesReport, float]:
    """One transaction: stream the records in and record the upload applied; (results, what the reader did,
    what the upload changed, what the shop's rules did, seconds waited for the staging turn). Waits (for
    another import's load lock, for a lock another session holds) are reported to ``log``. ``pictures`` publishes the pictures of goods and offers
    on their way in: each file is stored before its row is written, so a committed row names complete files
    only."""
    stats = ReadStats()
    with store.transaction(
        ref, dry_run=config.dry_run, allow_mass_deactivation=config.allow_mass_deactivation, log=log
    ) as tx:
        capture = ChangeCapture.attach(tx)
        records = read_upload(upload, present, stats)
        if pictures is not None:
            records = pictures.wrap(records)
        loaded = tx.load(counter.wrap(records), entities=present)
        if pictures is not None:
            pictures.finish()  # the files the rows name are on disk before the rows commit
        if not config.dry_run:
            tx.record_applied({str(e): (loaded[e].rows if e in loaded else 0) for e in present})
        tx.finish()  # full-export deactivation now, so that the report can list what it deactivated
        changes = capture.finish()
    return tx.results, stats, changes, tx.shop_rules.report, tx.turn_seconds


def run_asset_import(
    asset_name: str,
    key: str,
    *,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    log: logging.Logger,
    progress: ImportProgress,
) -> MaterializeResult:
    """Load one asset's record families of one archived upload; the body of every catalog asset."""
    wanted = ASSET_ENTITIES[asset_name]
    upload, metadata = open_archived_upload(key, upload_dirs, wanted, dry_run=config.dry_run)
    present = {e for e in wanted if upload.has(e)}
    if not present:
        return nothing_to_load(asset_name, key, metadata, log=log, progress=progress)
    store = catalog_db.get_store()
    _refuse_into_empty_catalog(asset_name, key, upload, store)
    if not config.force:
        skipped = skip_if_applied(asset_name, key, store, present, metadata, log, progress)
        if skipped is not None:
            return skipped

    full = frozenset(e for e in present if upload.is_full(e))
    ref = UploadRef(key=key, exported_at=upload.exported_at, full=full)
    counter = RecordCounter(log, asset_name, key, progress, meter=upload.meter)
    pictures = picture_publisher(present, upload, upload_dirs, store, dry_run=config.dry_run)
    progress.start(asset_name, key)
    started = time.perf_counter()
    results, read, changes, rules, waited = _load(store, ref, upload, present, config, counter, log, pictures)
    seconds = time.perf_counter() - started
    counts = _result_counts(results)
    metadata["has_data"] = MetadataValue.bool(True)
    for name in (*COUNT_NAMES, "duplicates"):
        metadata[name] = MetadataValue.int(counts[name])
    metadata["records"] = MetadataValue.int(counter.count)
    metadata["per_entity"] = MetadataValue.md(_per_entity_markdown(results))
    metadata["full_entities"] = full_export_text(full)
    metadata.update(timing_metadata(counter.count, seconds, read.seconds, waited))
    metadata["reader"] = MetadataValue.text(reader_text(read))
    for fallback in read.fallbacks:
        log.info(f"{asset_name} [{key}]: the reference reader read {fallback}")
    metadata.update(changes_metadata(asset_name, changes))
    metadata["shop_rules"] = MetadataValue.json(rules.as_metadata())
    if rules.roots is not None:  # root admission was re-evaluated (groups, goods or offers were written)
        metadata["goods_not_admitted"] = MetadataValue.int(rules.goods_not_admitted)
    if rules.roots is not None and rules.roots.not_found:
        log.warning(
            f"{asset_name} [{key}]: ONEC_CATALOG_ROOTS names no stored group for "
            f"{'; '.join(rules.roots.not_found)}: goods there are not admitted"
        )
    if pictures is not None:
        metadata.update(pictures_metadata(pictures.report, dry_run=config.dry_run))
        log_pictures(log, f"{asset_name} [{key}]", pictures.report)
    done = ", ".join(f"{format_count(counts[name])} {name}" for name in COUNT_NAMES)
    log.info(
        f"{asset_name} [{key}]: {format_count(counter.count)} records in {seconds:.2f}s ({done})"
        + (" [dry run: rolled back]" if config.dry_run else "")
    )
    progress.done(asset_name, records=counter.count, seconds=seconds, has_data=True, **counts)
    return MaterializeResult(metadata=metadata)


def _catalog_asset(name: str, deps: list[str], description: str) -> AssetsDefinition:
    @asset(
        name=name,
        deps=deps,
        partitions_def=uploads_partitions,
        pool=POOL,
        group_name=CATALOG_GROUP,
        kinds={"python", "sql"},
        description=description,
        check_specs=upload_check_specs(name),
    )
    def _asset(
        context: AssetExecutionContext,
        config: ImportConfig,
        catalog_db: CatalogDatabase,
        upload_dirs: UploadDirs,
        progress: ResourceParam[ImportProgress],
    ) -> MaterializeResult:
        key = context.partition_key
        result = run_asset_import(
            name,
            key,
            config=config,
            catalog_db=catalog_db,
            upload_dirs=upload_dirs,
            log=context.log,
            progress=progress,
        )
        # per-upload checks right after the transaction (see checks.py for which ones block)
        checks = evaluate_upload_checks(name, catalog_db.get_store(), key)
        return MaterializeResult(metadata=result.metadata, check_results=checks)

    return _asset


groups = _catalog_asset("groups", [], "Classifier: groups (Группы), properties (Свойства), units.")
goods = _catalog_asset("goods", ["groups"], "Products (Каталог/Товары).")
offers = _catalog_asset("offers", ["goods"], "Offers (ПакетПредложений/Предложения): products and variants.")
prices = _catalog_asset("prices", ["offers"], "Price types and prices per offer.")
rests = _catalog_asset("rests", ["offers"], "Warehouses, stock per warehouse and stock totals.")

catalog_assets = [groups, goods, offers, prices, rests]
