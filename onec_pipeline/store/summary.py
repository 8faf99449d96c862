"""The catalog's state at a glance: read-only queries behind the ``catalog_summary`` asset, one pandas
frame each (pandas is imported here and in the summary asset only: never on the load path).

* :func:`table_counts` — active and inactive rows per catalog table (and customers); a table without
  deletion marks counts every row as active;
* :func:`last_full_exports` — the newest full export of each entity;
* :func:`offer_stock` — active offers in stock, out of stock (stock ≤ 0) and without any stock data; an
  offer's stock is its total (``offers.quantity``, from ``stock_totals``) or else the sum over warehouses;
* :func:`stock_per_warehouse` — per warehouse: stock rows, offers in stock, negative rows, total quantity;
* :func:`price_stats` — per price type: prices of active offers, min / mean / max;
* :func:`recent_uploads` — the last uploads the store wrote, with their rejects per entity.

:func:`read_summary` runs them all on one connection (one consistent snapshot on PostgreSQL: REPEATABLE
READ, read only).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.tables import CATALOG_TABLES

RECENT_UPLOADS = 10
# compare quantities with a literal: a bound 0 would go through the column's decimal type, which SQLite
# stores as text (and text sorts above every number there)
ZERO: sa.ColumnElement[int] = sa.literal_column("0")
COUNTED_TABLES = (*CATALOG_TABLES, "customers")


def _is_active(table: sa.Table) -> sa.ColumnElement[bool]:
    return table.c.is_active.is_(True) if "is_active" in table.c else sa.true()


def _count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def table_counts(store: CatalogStore, conn: sa.Connection) -> pd.DataFrame:
    """Columns ``table``, ``active``, ``inactive``, ``rows`` (one row per table, in catalog order)."""
    parts = []
    for name in COUNTED_TABLES:
        table = store.tables[name]
        parts.append(
            sa.select(
                sa.literal(name).label("table"),
                _count_where(_is_active(table)).label("active"),
                sa.func.count().label("rows"),
            ).select_from(table)
        )
    frame = pd.read_sql(sa.union_all(*parts), conn)
    frame["table"] = pd.Categorical(frame["table"], categories=COUNTED_TABLES, ordered=True)
    frame = frame.sort_values("table").reset_index(drop=True)
    frame["table"] = frame["table"].astype(str)
    frame["active"] = frame["active"].astype("int64")
    frame["rows"] = frame["rows"].astype("int64")
    frame["inactive"] = frame["rows"] - frame["active"]
    return frame[["table", "active", "inactive", "rows"]]


def last_full_exports(store: CatalogStore, conn: sa.Connection) -> pd.DataFrame:
    """Columns ``entity``, ``upload_key``, ``exported_at``, ``recorded_at``: the newest full export of each
    entity that ever had one (upload keys sort chronologically)."""
    full = store.tables["full_exports"]
    newest = (
        sa.select(full.c.entity, sa.func.max(full.c.upload_key).label("upload_key"))
        .group_by(full.c.entity)
        .subquery()
    )
    query = (
        sa.select(full.c.entity, full.c.upload_key, full.c.exported_at, full.c.recorded_at)
        .join(newest, sa.and_(newest.c.entity == full.c.entity, newest.c.upload_key == full.c.upload_key))
        .order_by(full.c.entity)
    )
    return pd.read_sql(query, conn)


def _stock_per_offer(store: CatalogStore) -> sa.Subquery:
    """Active offers with their stock: the sellable ``offers.quantity`` (1C's total, else the sum over
    warehouses: ``store/shop_rules.py``), else the plain sum over warehouses (rows a rules re-evaluation has
    not reached yet)."""
    offers, rests = store.tables["offers"], store.tables["rests"]
    per_offer = (
        sa.select(rests.c.offer_id, sa.func.sum(rests.c.quantity).label("quantity"))
        .where(_is_active(rests))
        .group_by(rests.c.offer_id)
        .subquery()
    )
    return (
        sa.select(offers.c.id, sa.func.coalesce(offers.c.quantity, per_offer.c.quantity).label("stock"))
        .select_from(offers.outerjoin(per_offer, per_offer.c.offer_id == offers.c.id))
        .where(offers.c.is_active.is_(True))
        .subquery()
    )


def offer_stock(store: CatalogStore, conn: sa.Connection) -> pd.DataFrame:
    """One row: ``in_stock`` (stock > 0), ``out_of_stock`` (stock ≤ 0), ``no_stock_data`` (no total and no
    warehouse row) among the active offers."""
    stock = _stock_per_offer(store).c.stock
    query = sa.select(
        _count_where(stock > ZERO).label("in_stock"),
        _count_where(stock <= ZERO).label("out_of_stock"),
        _count_where(stock.is_(None)).label("no_stock_data"),
    )
    return pd.read_sql(query, conn).astype("int64")


def stock_per_warehouse(store: CatalogStore, conn: sa.Connection) -> pd.DataFrame:
    """Columns ``warehouse`` (name, else id), ``id``, ``active``, ``rows``, ``offers_in_stock``,
    ``negative_rows``, ``quantity`` (the sum, a float), ordered by name."""
    warehouses, rests = store.tables["warehouses"], store.tables["rests"]
    joined = warehouses.outerjoin(rests, sa.and_(rests.c.warehouse_id == warehouses.c.id, _is_active(rests)))
    query = (
        sa.select(
            sa.func.coalesce(warehouses.c.name, warehouses.c.id).label("warehouse"),
            warehouses.c.id,
            warehouses.c.is_active.label("active"),
            sa.func.count(rests.c.offer_id).label("rows"),
            _count_where(rests.c.quantity > ZERO).label("offers_in_stock"),
            _count_where(rests.c.quantity < ZERO).label("negative_rows"),
            sa.func.coalesce(sa.func.sum(rests.c.quantity), 0).label("quantity"),
        )
        .select_from(joined)
        .group_by(warehouses.c.id, warehouses.c.name, warehouses.c.is_active)
        .order_by(sa.func.coalesce(warehouses.c.name, warehouses.c.id))
    )
    frame = pd.read_sql(query, conn)
    frame["active"] = frame["active"].astype(bool)
    for column in ("rows", "offers_in_stock", "negative_rows"):
        frame[column] = frame[column].astype("int64")
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def price_stats(store: CatalogStore, conn: sa.Connection) -> pd.DataFrame:
    """Columns ``price_type`` (name, else id), ``id``, ``currency``, ``prices`` (of active offers), ``min``,
    ``mean``, ``max`` (floats; NaN without prices), ordered by name."""
    types, prices, offers = store.tables["price_types"], store.tables["prices"], store.tables["offers"]
    active_prices = (
        sa.select(prices.c.price_type_id, prices.c.price)
        .join(offers, offers.c.id == prices.c.offer_id)
        .where(offers.c.is_active.is_(True), _is_active(prices))
        .subquery()
    )
    query = (
        sa.select(
            sa.func.coalesce(types.c.name, types.c.id).label("price_type"),
            types.c.id,
            types.c.currency,
            sa.func.count(active_prices.c.price).label("prices"),
            sa.func.min(active_prices.c.price).label("min"),
            sa.func.avg(active_prices.c.price).label("mean"),
            sa.func.max(active_prices.c.price).label("max"),
        )
        .select_from(types.outerjoin(active_prices, active_prices.c.price_type_id == types.c.id))
        .group_by(types.c.id, types.c.name, types.c.currency)
        .order_by(sa.func.coalesce(types.c.name, types.c.id))
    )
    frame = pd.read_sql(query, conn)
    frame["prices"] = frame["prices"].astype("int64")
    for column in ("min", "mean", "max"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def recent_uploads(store: CatalogStore, conn: sa.Connection, limit: int = RECENT_UPLOADS) -> pd.DataFrame:
    """The last ``limit`` uploads the store wrote (newest first): ``upload_key``, ``exported_at``,
    ``loaded_at``, ``rejects`` (their total) and one column per entity with rejects."""
    uploads, rejects = store.tables["uploads"], store.tables["rejects"]
    last = (
        sa.select(uploads.c.key, uploads.c.exported_at, uploads.c.loaded_at)
        .order_by(uploads.c.key.desc())
        .limit(limit)
        .subquery()
    )
    frame = pd.read_sql(sa.select(last).order_by(last.c.key.desc()), conn)
    frame = frame.rename(columns={"key": "upload_key"})
    counted = pd.read_sql(
        sa.select(rejects.c.upload, rejects.c.entity, sa.func.count().label("n"))
        .where(rejects.c.upload.in_(sa.select(last.c.key)))
        .group_by(rejects.c.upload, rejects.c.entity),
        conn,
    )
    if counted.empty:
        frame["rejects"] = 0
        return frame
    per_entity = counted.pivot_table(
        index="upload", columns="entity", values="n", aggfunc="sum", fill_value=0
    )
    frame = frame.merge(per_entity, how="left", left_on="upload_key", right_index=True)
    entities = list(per_entity.columns)
    frame[entities] = frame[entities].fillna(0).astype("int64")
    frame.insert(3, "rejects", frame[entities].sum(axis=1).astype("int64"))
    return frame


@dataclass
class CatalogSummary:
    """Every frame of the summary (see the module docstring)."""

    tables: pd.DataFrame
    full_exports: pd.DataFrame
    offers: pd.DataFrame
    warehouses: pd.DataFrame
    prices: pd.DataFrame
    uploads: pd.DataFrame

    def count(self, table: str, column: str = "active") -> int:
        """``active`` / ``inactive`` / ``rows`` of one table."""
        row = self.tables.loc[self.tables["table"] == table, column]
        return int(row.iloc[0]) if len(row) else 0


def read_summary(store: CatalogStore) -> CatalogSummary:
    """All frames, read on one connection (on PostgreSQL one read-only REPEATABLE READ snapshot)."""
    store.ensure_schema()
    options = {"isolation_level": "REPEATABLE READ"} if store.dialect == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        return CatalogSummary(
            tables=table_counts(store, conn),
            full_exports=last_full_exports(store, conn),
            offers=offer_stock(store, conn),
            warehouses=stock_per_warehouse(store, conn),
            prices=price_stats(store, conn),
            uploads=recent_uploads(store, conn),
        )
