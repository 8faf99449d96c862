"""Checks on the order assets: lines whose offer the catalog does not know (per upload, on
``order_updates``, WARN) and orders sent to 1C long ago that 1C has not confirmed (on ``orders_export``,
WARN). The queries live in ``onec_pipeline.store.orders.queries``."""

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
from onec_pipeline.store.orders import stale_unconfirmed, unknown_offers_of

from ..constants import format_count
from ..partitions import uploads_partitions
from ..resources import CatalogDatabase

UNCONFIRMED_HOURS = 24.0


def unknown_offers_result(store: CatalogStore) -> AssetCheckResult:
    count, sample = unknown_offers_of(store)
    return AssetCheckResult(
        passed=count == 0,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{format_count(count)} order line(s) name an offer the catalog does not know (kept as sent)"
            if count
            else "every order line names a known offer (or is the delivery line)"
        ),
        metadata={"unknown_offer_lines": MetadataValue.int(count), "sample": MetadataValue.json(sample)},
    )


def unconfirmed_result(store: CatalogStore, hours: float = UNCONFIRMED_HOURS) -> AssetCheckResult:
    count, sample = stale_unconfirmed(store, hours=hours)
    return AssetCheckResult(
        passed=count == 0,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{format_count(count)} order(s) sent to 1C over {hours:g} h ago and not confirmed (sent again "
            "with every query)"
            if count
            else f"no order waits for 1C's confirmation longer than {hours:g} h"
        ),
        metadata={"unconfirmed": MetadataValue.int(count), "sample": MetadataValue.json(sample)},
    )


# partitioned standalone checks are a preview feature in dagster 1.13
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)

    @asset_check(
        asset="order_updates",
        name="order_updates_unknown_offers",
        partitions_def=uploads_partitions,
        blocking=False,
        description="Order lines whose offer the catalog does not know: kept, reported (WARN).",
    )
    def order_updates_unknown_offers(
        context: AssetCheckExecutionContext, catalog_db: CatalogDatabase
    ) -> AssetCheckResult:
        return unknown_offers_result(catalog_db.get_store())


@asset_check(
    asset="orders_export",
    name="orders_unconfirmed",
    blocking=False,
    description="Orders sent to 1C more than 24 h ago that 1C has not confirmed (WARN).",
)
def orders_unconfirmed(context: AssetCheckExecutionContext, catalog_db: CatalogDatabase) -> AssetCheckResult:
    return unconfirmed_result(catalog_db.get_store())


order_checks = [order_updates_unknown_offers, orders_unconfirmed]


def order_upload_check_keys() -> list[AssetCheckKey]:
    """The per-upload (partitioned) check keys of the order assets."""
    return [k for c in order_checks if c.partitions_def is not None for k in c.check_keys]
