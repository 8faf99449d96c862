"""Catalog checks: the per-upload checks of each catalog asset, and the results both they and the nightly
audit (``audit.py``) report. The queries live in ``onec_pipeline.store.audit``.

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
* negative stock (``rests_negative_stock``): 1C allows it (goods sold before their receipt is posted), so
  the check passes and says how many rows are negative; it warns (not blocking) only when more than
  ``NEGATIVE_STOCK_WARN_SHARE`` of the rows are negative, which means a broken export rather than trade.
* share of rows deactivated by this upload: WARN above 20 %, not blocking: the store already refuses a
  full export deactivating more than its threshold unless ``allow_mass_deactivation`` is set, so a big
  share here was either allowed on purpose or is below the threshold.

The per-upload checks are declared on the assets (``check_specs``) and evaluated at the end of each asset's
step, right after its transaction: no extra step (and process) per check in every import run.
"""

from __future__ import annotations

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)

from onec_pipeline.store import CatalogStore
from onec_pipeline.store.audit import (
    REFERENCES,
    deactivated_share,
    negative_count,
    orphans,
    reject_count,
    rejected_records,
    table_rows,
    written_count,
)

from ..constants import ASSET_ENTITIES, CATALOG_ASSETS, format_count

REJECT_BLOCK_SHARE = 0.5
DEACTIVATION_WARN_SHARE = 0.2
BLOCKING_REJECTS = ("goods", "offers")
NEGATIVE = {"prices": "prices", "rests": "rests"}  # asset -> table checked for negative values
NEGATIVE_STOCK_WARN_SHARE = 0.05  # negative stock rows beyond this share: a warning
DEACTIVATION = ("goods", "offers")


# ------------------------------------------------------------------------------------------ results
# Each function returns one AssetCheckResult; ``key`` None means the whole catalog (the nightly audit).


def integrity_result(store: CatalogStore, asset_name: str, key: str | None) -> AssetCheckResult:
    found = {}
    samples = {}
    for ref in REFERENCES[asset_name]:
        n, sample = orphans(store, ref, key)
        found[f"{ref.child}.{ref.column}→{ref.parent}"] = n
        samples[f"{ref.child}.{ref.column}"] = sample
    total = sum(found.values())
    scope = f"upload {key}" if key else "the catalog"
    missing = ", ".join(f"{format_count(n)} {name}" for name, n in found.items() if n)
    return AssetCheckResult(
        passed=total == 0,
        severity=AssetCheckSeverity.WARN,
        description=f"{format_count(total)} missing references in {scope} ({missing}): kept, they resolve "
        f"when the missing rows arrive"
        if total
        else f"every reference of {asset_name} in {scope} resolves",
        metadata={
            "scope": MetadataValue.text(f"upload {key}" if key else "whole catalog"),
            "missing_references": MetadataValue.int(total),
            **{name: MetadataValue.int(n) for name, n in found.items()},
            "sample": MetadataValue.json(samples),
        },
    )


def rejects_result(store: CatalogStore, asset_name: str, key: str) -> AssetCheckResult:
    blocking = asset_name in BLOCKING_REJECTS
    rejected = reject_count(store, key, ASSET_ENTITIES[asset_name])
    written = written_count(store, asset_name, key) if blocking else 0
    # the share counts records that did not load (a refused picture rejects, yet its product loads)
    lost = (
        rejected_records(store, key, ASSET_ENTITIES[asset_name], asset_name)
        if blocking and rejected
        else rejected
    )
    share = lost / (lost + written) if lost + written else 0.0
    error = blocking and lost > 0 and share > REJECT_BLOCK_SHARE
    loaded = (
        f" ({format_count(rejected - lost)} of them refused pictures of records that loaded)"
        if lost < rejected
        else ""
    )
    return AssetCheckResult(
        passed=rejected == 0,
        severity=AssetCheckSeverity.ERROR if error else AssetCheckSeverity.WARN,
        description=(
            f"{format_count(rejected)} {asset_name} records of upload {key} rejected{loaded}"
            + (f" ({share:.1%}: more than {REJECT_BLOCK_SHARE:.0%}, the file is unusable)" if error else "")
            + ": see the rejects table"
            if rejected
            else f"no {asset_name} record of upload {key} rejected"
        ),
        metadata={
            "upload_key": MetadataValue.text(key),
            "rejected": MetadataValue.int(rejected),
            "reject_share": MetadataValue.float(round(share, 4)),
        },
    )


def negative_result(store: CatalogStore, table: str, key: str | None) -> AssetCheckResult:
    """Prices: any negative price is an error. Stock: negative rows are normal in 1C; a warning only above
    ``NEGATIVE_STOCK_WARN_SHARE`` of the rows (written by upload ``key``, or of the catalog)."""
    is_price = table == "prices"
    n, sample = negative_count(store, table, "price" if is_price else "quantity", key)
    scope = f"upload {key}" if key else "the catalog"
    metadata: dict[str, MetadataValue] = {
        "negative_rows": MetadataValue.int(n),
        "sample_offer_ids": MetadataValue.json(sample),
    }
    if is_price:
        return AssetCheckResult(
            passed=n == 0,
            severity=AssetCheckSeverity.ERROR,
            description=f"{format_count(n)} negative prices in {scope}"
            if n
            else f"no negative price in {scope}",
            metadata=metadata,
        )
    rows = written_count(store, table, key) if key else table_rows(store, table)
    share = n / rows if rows else 0.0
    metadata["rows"] = MetadataValue.int(rows)
    metadata["negative_share"] = MetadataValue.float(round(share, 4))
    unusual = share > NEGATIVE_STOCK_WARN_SHARE
    return AssetCheckResult(
        passed=not unusual,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{format_count(n)} of {format_count(rows)} stock rows in {scope} are negative ({share:.1%}): "
            + (
                f"more than {NEGATIVE_STOCK_WARN_SHARE:.0%}, check the export"
                if unusual
                else "1C allows negative stock"
            )
        ),
        metadata=metadata,
    )


def deactivation_result(store: CatalogStore, table: str, key: str) -> AssetCheckResult:
    deactivated, total = deactivated_share(store, table, key)
    share = deactivated / total if total else 0.0
    return AssetCheckResult(
        passed=share <= DEACTIVATION_WARN_SHARE,
        severity=AssetCheckSeverity.WARN,
        description=f"upload {key} deactivated {format_count(deactivated)} of {format_count(total)} "
        f"{table} rows ({share:.1%}; warns above {DEACTIVATION_WARN_SHARE:.0%})",
        metadata={
            "deactivated": MetadataValue.int(deactivated),
            "rows": MetadataValue.int(total),
            "share": MetadataValue.float(round(share, 4)),
        },
    )


# ------------------------------------------------------------------------------------ per-upload checks


def upload_check_specs(asset_name: str) -> list[AssetCheckSpec]:
    """The per-upload checks of one catalog asset (see the module docstring for the blocking policy)."""
    specs = []

    def spec(name: str, blocking: bool, description: str) -> None:
        specs.append(AssetCheckSpec(name=name, asset=asset_name, blocking=blocking, description=description))

    if asset_name in REFERENCES:
        # orphans are normal in 1C packages: never blocking
        spec(
            f"{asset_name}_references",
            False,
            f"Rows of {asset_name} written by this upload reference existing rows.",
        )
    # goods/offers: a mostly-rejected file is garbage; stop prices/stock from loading on top of it
    spec(
        f"{asset_name}_rejects",
        asset_name in BLOCKING_REJECTS,
        f"Records of {asset_name} rejected in this upload (warn"
        + (
            f"; error and blocking above {REJECT_BLOCK_SHARE:.0%})" if asset_name in BLOCKING_REJECTS else ")"
        ),
    )
    if asset_name == "prices":
        spec("prices_not_negative", True, "No negative prices in this upload (error, blocking).")
    if asset_name == "rests":
        spec(
            "rests_negative_stock",
            False,
            "Negative stock in this upload: 1C allows it (passes, with the count); warns above "
            f"{NEGATIVE_STOCK_WARN_SHARE:.0%} of the rows.",
        )
    if asset_name in DEACTIVATION:
        # the store's mass-deactivation guard already decides; this only reports the share
        spec(f"{asset_name}_deactivated_share", False, f"Share of {asset_name} rows this upload deactivated.")
    return specs


def _upload_result(store: CatalogStore, asset_name: str, check_name: str, key: str) -> AssetCheckResult:
    if check_name.endswith("_references"):
        return integrity_result(store, asset_name, key)
    if check_name.endswith("_rejects"):
        return rejects_result(store, asset_name, key)
    if check_name in ("prices_not_negative", "rests_negative_stock"):
        return negative_result(store, NEGATIVE[asset_name], key)
    return deactivation_result(store, asset_name, key)


def evaluate_upload_checks(asset_name: str, store: CatalogStore, key: str) -> list[AssetCheckResult]:
    """Results of every per-upload check of ``asset_name`` for upload ``key`` (one per spec)."""
    results = []
    for spec in upload_check_specs(asset_name):
        result = _upload_result(store, asset_name, spec.name, key)
        results.append(
            AssetCheckResult(
                asset_key=AssetKey(asset_name),
                check_name=spec.name,
                passed=result.passed,
                severity=result.severity,
                description=result.description,
                metadata=result.metadata,
            )
        )
    return results


def catalog_upload_check_keys() -> list[AssetCheckKey]:
    """The per-upload check keys of every catalog asset."""
    return [AssetCheckKey(AssetKey(a), spec.name) for a in CATALOG_ASSETS for spec in upload_check_specs(a)]
