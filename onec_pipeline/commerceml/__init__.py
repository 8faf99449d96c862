"""Streaming reader for 1C:Enterprise CommerceML uploads (pure Python + lxml: no Dagster, no database).

See docs/ARCHITECTURE.md "Reader API" and FORMAT.md for the dialects handled.
"""

from __future__ import annotations

from .errors import CommerceMLError
from .header import read_header
from .reader import Lookups, ReadStats, collect_lookups, iter_file_records, read_upload
from .records import (
    Customer,
    Entity,
    FileHeader,
    FileKind,
    Group,
    Offer,
    Order,
    OrderItem,
    Price,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Record,
    Reject,
    Source,
    Stock,
    StockTotal,
    Unit,
    Warehouse,
)
from .upload import Upload, discover_upload, upload_from_headers
from .values import normalise_currency, parse_datetime, parse_decimal

__all__ = [
    "CommerceMLError",
    "Customer",
    "Entity",
    "FileHeader",
    "FileKind",
    "Group",
    "Lookups",
    "Offer",
    "Order",
    "OrderItem",
    "Price",
    "PriceType",
    "Product",
    "Property",
    "PropertyValue",
    "ReadStats",
    "Record",
    "Reject",
    "Source",
    "Stock",
    "StockTotal",
    "Unit",
    "Upload",
    "Warehouse",
    "collect_lookups",
    "discover_upload",
    "iter_file_records",
    "normalise_currency",
    "parse_datetime",
    "parse_decimal",
    "read_header",
    "read_upload",
    "upload_from_headers",
]
