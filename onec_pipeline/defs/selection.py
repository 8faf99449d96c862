"""What an import run of some assets executes: the assets and their per-upload checks (the catalog-wide
audit checks are not partitioned and belong to ``catalog_audit``, never to an import run)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetCheckKey, AssetKey, AssetSelection

from .catalog.checks import catalog_upload_check_keys
from .customers.checks import customer_upload_check_keys
from .orders.checks import order_upload_check_keys


def upload_check_keys_for(asset_names: Iterable[str]) -> list[AssetCheckKey]:
    """Per-upload check keys of the given assets (what an import run of those assets executes)."""
    names = set(asset_names)
    keys = [*catalog_upload_check_keys(), *customer_upload_check_keys(), *order_upload_check_keys()]
    return [k for k in keys if k.asset_key.path[-1] in names]


def import_selection(asset_names: Iterable[str]) -> AssetSelection:
    """The assets plus their per-upload checks."""
    names = list(asset_names)
    selection = AssetSelection.assets(*(AssetKey(n) for n in names)).without_checks()
    check_keys = upload_check_keys_for(names)
    if check_keys:
        selection = selection | AssetSelection.checks(*check_keys)
    return selection
