"""The nightly catalog audit: catalog-wide checks (not partitioned, never blocking: nothing runs after
them), the ``catalog_audit`` job that runs them and the ``nightly_catalog_audit`` schedule.

The audit is a standalone multi-asset check: a schedule cannot target the ``check_specs`` of a
non-subsettable asset.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
    multi_asset_check,
)

from onec_pipeline.store.audit import REFERENCES

from ..resources import CatalogDatabase
from .checks import NEGATIVE, integrity_result, negative_result

AUDIT_SPECS = [
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
@multi_asset_check(name="catalog_audit_checks", specs=AUDIT_SPECS, can_subset=True)
def catalog_audit_checks(
    context: AssetCheckExecutionContext, catalog_db: CatalogDatabase
) -> Iterator[AssetCheckResult]:
    """The nightly audit: not partitioned, over the whole catalog; never blocking (nothing runs after it)."""
    store = catalog_db.get_store()
    selected = context.selected_asset_check_keys
    for spec in AUDIT_SPECS:
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


catalog_audit = define_asset_job(
    name="catalog_audit",
    selection=AssetSelection.checks(*catalog_audit_checks.check_keys),
    description="Catalog-wide integrity checks (the nightly audit).",
)

nightly_catalog_audit = ScheduleDefinition(
    name="nightly_catalog_audit",
    cron_schedule="30 2 * * *",
    job=catalog_audit,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Runs the catalog-wide integrity checks every night.",
)
