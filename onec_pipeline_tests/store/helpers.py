"""Helpers shared by the store tests: record factories, upload refs and table snapshots."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity, Group, Offer, Price, Product, Stock, StockTotal
from onec_pipeline.store import CatalogStore, UploadRef
from onec_pipeline.store.tables import BOOKKEEPING_TABLES, CATALOG_TABLES

#: Wall-clock (and surrogate) columns that legitimately differ between equivalent histories.
WALL_CLOCK = {"updated_at", "created_at", "recorded_at", "first_loaded_at", "loaded_at", "applied_at"}


def key(n: int) -> str:
    """Upload key number ``n``: keys sort like ``n`` (YYYYMMDDTHHMMSS-<hash8>)."""
    return f"202611{n // 24 + 1:02d}T{n % 24:02d}0000-{n:08x}"


def ref(n: int, *full: Entity) -> UploadRef:
    return UploadRef(key=key(n), exported_at=datetime(2026, 11, n // 24 + 1, n % 24), full=set(full))


def product(pid: str, name: str = "name", **kw) -> Product:
    return Product(id=pid, name=name, **kw)


def offer(oid: str, name: str | None = None, **kw) -> Offer:
    product_id, _, char = oid.partition("#")
    return Offer(id=oid, product_id=product_id, characteristic_id=char or None, name=name or oid, **kw)


def price(oid: str, value, pt: str = "pt1", **kw) -> Price:
    return Price(offer_id=oid, price_type_id=pt, price=Decimal(str(value)), **kw)


def stock(oid: str, wh: str, qty) -> Stock:
    return Stock(offer_id=oid, warehouse_id=wh, quantity=Decimal(str(qty)))


def total(oid: str, qty) -> StockTotal:
    return StockTotal(offer_id=oid, quantity=Decimal(str(qty)))


def group(gid: str, name: str = "group", **kw) -> Group:
    return Group(id=gid, name=name, **kw)


def rows(store: CatalogStore, table: str, *columns: str) -> list[tuple]:
    """Rows of ``table`` (selected columns, or all) sorted by their text form."""
    t = store.tables[table]
    cols = [t.c[c] for c in columns] if columns else list(t.c)
    with store.engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(sa.select(*cols))), key=repr)


def row(store: CatalogStore, table: str, **where) -> dict | None:
    t = store.tables[table]
    cond = sa.and_(*(t.c[k] == v for k, v in where.items()))
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(t).where(cond)).mappings().first()
    return dict(found) if found is not None else None


def snapshot(store: CatalogStore) -> dict[str, list[tuple]]:
    """Every catalog and bookkeeping table minus wall-clock columns and the rejects' serial id."""
    out = {}
    for name in CATALOG_TABLES + BOOKKEEPING_TABLES:
        t = store.tables[name]
        cols = [
            c.name for c in t.c if c.name not in WALL_CLOCK and not (name == "rejects" and c.name == "id")
        ]
        out[name] = rows(store, name, *cols)
    return out


def wipe(store: CatalogStore) -> None:
    store.ensure_schema()
    with store.engine.begin() as conn:
        for name in CATALOG_TABLES + BOOKKEEPING_TABLES:
            conn.execute(store.tables[name].delete())
