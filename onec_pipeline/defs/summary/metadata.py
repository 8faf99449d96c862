"""The summary's frames as Dagster metadata: numbers (plotted over time on the asset's Plots tab) and
readable tables (pandas ``to_markdown``). Imported by the ``catalog_summary`` asset when it runs, never by
the definitions: pandas stays out of the import runs' processes."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from dagster import MetadataValue

from onec_pipeline.store.summary import CatalogSummary

from ..constants import format_count

MAX_SERIES = 20  # per-warehouse and per-price-type numbers plotted (the tables list them all)


def _markdown(frame: pd.DataFrame) -> MetadataValue:
    if frame.empty:
        return MetadataValue.md("_none_")
    return MetadataValue.md(frame.to_markdown(index=False, intfmt=",", floatfmt=",.2f"))


def _unique_names(names: list[str], ids: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [f"{n} ({i[:8]})" if seen[n] > 1 else n for n, i in zip(names, ids, strict=True)]


def _table_numbers(summary: CatalogSummary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in summary.tables.itertuples(index=False):
        out[f"{row.table}_active"] = MetadataValue.int(int(row.active))
        out[f"{row.table}_inactive"] = MetadataValue.int(int(row.inactive))
    stock = summary.offers.iloc[0]
    out["offers_in_stock"] = MetadataValue.int(int(stock["in_stock"]))
    out["offers_out_of_stock"] = MetadataValue.int(int(stock["out_of_stock"]))
    out["offers_without_stock_data"] = MetadataValue.int(int(stock["no_stock_data"]))
    return out


def _series(summary: CatalogSummary) -> dict[str, Any]:
    """Per warehouse (stock quantity) and per price type (mean price): the first ``MAX_SERIES`` by name."""
    out: dict[str, Any] = {}
    warehouses = summary.warehouses[summary.warehouses["active"]].head(MAX_SERIES)
    names = _unique_names(list(warehouses["warehouse"]), list(warehouses["id"]))
    for name, quantity in zip(names, warehouses["quantity"], strict=True):
        out[f"stock: {name}"] = MetadataValue.float(round(float(quantity), 3))
    prices = summary.prices.head(MAX_SERIES)
    names = _unique_names(list(prices["price_type"]), list(prices["id"]))
    for name, mean in zip(names, prices["mean"], strict=True):
        if not math.isnan(mean):
            out[f"mean price: {name}"] = MetadataValue.float(round(float(mean), 2))
    out["stock_quantity"] = MetadataValue.float(round(float(warehouses["quantity"].sum()), 3))
    return out


def _uploads(summary: CatalogSummary) -> dict[str, Any]:
    uploads = summary.uploads
    last = int(uploads["rejects"].iloc[0]) if len(uploads) else 0
    return {
        "rejects_last_upload": MetadataValue.int(last),
        "rejects_recent_uploads": MetadataValue.int(int(uploads["rejects"].sum()) if len(uploads) else 0),
        "last_upload": MetadataValue.text(str(uploads["upload_key"].iloc[0]) if len(uploads) else "none"),
    }


def overview(summary: CatalogSummary) -> str:
    """One line: what the storefront shows."""
    stock = summary.offers.iloc[0]
    return (
        f"{format_count(summary.count('goods'))} active goods, {format_count(summary.count('offers'))} "
        f"active offers ({format_count(stock['out_of_stock'])} out of stock), "
        f"{format_count(summary.count('prices'))} prices, {format_count(summary.count('rests'))} stock rows, "
        f"{format_count(summary.count('customers'))} customers"
    )


def summary_metadata(summary: CatalogSummary) -> dict[str, Any]:
    """Every metadata entry of a ``catalog_summary`` materialisation."""
    warehouses = summary.warehouses.drop(columns=["id"])
    prices = summary.prices.drop(columns=["id"])
    return {
        "overview": MetadataValue.text(overview(summary)),
        **_table_numbers(summary),
        **_series(summary),
        **_uploads(summary),
        "tables": _markdown(summary.tables),
        "last_full_exports": _markdown(summary.full_exports),
        "offers_stock": _markdown(summary.offers),
        "stock_per_warehouse": _markdown(warehouses),
        "prices_per_type": _markdown(prices),
        "recent_uploads": _markdown(summary.uploads),
    }
