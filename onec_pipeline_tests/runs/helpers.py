"""What the catalog tables must hold after an import, derived independently from the reader's records;
and the CLI import the tests run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.commerceml import Reject, discover_upload, read_upload
from onec_pipeline.commerceml.records import Entity
from onec_pipeline.defs.constants import ASSET_ENTITIES, CATALOG_ASSETS

# table and key of each catalog entity
TABLES: dict[Entity, tuple[str, tuple[str, ...]]] = {
    Entity.GROUPS: ("groups", ("id",)),
    Entity.PROPERTIES: ("properties", ("id",)),
    Entity.UNITS: ("units", ("id",)),
    Entity.PRICE_TYPES: ("price_types", ("id",)),
    Entity.WAREHOUSES: ("warehouses", ("id",)),
    Entity.GOODS: ("goods", ("id",)),
    Entity.OFFERS: ("offers", ("id",)),
    Entity.PRICES: ("prices", ("offer_id", "price_type_id")),
    Entity.RESTS: ("rests", ("offer_id", "warehouse_id")),
    Entity.STOCK_TOTALS: ("stock_totals", ("offer_id",)),
}
WITH_ACTIVE = {
    Entity.GROUPS,
    Entity.PROPERTIES,
    Entity.PRICE_TYPES,
    Entity.WAREHOUSES,
    Entity.GOODS,
    Entity.OFFERS,
}
CATALOG_ENTITIES = set().union(*(ASSET_ENTITIES[a] for a in CATALOG_ASSETS))


def expected_from_reader(upload_dir: Path) -> dict[Entity, dict[tuple, object]]:
    """Per entity: key -> the last record with that key (the store's dedup: last occurrence wins)."""
    upload = discover_upload(upload_dir)
    out: dict[Entity, dict[tuple, object]] = {e: {} for e in TABLES}
    for rec in read_upload(upload, CATALOG_ENTITIES):
        if isinstance(rec, Reject):
            continue
        _table, key_cols = TABLES[rec.entity]
        out[rec.entity][
            tuple(str(getattr(rec, c if c != "price_type_id" else "price_type_id")) for c in key_cols)
        ] = rec
    return out


def rows_by_key(conn, schema: str, table: str, cols: list[str]) -> dict[tuple, dict]:
    q = sa.text(f'SELECT * FROM "{schema}"."{table}"')
    result = {}
    for row in conn.execute(q).mappings():
        result[tuple(str(row[c]) for c in cols)] = dict(row)
    return result


def import_upload(path: Path, url: str, schema: str, archive: Path, *extra: str):
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(path),
            "--database-url",
            url,
            "--db-schema",
            schema,
            "--archive-dir",
            str(archive),
            *extra,
        ],
        catch_exceptions=False,
    )
    return result


def assert_tables_match_upload(url: str, schema: str, upload_dir: Path) -> dict[str, int]:
    expected = expected_from_reader(upload_dir)
    engine = sa.create_engine(url)
    counted: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            store_rejected: dict[str, set[str]] = {}
            for ent, eid in conn.execute(sa.text(f'SELECT entity, entity_id FROM "{schema}".rejects')):
                store_rejected.setdefault(ent, set()).add(eid)
            for entity, (table, key_cols) in TABLES.items():
                rows = rows_by_key(conn, schema, table, list(key_cols))
                want = expected[entity]
                rejected = store_rejected.get(entity.value, set())
                want_keys = {k for k in want if k[0] not in rejected}
                assert set(rows) == want_keys, f"{table}: DB and upload differ"
                counted[table] = len(rows)
                for key, row in rows.items():
                    rec = want[key]
                    if entity in WITH_ACTIVE:
                        assert row["is_active"] == (not rec.deleted), f"{table} {key}: is_active"
                    if entity == Entity.GOODS:
                        assert row["name"] == rec.name
                    elif entity == Entity.OFFERS:
                        assert row["product_id"] == rec.product_id
                    elif entity == Entity.GROUPS:
                        assert (row["parent_id"], row["name"]) == (rec.parent_id, rec.name)
                    elif entity == Entity.PRICES:
                        assert Decimal(row["price"]) == rec.price, f"price {key}"
                    elif entity in (Entity.RESTS, Entity.STOCK_TOTALS):
                        assert Decimal(row["quantity"]) == rec.quantity, f"{table} {key}"
            # offers.quantity mirrors the stock total of the upload (owned by the rests asset)
            totals = expected[Entity.STOCK_TOTALS]
            for (offer_id,), row in rows_by_key(conn, schema, "offers", ["id"]).items():
                want_q = totals.get((offer_id,))
                if want_q is not None and offer_id not in store_rejected.get("stock_totals", set()):
                    assert Decimal(row["quantity"]) == want_q.quantity
    finally:
        engine.dispose()
    return counted
