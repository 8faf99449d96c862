"""Read-only queries over the catalog for checks and audits: orphans, rejects, negatives, deactivations.

The Dagster checks (``defs``) decide what is a warning or an error; the SQL lives here. ``key`` None means
the whole catalog (the nightly audit), else the rows written by that upload (``data_key``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from onec_pipeline.store import customers as customer_store
from onec_pipeline.store.catalog import CatalogStore

SAMPLE = 10


@dataclass(frozen=True)
class Reference:
    """``child.column`` must name an existing ``parent.id``."""

    child: str
    column: str
    parent: str


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "goods": (Reference("goods", "group_id", "groups"),),
    "offers": (Reference("offers", "product_id", "goods"),),
    "prices": (
        Reference("prices", "offer_id", "offers"),
        Reference("prices", "price_type_id", "price_types"),
    ),
    "rests": (Reference("rests", "offer_id", "offers"), Reference("rests", "warehouse_id", "warehouses")),
}


def _active_filter(table: sa.Table):
    return table.c.is_active.is_(True) if "is_active" in table.c else sa.true()


def orphans(store: CatalogStore, ref: Reference, key: str | None) -> tuple[int, list[str]]:
    """Rows of ``ref.child`` (written by upload ``key``, or all when None) whose reference is missing."""
    child, parent = store.tables[ref.child], store.tables[ref.parent]
    col = child.c[ref.column]
    cond = sa.and_(
        col.is_not(None),
        _active_filter(child),
        ~sa.exists().where(parent.c.id == col),
    )
    if key is not None:
        cond = sa.and_(cond, child.c.data_key == key)
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":  # room for the anti-join's hash of the parent table's keys
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        count = conn.execute(sa.select(sa.func.count()).select_from(child).where(cond)).scalar_one()
        # the sample costs a second scan: only when there is something to show
        sample = (
            conn.execute(sa.select(col).where(cond).distinct().limit(SAMPLE)).scalars().all() if count else []
        )
    return int(count), [str(s) for s in sample]


def reject_count(store: CatalogStore, key: str, entities: Iterable[Any]) -> int:
    rejects = store.tables["rejects"]
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(rejects)
                .where(rejects.c.upload == key, rejects.c.entity.in_([str(e) for e in entities]))
            ).scalar_one()
        )


def rejected_records(store: CatalogStore, key: str, entities: Iterable[Any], table: str) -> int:
    """Rejects of upload ``key`` whose record did not load: no row of ``table`` written by that upload has
    its id (a product whose picture was refused is rejected *and* loaded: it does not count here)."""
    rejects = store.tables["rejects"]
    target = store.tables[table]
    loaded = sa.exists().where(target.c.id == rejects.c.entity_id, target.c.data_key == key)
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(rejects)
                .where(rejects.c.upload == key, rejects.c.entity.in_([str(e) for e in entities]), ~loaded)
            ).scalar_one()
        )


def written_count(store: CatalogStore, table: str, key: str) -> int:
    target = store.tables[table]
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(target).where(target.c.data_key == key)
            ).scalar_one()
        )


def table_rows(store: CatalogStore, table: str) -> int:
    """Rows of ``table`` (only the active ones when it has deletion marks)."""
    target = store.tables[table]
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(target).where(_active_filter(target))
        return int(conn.execute(query).scalar_one())


def negative_count(store: CatalogStore, table: str, column: str, key: str | None) -> tuple[int, list[str]]:
    target = store.tables[table]
    cond = target.c[column] < 0
    if key is not None:
        cond = sa.and_(cond, target.c.data_key == key)
    with store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(target).where(cond)).scalar_one()
        sample = (
            conn.execute(sa.select(target.c.offer_id).where(cond).limit(SAMPLE)).scalars().all()
            if count
            else []
        )
    return int(count), [str(s) for s in sample]


def deactivated_share(store: CatalogStore, table: str, key: str) -> tuple[int, int]:
    """(rows deactivated by upload ``key`` as a full export, rows in the table)."""
    target = store.tables[table]
    with store.engine.connect() as conn:
        deactivated = conn.execute(
            sa.select(sa.func.count())
            .select_from(target)
            .where(target.c.upload_key == key, target.c.data_key != key, target.c.is_active.is_(False))
        ).scalar_one()
        total = conn.execute(sa.select(sa.func.count()).select_from(target)).scalar_one()
    return int(deactivated), int(total)


def catalog_is_empty(store: CatalogStore) -> bool:
    """No goods and no offers stored (active or not). Two EXISTS probes: cheap on a catalog of millions."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        for name in ("goods", "offers"):
            table = store.tables[name]
            if conn.execute(sa.select(sa.exists().select_from(table))).scalar():
                return False
    return True


def open_customer_conflicts(store: CatalogStore) -> list[dict[str, Any]]:
    """Open customer conflicts waiting for review (oldest first)."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        return customer_store.open_conflicts(conn, store.schema)


def duplicate_active_emails(store: CatalogStore) -> list[dict[str, Any]]:
    """E-mails held by more than one active customer, with the customer ids."""
    store.ensure_schema()
    with store.engine.connect() as conn:
        return customer_store.duplicate_active_emails(conn, store.schema)
