"""Migration 0006_media on both backends: old ``goods.images`` path lists become picture objects (the path
kept as ``source``), ``offers.images`` appears, and the downgrade gives the old shape back."""

from __future__ import annotations

import sqlalchemy as sa

from onec_pipeline.store import CatalogStore


def _images(store: CatalogStore, table: str) -> dict[str, object]:
    t = store.tables[table]
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(t.c.id, t.c.images)).all())


def _columns(store: CatalogStore, table: str) -> set[str]:
    with store.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table, schema=store.schema)}


def test_migration_0005_turns_paths_into_pictures_and_back(db_url_schema):
    from alembic import command

    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    cfg = store.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_reliability")
    goods = store.qualified("goods")
    with store.engine.begin() as conn:
        for ident, images in (
            ("p1", '\'["import_files/ab/a.jpg", "import_files/Ё/b.png"]\''),
            ("p2", "'[]'"),
            ("p3", "NULL"),
        ):
            conn.execute(
                sa.text(
                    f"INSERT INTO {goods} (id, images, data_key, upload_key, updated_at) "
                    f"VALUES ('{ident}', {images}, 'k1', 'k1', '2026-01-01 00:00:00')"
                )
            )
    assert "images" not in _columns(store, "offers")

    store.upgrade()
    assert _images(store, "goods") == {
        "p1": [
            {"media": None, "sha256": None, "size": None, "source": "import_files/ab/a.jpg", "position": 0},
            {"media": None, "sha256": None, "size": None, "source": "import_files/Ё/b.png", "position": 1},
        ],
        "p2": [],
        "p3": None,
    }
    assert "images" in _columns(store, "offers")

    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_reliability")
    assert _images(store, "goods") == {
        "p1": ["import_files/ab/a.jpg", "import_files/Ё/b.png"],
        "p2": [],
        "p3": None,
    }
    assert "images" not in _columns(store, "offers")
    store.dispose()
