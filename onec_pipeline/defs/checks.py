"""Asset checks: per upload (partitioned, run with every import) and catalog-wide (the nightly audit).

Blocking policy (a failing *blocking* check with severity ERROR stops the downstream assets of the run;
the asset's own transaction is already committed):

* referential integrity (goods→groups, offers→goods, prices→offers/price types, rests→offers/warehouses):
  WARN, not blocking. 1C sends orphans both ways (FORMAT.md pitfall 6: a package's offers may arrive before
  the goods, a group may be referenced but never sent); the store keeps them and the version guard makes
  the catalog right once the missing part arrives. Blocking would drop prices that become valid later.
* rejects in this upload: WARN, and for goods/offers blocking with ERROR when more than half of the
  upload's records of that asset were rejected — then the file is garbage (wrong dialect, broken export) and
  loading prices/stock on top of it would load garbage.
* negative prices: ERROR and blocking (a negative price is never valid; prices is a leaf, so blocking
  fails the run loudly rather than stopping other assets).
* negative stock: WARN, not blocking (1C allows negative stock).
* share of rows deactivated by this upload: WARN above 20 %, not blocking: the store already refuses a
  full export deactivating more than its threshold unless ``allow_mass_deactivation`` is set, so a big
  share here was either allowed on purpose or is below the threshold.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    PreviewWarning,
    asset_check,
)

from onec_pipeline.defs.assets import ASSET_ENTITIES
from onec_pipeline.defs.partitions import uploads_partitions
from onec_pipeline.defs.resources import CatalogDatabase

REJECT_BLOCK_SHARE = 0.5
DEACTIVATION_WARN_SHARE = 0.2
SAMPLE = 10


@dataclass(frozen=True)
class Reference:
    """``child.column`` must name an existing ``parent.id``."""

    child: str
    column: str
    parent: str


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "goods": (Reference("goods", "group_id", "groups"),),
    "offers": (Reference("offers", "product_id", "goods"),),
    "prices": (
        Reference("prices", "offer_id", "offers"),
        Reference("prices", "price_type_id", "price_types"),
    ),
    "rests": (Reference("rests", "offer_id", "offers"), Reference("rests", "warehouse_id", "warehouses")),
}


def _tables(store) -> dict[str, sa.Table]:
    return store.tables


def _active_filter(table: sa.Table):
    return table.c.is_active.is_(True) if "is_active" in table.c else sa.true()


def orphans(store, ref: Reference, key: str | None) -> tuple[int, list[str]]:
    """Rows of ``ref.child`` (written by upload ``key``, or all when None) whose reference is missing."""
    t = _tables(store)
    child, parent = t[ref.child], t[ref.parent]
    col = child.c[ref.column]
    cond = sa.and_(
        col.is_not(None),
        _active_filter(child),
        ~sa.exists().where(parent.c.id == col),
    )
    if key is not None:
        cond = sa.and_(cond, child.c.data_key == key)
    with store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(child).where(cond)).scalar_one()
        sample = conn.execute(sa.select(col).where(cond).distinct().limit(SAMPLE)).scalars().all()
    return int(count), [str(s) for s in sample]


def reject_count(store, key: str, entities) -> int:
    t = _tables(store)["rejects"]
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(t)
                .where(t.c.upload == key, t.c.entity.in_([str(e) for e in entities]))
            ).scalar_one()
        )


def written_count(store, table: str, key: str) -> int:
    t = _tables(store)[table]
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.data_key == key)).scalar_one()
        )


def negative_count(store, table: str, column: str, key: str | None) -> tuple[int, list[str]]:
    t = _tables(store)[table]
    cond = t.c[column] < 0
    if key is not None:
        cond = sa.and_(cond, t.c.data_key == key)
    with store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(t).where(cond)).scalar_one()
        sample = conn.execute(sa.select(t.c.offer_id).where(cond).limit(SAMPLE)).scalars().all()
    return int(count), [str(s) for s in sample]


def deactivated_share(store, table: str, key: str) -> tuple[int, int]:
    """(rows deactivated by upload ``key`` as a full export, rows in the table)."""
    t = _tables(store)[table]
    with store.engine.connect() as conn:
        deactivated = conn.execute(
            sa.select(sa.func.count())
            .select_from(t)
            .where(t.c.upload_key == key, t.c.data_key != key, t.c.is_active.is_(False))
        ).scalar_one()
        total = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    return int(deactivated), int(total)


# ------------------------------------------------------------------------------------------ factories


def _integrity_result(store, asset_name: str, key: str | None) -> AssetCheckResult:
    found = {}
    samples = {}
    for ref in REFERENCES[asset_name]:
        n, sample = orphans(store, ref, key)
        found[f"{ref.child}.{ref.column}→{ref.parent}"] = n
        samples[f"{ref.child}.{ref.column}"] = sample
    total = sum(found.values())
    return AssetCheckResult(
        passed=total == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "scope": MetadataValue.text(f"upload {key}" if key else "whole catalog"),
            "missing_references": MetadataValue.int(total),
            **{name: MetadataValue.int(n) for name, n in found.items()},
            "sample": MetadataValue.json(samples),
        },
    )


def _upload_integrity_check(asset_name: str):
    @asset_check(
        asset=asset_name,
        name=f"{asset_name}_references",
        partitions_def=uploads_partitions,
        blocking=False,  # orphans are normal in 1C packages (see module docstring)
        description=f"Rows of {asset_name} written by this upload reference existing rows.",
    )
    def _check(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase) -> AssetCheckResult:
        return _integrity_result(catalog_db.get_store(), asset_name, context.partition_key)

    return _check


def _audit_integrity_check(asset_name: str):
    @asset_check(
        asset=asset_name,
        name=f"{asset_name}_references_audit",
        blocking=False,
        description=f"Catalog-wide: every active row of {asset_name} references existing rows.",
    )
    def _check(catalog_db: CatalogDatabase) -> AssetCheckResult:
        return _integrity_result(catalog_db.get_store(), asset_name, None)

    return _check


# assets whose reject share can block downstream assets, and the table counting their written rows
_BLOCKING_REJECTS = {"goods": "goods", "offers": "offers"}


def _rejects_check(asset_name: str):
    blocking = asset_name in _BLOCKING_REJECTS

    @asset_check(
        asset=asset_name,
        name=f"{asset_name}_rejects",
        partitions_def=uploads_partitions,
        # goods/offers: a mostly-rejected file is garbage; stop prices/stock from loading on top of it
        blocking=blocking,
        description=f"Records of {asset_name} rejected in this upload (warn; error above "
        f"{REJECT_BLOCK_SHARE:.0%} for goods/offers).",
    )
    def _check(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase) -> AssetCheckResult:
        store = catalog_db.get_store()
        key = context.partition_key
        rejected = reject_count(store, key, ASSET_ENTITIES[asset_name])
        written = written_count(store, _BLOCKING_REJECTS[asset_name], key) if blocking else 0
        share = rejected / (rejected + written) if rejected + written else 0.0
        severity = (
            AssetCheckSeverity.ERROR
            if blocking and rejected and share > REJECT_BLOCK_SHARE
            else AssetCheckSeverity.WARN
        )
        return AssetCheckResult(
            passed=rejected == 0,
            severity=severity,
            metadata={
                "upload_key": MetadataValue.text(key),
                "rejected": MetadataValue.int(rejected),
                "reject_share": MetadataValue.float(round(share, 4)),
            },
        )

    return _check


def _negative_check(asset_name: str, table: str, *, partitioned: bool):
    is_price = table == "prices"
    column = "price" if is_price else "quantity"

    @asset_check(
        asset=asset_name,
        name=f"{asset_name}_not_negative" + ("" if partitioned else "_audit"),
        partitions_def=uploads_partitions if partitioned else None,
        # negative prices are never valid (ERROR, blocking); 1C allows negative stock (WARN, not blocking)
        blocking=is_price and partitioned,
        description=("No negative prices" if is_price else "Negative stock (1C allows it: warning only)")
        + (" in this upload." if partitioned else " in the catalog."),
    )
    def _check(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase) -> AssetCheckResult:
        key = context.partition_key if partitioned else None
        n, sample = negative_count(catalog_db.get_store(), table, column, key)
        return AssetCheckResult(
            passed=n == 0,
            severity=AssetCheckSeverity.ERROR if is_price else AssetCheckSeverity.WARN,
            metadata={"negative_rows": MetadataValue.int(n), "sample_offer_ids": MetadataValue.json(sample)},
        )

    return _check


def _deactivation_check(asset_name: str):
    @asset_check(
        asset=asset_name,
        name=f"{asset_name}_deactivated_share",
        partitions_def=uploads_partitions,
        blocking=False,  # the store's mass-deactivation guard already decides (see module docstring)
        description=f"Share of {asset_name} rows this upload deactivated as a full export.",
    )
    def _check(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase) -> AssetCheckResult:
        deactivated, total = deactivated_share(catalog_db.get_store(), asset_name, context.partition_key)
        share = deactivated / total if total else 0.0
        return AssetCheckResult(
            passed=share <= DEACTIVATION_WARN_SHARE,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "deactivated": MetadataValue.int(deactivated),
                "rows": MetadataValue.int(total),
                "share": MetadataValue.float(round(share, 4)),
            },
        )

    return _check


# partitioned standalone checks are a "preview" feature in dagster 1.13 (verified working: the check runs
# for the run's partition and its result is recorded per partition); silence the import-time warning.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)
    upload_checks = [
        *(_upload_integrity_check(a) for a in REFERENCES),
        *(_rejects_check(a) for a in ("groups", "goods", "offers", "prices", "rests")),
        _negative_check("prices", "prices", partitioned=True),
        _negative_check("rests", "rests", partitioned=True),
        _deactivation_check("goods"),
        _deactivation_check("offers"),
    ]

audit_checks = [
    *(_audit_integrity_check(a) for a in REFERENCES),
    _negative_check("prices", "prices", partitioned=False),
    _negative_check("rests", "rests", partitioned=False),
]


def _keys(checks) -> list[AssetCheckKey]:
    return [k for c in checks for k in c.check_keys]


def upload_check_keys_for(asset_names: Sequence[str]) -> list[AssetCheckKey]:
    """Per-upload check keys of the given assets (what an import run of those assets executes)."""
    from onec_pipeline.defs.customers import customer_checks

    partitioned = [c for c in customer_checks if getattr(c, "partitions_def", None) is not None]
    names = set(asset_names)
    return [k for k in _keys([*upload_checks, *partitioned]) if k.asset_key.path[-1] in names]


def audit_check_keys() -> list[AssetCheckKey]:
    return _keys(audit_checks)
