"""Catalog assets: one per record family, partitioned by upload.

``groups → goods → offers → prices, rests``; each materialisation reads its partition's archived files
with the reader and writes them with one ``store.transaction`` (all or nothing). Every writer uses the
pool ``onec_catalog`` (see dagster.yaml for how that pool serialises runs).
"""

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.defs.checks import evaluate_upload_checks, upload_check_specs
from onec_pipeline.defs.partitions import uploads_partitions
from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs

POOL = "onec_catalog"
IMPORT_TAG = "onec/import"
PROGRESS_EVERY = 10_000
CATALOG_GROUP = "catalog"

# which record families each asset loads (the reader streams only these from the files that hold them)
ASSET_ENTITIES: dict[str, frozenset[Entity]] = {
    "groups": frozenset({Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS}),
    "goods": frozenset({Entity.GOODS}),
    "offers": frozenset({Entity.OFFERS}),
    "prices": frozenset({Entity.PRICE_TYPES, Entity.PRICES}),
    "rests": frozenset({Entity.WAREHOUSES, Entity.RESTS, Entity.STOCK_TOTALS}),
    "customers": frozenset({Entity.CUSTOMERS}),
}
CATALOG_ASSETS = ("groups", "goods", "offers", "prices", "rests")
# which assets --only / the jobs select
ONLY_CHOICES: dict[str, tuple[str, ...]] = {
    "catalog": CATALOG_ASSETS,
    "prices": ("prices",),
    "stocks": ("rests",),
    "customers": ("customers",),
}
# the entities whose presence in an upload means "the upload carries a catalog"
CATALOG_ENTITIES = frozenset({Entity.GOODS, Entity.OFFERS})

# set by ``runner.run_import`` (in-process runs only): called with (event, asset, details)
PROGRESS_HOOK = None


def _emit(event: str, asset_name: str, **details) -> None:
    hook = PROGRESS_HOOK
    if hook is not None:
        try:
            hook(event, asset_name, details)
        except Exception:  # noqa: BLE001 - a display problem never fails an import
            pass


class ImportConfig(Config):
    """Run config of every import asset. Defaults are the safe choice (a UI backfill cannot set them)."""

    dry_run: bool = False  # read and load inside a transaction, then roll back
    allow_mass_deactivation: bool = False  # let a full export deactivate more than the store's threshold
    # re-read an upload this catalog already applied (a replay is a no-op by the version guard, so by default
    # the catalog assets skip the parse; force after restoring catalog tables from a backup, for instance)
    force: bool = False


def assets_for_upload(upload) -> list[str]:
    """Names of the assets whose data the upload holds (``Upload.has``), in dependency order."""
    return [name for name, entities in ASSET_ENTITIES.items() if any(upload.has(e) for e in entities)]


# ---------------------------------------------------------------------------------------------- metadata


def _files_markdown(upload, manifest) -> str:
    sha = {f.name: f.sha256 for f in manifest.files} if manifest else {}
    rows = ["| file | kind | size | sha256 | schema | encoding | exported | only changes |", "|---" * 8 + "|"]
    headers = list(getattr(upload, "files", [])) + list(getattr(upload, "documents", []))
    headers += list(getattr(upload, "unknown", []))
    for h in headers:
        digest = sha.get(h.path) or ""
        rows.append(
            f"| {h.path} | {getattr(h.kind, 'value', h.kind)} | {h.size} | `{digest[:16]}` | "
            f"{h.schema_version or ''} | {h.encoding or ''} | {h.exported_at or ''} | {h.only_changes} |"
        )
    return "\n".join(rows)


def upload_metadata(key: str, upload, manifest, entities: Iterable[Entity]) -> dict[str, Any]:
    entities = [e for e in entities if upload.has(e)]
    full = bool(entities) and all(upload.is_full(e) for e in entities)
    return {
        "upload_key": MetadataValue.text(key),
        "files": MetadataValue.md(_files_markdown(upload, manifest)),
        "file_count": MetadataValue.int(len(upload.files)),
        "exported_at": MetadataValue.text(str(upload.exported_at) if upload.exported_at else "unknown"),
        "export": MetadataValue.text("full" if full else "partial"),
        "source": MetadataValue.text(manifest.source if manifest else ""),
    }


class ProgressLog:
    """Counts records streaming through and logs every ``every`` records with the rate."""

    def __init__(self, log, label: str, asset_name: str, every: int = PROGRESS_EVERY):
        self.log = log
        self.label = label
        self.asset_name = asset_name
        self.every = every
        self.count = 0
        self.started = time.perf_counter()

    def wrap(self, records: Iterable) -> Iterator:
        for record in records:
            self.count += 1
            if self.count % self.every == 0:
                elapsed = max(time.perf_counter() - self.started, 1e-9)
                self.log.info(f"{self.label}: {self.count:,} records, {self.count / elapsed:,.0f} records/s")
                _emit(
                    "progress",
                    self.asset_name,
                    records=self.count,
                    seconds=elapsed,
                    rate=self.count / elapsed,
                )
            yield record


def _result_counts(results: dict) -> dict[str, int]:
    totals = dict.fromkeys(
        ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected", "duplicates", "rows"), 0
    )
    for res in results.values():
        for name in totals:
            totals[name] += int(getattr(res, name, 0) or 0)
    return totals


def _per_entity_markdown(results: dict) -> str:
    cols = ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected", "duplicates", "rows")
    rows = ["| entity | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for entity, res in sorted(results.items(), key=lambda kv: str(kv[0])):
        rows.append(f"| {entity} | " + " | ".join(str(getattr(res, c, 0)) for c in cols) + " |")
    return "\n".join(rows)


# ----------------------------------------------------------------------------------------- the import


def _skip_if_applied(asset_name, key, store, present, metadata, log) -> MaterializeResult | None:
    """A committed load of the same upload (same key = same content) already applied every entity of this
    asset: replaying it would change nothing (version guard), so report that instead of re-reading."""
    done = store.applied_entities(key)
    if not present or not all(str(e) in done for e in present):
        return None
    when = max(done[str(e)] for e in present)
    metadata["has_data"] = MetadataValue.bool(True)
    metadata["already_applied"] = MetadataValue.bool(True)
    for name in ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected"):
        metadata[name] = MetadataValue.int(0)
    metadata["note"] = MetadataValue.text(
        f"upload {key} was already applied to this catalog ({when:%Y-%m-%d %H:%M:%S} UTC); a replay changes "
        f"nothing (version guard), so its files were not read again. Run with config force: true to re-read."
    )
    log.info(f"{asset_name} [{key}]: already applied at {when:%Y-%m-%d %H:%M:%S} UTC: nothing to do")
    _emit("done", asset_name, records=0, seconds=0.0, has_data=True, already_applied=True)
    return MaterializeResult(metadata=metadata)


def open_archived_upload(key: str, upload_dirs: UploadDirs, entities, *, dry_run: bool):
    """The archived upload of partition ``key`` and the metadata every import asset starts from."""
    from onec_pipeline.commerceml import discover_upload
    from onec_pipeline.intake import read_manifest

    root: Path = upload_dirs.upload_dir(key)
    if not root.is_dir():
        raise Failure(f"upload {key}: archived files not found at {root}")
    upload = discover_upload(root)
    metadata = upload_metadata(key, upload, read_manifest(root), entities)
    metadata["dry_run"] = MetadataValue.bool(dry_run)
    return upload, metadata


def run_asset_import(
    asset_name: str,
    key: str,
    *,
    config: ImportConfig,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    log,
) -> MaterializeResult:
    """Load one asset's record families of one archived upload; shared by every asset body."""
    from onec_pipeline.commerceml import ReadStats, read_upload
    from onec_pipeline.store import UploadRef
    from onec_pipeline.store.audit import catalog_is_empty

    wanted = ASSET_ENTITIES[asset_name]
    upload, metadata = open_archived_upload(key, upload_dirs, wanted, dry_run=config.dry_run)
    present = {e for e in wanted if upload.has(e)}
    if not present:
        metadata["has_data"] = MetadataValue.bool(False)
        metadata["note"] = MetadataValue.text(f"upload {key} holds no {asset_name} data: nothing loaded")
        for name in ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected"):
            metadata[name] = MetadataValue.int(0)
        log.info(f"{asset_name}: upload {key} holds no {asset_name} data")
        _emit("done", asset_name, records=0, seconds=0.0, has_data=False)
        return MaterializeResult(metadata=metadata)

    store = catalog_db.get_store()
    if asset_name in ("prices", "rests") and not any(upload.has(e) for e in CATALOG_ENTITIES):
        if catalog_is_empty(store):
            raise Failure(
                f"upload {key}: {asset_name} into an empty catalog: load the catalog first "
                f"(no goods or offers are stored and upload {key} carries none)"
            )

    if not config.force:
        skipped = _skip_if_applied(asset_name, key, store, present, metadata, log)
        if skipped is not None:
            return skipped

    ref = UploadRef(
        key=key,
        exported_at=upload.exported_at,
        full={e for e in present if upload.is_full(e)},
    )
    stats = ReadStats()
    progress = ProgressLog(log, f"{asset_name} [{key}]", asset_name)
    _emit("start", asset_name, key=key)
    started = time.perf_counter()
    with store.transaction(
        ref, dry_run=config.dry_run, allow_mass_deactivation=config.allow_mass_deactivation
    ) as tx:
        loaded = tx.load(progress.wrap(read_upload(upload, set(present), stats)))
        if not config.dry_run:
            tx.record_applied({str(e): (loaded[e].rows if e in loaded else 0) for e in present})
    results = tx.results  # final counts: deactivations are filled in when the block ends
    total_seconds = time.perf_counter() - started
    parse_seconds = float(getattr(stats, "seconds", 0.0) or 0.0)
    load_seconds = max(total_seconds - parse_seconds, 0.0)
    counts = _result_counts(results)
    metadata["has_data"] = MetadataValue.bool(True)
    for name in ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected"):
        metadata[name] = MetadataValue.int(counts[name])
    metadata["duplicates"] = MetadataValue.int(counts["duplicates"])
    metadata["records"] = MetadataValue.int(progress.count)
    metadata["per_entity"] = MetadataValue.md(_per_entity_markdown(results))
    metadata["full_entities"] = MetadataValue.text(", ".join(sorted(str(e) for e in ref.full)) or "none")
    metadata["parse_seconds"] = MetadataValue.float(round(parse_seconds, 3))
    metadata["load_seconds"] = MetadataValue.float(round(load_seconds, 3))
    metadata["seconds"] = MetadataValue.float(round(total_seconds, 3))
    metadata["rows_per_second"] = MetadataValue.float(round(progress.count / max(total_seconds, 1e-9), 1))
    log.info(
        f"{asset_name} [{key}]: {progress.count:,} records in {total_seconds:.2f}s "
        f"({counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['stale']} stale, {counts['deactivated']} deactivated, {counts['rejected']} rejected)"
        + (" [dry run: rolled back]" if config.dry_run else "")
    )
    _emit("done", asset_name, records=progress.count, seconds=total_seconds, has_data=True, **counts)
    return MaterializeResult(metadata=metadata)


def _make_asset(name: str, deps: list[str], description: str):
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
    ) -> MaterializeResult:
        key = context.partition_key
        result = run_asset_import(
            name, key, config=config, catalog_db=catalog_db, upload_dirs=upload_dirs, log=context.log
        )
        # per-upload checks right after the transaction (see checks.py for which ones block)
        checks = evaluate_upload_checks(name, catalog_db.get_store(), key)
        return MaterializeResult(metadata=result.metadata, check_results=checks)

    return _asset


groups = _make_asset("groups", [], "Classifier: groups (Группы), properties (Свойства), units.")
goods = _make_asset("goods", ["groups"], "Products (Каталог/Товары).")
offers = _make_asset("offers", ["goods"], "Offers (ПакетПредложений/Предложения): products and variants.")
prices = _make_asset("prices", ["offers"], "Price types and prices per offer.")
rests = _make_asset("rests", ["offers"], "Warehouses, stock per warehouse and stock totals.")

catalog_assets = [groups, goods, offers, prices, rests]
