"""Checks on ``customers`` (per upload partition): open conflicts (WARN) and duplicate e-mails among active
customers (ERROR); both describe the whole table after the upload's import. The queries live in
``onec_pipeline.store.audit``."""

import warnings

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    PreviewWarning,
    asset_check,
)

from onec_pipeline.store import CatalogStore
from onec_pipeline.store.audit import duplicate_active_emails, open_customer_conflicts

from ..partitions import uploads_partitions
from ..resources import CatalogDatabase

SAMPLE = 10


def conflicts_check_result(store: CatalogStore, key: str | None) -> AssetCheckResult:
    conflicts = open_customer_conflicts(store)
    mine = [c for c in conflicts if key is not None and c["upload_key"] == key]
    return AssetCheckResult(
        passed=not conflicts,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{len(conflicts)} open customer conflict(s) for review ({len(mine)} from this upload)"
            if conflicts
            else "no open customer conflicts"
        ),
        metadata={
            "open_conflicts": MetadataValue.int(len(conflicts)),
            "from_this_upload": MetadataValue.int(len(mine)),
            "sample": MetadataValue.json(conflicts[:SAMPLE]),
        },
    )


def duplicate_emails_check_result(store: CatalogStore) -> AssetCheckResult:
    dupes = duplicate_active_emails(store)
    return AssetCheckResult(
        passed=not dupes,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"{len(dupes)} e-mail(s) shared by several active customers"
            if dupes
            else "active e-mails are unique"
        ),
        metadata={
            "duplicate_emails": MetadataValue.int(len(dupes)),
            "sample": MetadataValue.json(dupes[:SAMPLE]),
        },
    )


# partitioned standalone checks are a preview feature in dagster 1.13
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)

    @asset_check(
        asset="customers",
        name="customers_open_conflicts",
        partitions_def=uploads_partitions,
        blocking=False,
        description="Contragents that could not be merged safely wait for manual review (WARN).",
    )
    def customers_open_conflicts(
        context: AssetCheckExecutionContext, catalog_db: CatalogDatabase
    ) -> AssetCheckResult:
        key = context.partition_key if context.has_partition_key else None
        return conflicts_check_result(catalog_db.get_store(), key)

    @asset_check(
        asset="customers",
        name="customers_duplicate_emails",
        partitions_def=uploads_partitions,
        blocking=False,  # nothing downstream to protect; the result is an ERROR for the operators
        description="An e-mail must not belong to several active customers (ERROR).",
    )
    def customers_duplicate_emails(
        context: AssetCheckExecutionContext, catalog_db: CatalogDatabase
    ) -> AssetCheckResult:
        return duplicate_emails_check_result(catalog_db.get_store())


customer_checks = [customers_open_conflicts, customers_duplicate_emails]


def customer_upload_check_keys() -> list[AssetCheckKey]:
    """The per-upload (partitioned) check keys of the customer assets."""
    return [k for c in customer_checks if c.partitions_def is not None for k in c.check_keys]
