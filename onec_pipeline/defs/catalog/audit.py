"""The catalog audit: catalog-wide checks, the ``catalog_audit`` job and the ``nightly_catalog_audit``
schedule.

The checks describe the whole catalog, so they belong to the asset that describes the whole catalog: they
are ``check_specs`` of ``catalog_summary`` (``defs/summary``), evaluated every time the summary is
materialised (after every import run, and by this nightly job). The import assets' cards show only their
per-upload checks: a catalog-wide check never reads "Not evaluated" on an upload's asset. Never blocking:
nothing runs after the summary.
"""

from __future__ import annotations

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)

from onec_pipeline.store import CatalogStore
from onec_pipeline.store.audit import REFERENCES

from ..constants import SUMMARY_ASSET
from .checks import NEGATIVE, integrity_result, negative_result

AUDIT_SPECS = [
    *(
        AssetCheckSpec(
            name=f"{a}_references_audit",
            asset=SUMMARY_ASSET,
            description=f"Catalog-wide: every active row of {a} references existing rows (warning).",
        )
        for a in REFERENCES
    ),
    AssetCheckSpec(
        name="prices_not_negative_audit",
        asset=SUMMARY_ASSET,
        description="Catalog-wide: no negative price (error).",
    ),
    AssetCheckSpec(
        name="rests_negative_stock_audit",
        asset=SUMMARY_ASSET,
        description="Catalog-wide: negative stock is allowed (1C sells before receipt); warns when the share "
        "of negative stock rows is unusually high.",
    ),
]


def audit_results(store: CatalogStore) -> list[AssetCheckResult]:
    """One result per audit check, over the whole catalog."""
    results = []
    for spec in AUDIT_SPECS:
        if spec.name.endswith("_references_audit"):
            result = integrity_result(store, spec.name.removesuffix("_references_audit"), None)
        else:
            table = spec.name.split("_", 1)[0]
            result = negative_result(store, NEGATIVE[table], None)
        results.append(
            AssetCheckResult(
                asset_key=AssetKey(SUMMARY_ASSET),
                check_name=spec.name,
                passed=result.passed,
                severity=result.severity,
                description=result.description,
                metadata=result.metadata,
            )
        )
    return results


catalog_audit = define_asset_job(
    name="catalog_audit",
    selection=AssetSelection.assets(SUMMARY_ASSET),  # the summary and its catalog-wide checks
    description="The nightly audit: the catalog summary and its catalog-wide integrity checks.",
)

nightly_catalog_audit = ScheduleDefinition(
    name="nightly_catalog_audit",
    cron_schedule="30 2 * * *",
    job=catalog_audit,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Materialises the catalog summary with its catalog-wide checks every night.",
)
