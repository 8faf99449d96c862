"""Media: product pictures as objects, offers' pictures.

* ``goods.images`` was a JSON array of the paths 1C wrote (``["import_files/ab/x.jpg", …]``); it becomes an
  array of objects ``{"media", "sha256", "size", "source", "position"}`` (README, "Product pictures"). Existing
  rows keep their paths as ``source`` with ``media``/``sha256``/``size`` null: their files are only in the
  archived uploads, and the next upload carrying the product (or an import with ``force: true``) stores them;
* ``offers.images`` (new, same shape): 1C 3.x sends pictures per characteristic.

Downgrade turns the objects back into the array of ``source`` paths and drops ``offers.images``.

Revision ID: 0006_media
Revises: 0005_rules
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from onec_pipeline.store.schema import Json, migration_schema

revision = "0006_media"
down_revision = "0005_rules"
branch_labels = None
depends_on = None

_PG_UPGRADE = """
UPDATE {goods} SET images = (
    SELECT coalesce(jsonb_agg(jsonb_build_object('media', NULL, 'sha256', NULL, 'size', NULL,
                                                 'source', e.value, 'position', e.n - 1) ORDER BY e.n),
                    '[]'::jsonb)
    FROM jsonb_array_elements_text(images) WITH ORDINALITY AS e(value, n))
WHERE jsonb_typeof(images) = 'array' AND jsonb_array_length(images) > 0 AND jsonb_typeof(images -> 0) = 'string'
"""
_PG_DOWNGRADE = """
UPDATE {goods} SET images = (
    SELECT coalesce(jsonb_agg(e.value -> 'source' ORDER BY e.n), '[]'::jsonb)
    FROM jsonb_array_elements(images) WITH ORDINALITY AS e(value, n))
WHERE jsonb_typeof(images) = 'array' AND jsonb_array_length(images) > 0 AND jsonb_typeof(images -> 0) = 'object'
"""


def _canonical(value: Any) -> str:
    """The loader's JSON text (``store.rows``): sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _to_objects(images: list[Any]) -> list[Any]:
    return [
        {"media": None, "sha256": None, "size": None, "source": item, "position": n}
        if isinstance(item, str)
        else item
        for n, item in enumerate(images)
    ]


def _to_paths(images: list[Any]) -> list[Any]:
    return [item.get("source") if isinstance(item, dict) else item for item in images]


def _rewrite_sqlite(schema: str | None, change: Callable[[list[Any]], list[Any]]) -> None:
    """SQLite keeps JSON as text: rewrite the arrays row by row (demo and test catalogs: small)."""
    conn = op.get_bind()
    goods = sa.table("goods", sa.column("id"), sa.column("images", sa.Text), schema=schema)
    rows = conn.execute(sa.select(goods.c.id, goods.c.images).where(goods.c.images.is_not(None))).all()
    for ident, text in rows:
        try:
            images = json.loads(text)
        except ValueError:
            continue
        if isinstance(images, list) and images:
            conn.execute(goods.update().where(goods.c.id == ident).values(images=_canonical(change(images))))


def _goods(schema: str | None) -> str:
    prep = op.get_bind().dialect.identifier_preparer
    return f"{prep.quote_schema(schema)}.{prep.quote('goods')}" if schema else prep.quote("goods")


def upgrade() -> None:
    schema = migration_schema()
    op.add_column("offers", sa.Column("images", Json()), schema=schema)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_UPGRADE.format(goods=_goods(schema)))
    else:
        _rewrite_sqlite(schema, _to_objects)


def downgrade() -> None:
    schema = migration_schema()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_DOWNGRADE.format(goods=_goods(schema)))
    else:
        _rewrite_sqlite(schema, _to_paths)
    with op.batch_alter_table("offers", schema=schema) as batch:
        batch.drop_column("images")
