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

from collections.abc import Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from onec_pipeline.defs.resources import CatalogDatabase
from onec_pipeline.store.audit import (
    REFERENCES,
    deactivated_share,
    negative_count,
    orphans,
    reject_count,
    written_count,
)

REJECT_BLOCK_SHARE = 0.5
DEACTIVATION_WARN_SHARE = 0.2


# ------------------------------------------------------------------------------------------ results
# Each function returns one AssetCheckResult; ``key`` None means the whole catalog (the nightly audit).


def integrity_result(store, asset_name: str, key: str | None) -> AssetCheckResult:
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


def rejects_result(store, asset_name: str, key: str) -> AssetCheckResult:
    from onec_pipeline.defs.assets import ASSET_ENTITIES

    blocking = asset_name in BLOCKING_REJECTS
    rejected = reject_count(store, key, ASSET_ENTITIES[asset_name])
    written = written_count(store, asset_name, key) if blocking else 0
    share = rejected / (rejected + written) if rejected + written else 0.0
    error = blocking and rejected > 0 and share > REJECT_BLOCK_SHARE
    return AssetCheckResult(
        passed=rejected == 0,
        severity=AssetCheckSeverity.ERROR if error else AssetCheckSeverity.WARN,
        metadata={
            "upload_key": MetadataValue.text(key),
            "rejected": MetadataValue.int(rejected),
            "reject_share": MetadataValue.float(round(share, 4)),
        },
    )


def negative_result(store, table: str, key: str | None) -> AssetCheckResult:
    is_price = table == "prices"
    n, sample = negative_count(store, table, "price" if is_price else "quantity", key)
    return AssetCheckResult(
        passed=n == 0,
        severity=AssetCheckSeverity.ERROR if is_price else AssetCheckSeverity.WARN,
        metadata={"negative_rows": MetadataValue.int(n), "sample_offer_ids": MetadataValue.json(sample)},
    )


def deactivation_result(store, table: str, key: str) -> AssetCheckResult:
    deactivated, total = deactivated_share(store, table, key)
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


# ---------------------------------------------------------------------------------------- definitions
# The per-upload checks are declared on the assets (``check_specs``) and evaluated at the end of each
# asset's step, right after its transaction: no extra step (and process) per check in every import run.
# The nightly audit is a standalone multi-asset check (a schedule cannot target check_specs of a
# non-subsettable asset).

BLOCKING_REJECTS = ("goods", "offers")
NEGATIVE = {"prices": "prices", "rests": "rests"}
DEACTIVATION = ("goods", "offers")
UPLOAD_CHECKED_ASSETS = ("groups", "goods", "offers", "prices", "rests")


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
        spec("rests_not_negative", False, "Negative stock in this upload (1C allows it: warning only).")
    if asset_name in DEACTIVATION:
        # the store's mass-deactivation guard already decides; this only reports the share
        spec(f"{asset_name}_deactivated_share", False, f"Share of {asset_name} rows this upload deactivated.")
    return specs


def evaluate_upload_checks(asset_name: str, store, key: str) -> list[AssetCheckResult]:
    """Results of every per-upload check of ``asset_name`` for upload ``key`` (one per spec)."""
    results = []
    for spec in upload_check_specs(asset_name):
        name = spec.name
        if name.endswith("_references"):
            result = integrity_result(store, asset_name, key)
        elif name.endswith("_rejects"):
            result = rejects_result(store, asset_name, key)
        elif name.endswith("_not_negative"):
            result = negative_result(store, NEGATIVE[asset_name], key)
        else:
            result = deactivation_result(store, asset_name, key)
        results.append(
            AssetCheckResult(
                asset_key=AssetKey(asset_name),
                check_name=name,
                passed=result.passed,
                severity=result.severity,
                metadata=result.metadata,
            )
        )
    return results


_AUDIT_SPECS = [
    *(
        AssetCheckSpec(
            name=f"{a}_references_audit",
            asset=a,
            description=f"Catalog-wide: every active row of {a} references existing rows.",
        )
        for a in REFERENCES
    ),
    AssetCheckSpec(
        name="prices_not_negative_audit", asset="prices", description="No negative price in the catalog."
    ),
    AssetCheckSpec(
        name="rests_not_negative_audit", asset="rests", description="Negative stock in the catalog (warning)."
    ),
]


# can_subset: when an operator materialises e.g. only `goods` from the UI, Dagster selects the checks of
# `goods` too, i.e. a subset of this op's checks; a non-subsettable op would make that selection invalid.
@multi_asset_check(name="catalog_audit_checks", specs=_AUDIT_SPECS, can_subset=True)
def catalog_audit_checks(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase):
    """The nightly audit: not partitioned, over the whole catalog; never blocking (nothing runs after it)."""
    store = catalog_db.get_store()
    selected = context.selected_asset_check_keys
    for spec in _AUDIT_SPECS:
        if spec.key not in selected:
            continue
        asset_name = spec.asset_key.path[-1]
        if spec.name.endswith("_references_audit"):
            result = integrity_result(store, asset_name, None)
        else:
            result = negative_result(store, NEGATIVE[asset_name], None)
        yield AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=result.passed,
            severity=result.severity,
            metadata=result.metadata,
        )


audit_checks = [catalog_audit_checks]


def _keys(checks) -> list[AssetCheckKey]:
    return [k for c in checks for k in c.check_keys]


def upload_check_keys_for(asset_names: Sequence[str]) -> list[AssetCheckKey]:
    """Per-upload check keys of the given assets (what an import run of those assets executes)."""
    from onec_pipeline.defs.customers import customer_checks

    names = set(asset_names)
    keys = [
        AssetCheckKey(AssetKey(a), spec.name)
        for a in UPLOAD_CHECKED_ASSETS
        if a in names
        for spec in upload_check_specs(a)
    ]
    partitioned = [c for c in customer_checks if getattr(c, "partitions_def", None) is not None]
    return keys + [k for k in _keys(partitioned) if k.asset_key.path[-1] in names]


def audit_check_keys() -> list[AssetCheckKey]:
    return _keys(audit_checks)
