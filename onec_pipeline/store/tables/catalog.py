"""The catalog family: one table per catalog record entity — the contract the storefront reads.

Declared in dependency order (references first): the loader applies the entities of a transaction in this
order. ``Table.info`` says which record :class:`~onec_pipeline.commerceml.records.Entity` a table holds and
whether a full export of it deactivates the rows it no longer contains. Every row carries the version
columns of :func:`~onec_pipeline.store.tables.columns.version_columns` (docs/ARCHITECTURE.md, "Version
guard"), ``is_active`` included; tables of entities 1C marks deleted also have ``deleted``. Reference data
(properties, units, price types, warehouses) is never deactivated by a full export: 1C lists in a price or
stock file only the price types and warehouses that file uses.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store.tables.columns import (
    ExactDecimal,
    Id,
    Json,
    derived,
    not_staged,
    version_columns,
)

FAMILY = "catalog"


def admission_columns() -> list[sa.Column[Any]]:
    """Whether the shop sells the row by ONEC_CATALOG_ROOTS (store/shop_rules.py), and why not.

    Independent of ``is_active``: the storefront shows a product or offer when both are true."""
    return [
        sa.Column("admitted", sa.Boolean, nullable=False, server_default=sa.true(), info=not_staged()),
        sa.Column("admission_reason", sa.Text, info=not_staged()),
    ]


def _info(entity: Entity, *, deactivated_by_full_export: bool = False) -> dict[str, Any]:
    return {"family": FAMILY, "entity": entity, "deactivated_by_full_export": deactivated_by_full_export}


def add_tables(md: sa.MetaData) -> list[sa.Table]:
    """Add the catalog tables to ``md`` (migration ``0001_catalog`` creates exactly these)."""
    return [
        *_classifier_tables(md),
        _goods(md),
        _offers(md),
        *_price_and_stock_tables(md),
    ]


def _classifier_tables(md: sa.MetaData) -> list[sa.Table]:
    groups = sa.Table(
        "groups",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("parent_id", sa.Text),
        sa.Column("name", sa.Text),
        *version_columns(with_deleted=True),
        sa.Index("ix_groups_parent_id", "parent_id"),
        info=_info(Entity.GROUPS, deactivated_by_full_export=True),
    )
    properties = sa.Table(
        "properties",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("value_type", sa.Text),
        sa.Column("for_offers", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("multiple", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("values", Json()),
        *version_columns(with_deleted=True),
        info=_info(Entity.PROPERTIES),
    )
    units = sa.Table(
        "units",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("code", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("full_name", sa.Text),
        sa.Column("international", sa.Text),
        *version_columns(with_deleted=False),
        info=_info(Entity.UNITS),
    )
    price_types = sa.Table(
        "price_types",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("currency", sa.Text),
        sa.Column("tax_name", sa.Text),
        sa.Column("tax_included", sa.Boolean),
        *version_columns(with_deleted=True),
        info=_info(Entity.PRICE_TYPES),
    )
    warehouses = sa.Table(
        "warehouses",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("address", sa.Text),
        *version_columns(with_deleted=True),
        info=_info(Entity.WAREHOUSES),
    )
    return [groups, properties, units, price_types, warehouses]


def _goods(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "goods",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("article", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("group_id", sa.Text),
        sa.Column("code", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("unit_code", sa.Text),
        sa.Column("category_id", sa.Text),
        sa.Column("barcodes", Json()),
        sa.Column("group_ids", Json()),
        # [{media, sha256, size, source, position}]: README "Product pictures" (migration 0005)
        sa.Column("images", Json()),
        sa.Column("manufacturer", Json()),
        sa.Column("properties", Json()),
        sa.Column("requisites", Json()),
        sa.Column("tax_rates", Json()),
        sa.Column("characteristics", Json()),
        # the shop's rules (store/shop_rules.py): the brand (Изготовитель, else ONEC_BRAND_PROPERTIES)
        sa.Column("brand", sa.Text, info=not_staged()),
        sa.Column("brand_id", sa.Text, info=not_staged()),
        *admission_columns(),
        *version_columns(with_deleted=True),
        sa.Index("ix_goods_group_id", "group_id"),
        info=_info(Entity.GOODS, deactivated_by_full_export=True),
    )


#: PostgreSQL fillfactor of ``offers``: room on each page for HOT updates of ``quantity`` (migrations 0008,
#: 0009: half of each page, enough for rows of ~750 bytes)
OFFERS_FILLFACTOR = 50


def _offers(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "offers",
        md,
        sa.Column("id", Id(), primary_key=True),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("characteristic_id", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("article", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("characteristics", Json()),
        sa.Column("properties", Json()),
        # pictures of the offer (1C 3.x: per characteristic), as goods.images (migration 0006_media)
        sa.Column("images", Json()),
        # The sellable quantity (store/shop_rules.py), kept in step whenever offers or stock are written:
        # 1C's active total, else the sum over the active warehouses' rows (ONEC_STOCK_WAREHOUSES), negative
        # stock counted as 0; 0 when a newer full stock export dropped it; NULL when 1C never sent stock.
        sa.Column("quantity", ExactDecimal(), info=not_staged()),
        *admission_columns(),
        *version_columns(with_deleted=True),
        sa.Index("ix_offers_product_id", "product_id"),
        info=_info(Entity.OFFERS, deactivated_by_full_export=True),
        postgresql_with={"fillfactor": OFFERS_FILLFACTOR},
    )


def _price_and_stock_tables(md: sa.MetaData) -> list[sa.Table]:
    prices = sa.Table(
        "prices",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("price_type_id", Id(), primary_key=True),
        sa.Column("price", ExactDecimal(), nullable=False),
        # the price's own Валюта, else its price type's (kept in step when the price type changes)
        sa.Column("currency", sa.Text, info=derived()),
        # the price's own Валюта as 1C sent it (NULL: the price has none)
        sa.Column("own_currency", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("ratio", ExactDecimal()),
        sa.Column("presentation", sa.Text),
        *version_columns(with_deleted=False),
        sa.Index("ix_prices_price_type_id", "price_type_id"),
        info=_info(Entity.PRICES, deactivated_by_full_export=True),
    )
    rests = sa.Table(
        "rests",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("warehouse_id", Id(), primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *version_columns(with_deleted=False),
        sa.Index("ix_rests_warehouse_id", "warehouse_id"),
        info=_info(Entity.RESTS, deactivated_by_full_export=True),
    )
    stock_totals = sa.Table(
        "stock_totals",
        md,
        sa.Column("offer_id", Id(), primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        *version_columns(with_deleted=False),
        info=_info(Entity.STOCK_TOTALS, deactivated_by_full_export=True),
    )
    return [prices, rests, stock_totals]
