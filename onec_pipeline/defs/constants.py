"""Names every definition module shares: the pool, run tags, asset groups and which record families each
import asset loads. Plain values (no Dagster objects), so any module of ``defs`` and of the layers above
may import them."""

from __future__ import annotations

from onec_pipeline.commerceml import Entity, Upload

POOL = "onec_catalog"  # every writer of the catalog database (see dagster.yaml for how it serialises runs)
IMPORT_TAG = "onec/import"  # on every import run; dagster.yaml limits it to one concurrent run
UPLOAD_TAG = "onec/upload"  # the upload key of an import run
SOURCE_TAG = "onec/source"  # where the upload came from (incoming path, or "cli")
IMPORT_TAGS = {IMPORT_TAG: "true"}
DRY_RUN_TAG = "onec/dry_run"  # on every dry run (job dry_run_upload): read, loaded, rolled back
INCOMING_TAG = "onec/incoming"  # the incoming upload a run is about (stuck uploads)

CATALOG_GROUP = "catalog"
CUSTOMERS_GROUP = "customers"
ORDERS_GROUP = "orders"
SUMMARY_ASSET = "catalog_summary"  # the catalog's state at a glance (not partitioned)

COUNT_NAMES = ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected")  # what a load did
PROGRESS_EVERY = 10_000  # an import asset logs (and reports) its progress every this many records

# which record families each import asset loads (the reader streams only these from the files that hold
# them), in dependency order
ASSET_ENTITIES: dict[str, frozenset[Entity]] = {
    "groups": frozenset({Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS}),
    "goods": frozenset({Entity.GOODS}),
    "offers": frozenset({Entity.OFFERS}),
    "prices": frozenset({Entity.PRICE_TYPES, Entity.PRICES}),
    "rests": frozenset({Entity.WAREHOUSES, Entity.RESTS, Entity.STOCK_TOTALS}),
    "customers": frozenset({Entity.CUSTOMERS}),
    "order_updates": frozenset({Entity.ORDERS}),
}
IMPORT_ASSETS = tuple(ASSET_ENTITIES)
CATALOG_ASSETS = ("groups", "goods", "offers", "prices", "rests")
# which assets --only / the jobs select
ONLY_CHOICES: dict[str, tuple[str, ...]] = {
    "catalog": CATALOG_ASSETS,
    "prices": ("prices",),
    "stocks": ("rests",),
    "customers": ("customers",),
    "orders": ("order_updates",),
}
# the entities whose presence in an upload means "the upload carries a catalog"
CATALOG_ENTITIES = frozenset({Entity.GOODS, Entity.OFFERS})


def upload_tags(key: str, source: str = "") -> dict[str, str]:
    """The tags of the import run of upload ``key`` (``source``: where it came from, the last 200 chars)."""
    tags = {IMPORT_TAG: "true", UPLOAD_TAG: key}
    if source:
        tags[SOURCE_TAG] = source[-200:]
    return tags


def assets_for_upload(upload: Upload) -> list[str]:
    """Names of the import assets whose data the upload holds (``Upload.has``), in dependency order."""
    return [name for name, entities in ASSET_ENTITIES.items() if any(upload.has(e) for e in entities)]


def format_count(n: int | float) -> str:
    """A count as every log line, check and table shows it: ``1,503``."""
    return f"{int(n):,}"
