"""Which media files the catalog references, on both backends: active goods and offers rows only, pictures
without a media path ignored."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from onec_pipeline.store import CatalogStore
from onec_pipeline.store.media import referenced_media, stored_pictures


def _picture(source: str, media: str | None) -> dict:
    return {"media": media, "sha256": None, "size": None, "source": source, "position": 0}


def test_active_rows_reference_their_media(db_url_schema):
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    store.upgrade()
    version = {"data_key": "k", "upload_key": "k", "updated_at": datetime(2026, 12, 1), "is_active": True}
    goods, offers = store.tables["goods"], store.tables["offers"]
    with store.engine.begin() as conn:
        conn.execute(
            goods.insert(),
            [
                {
                    "id": "a",
                    "images": [_picture("i/a.jpg", "aa/a.jpg"), _picture("i/gone.jpg", None)],
                    **version,
                },
                {"id": "b", "images": [_picture("i/b.png", "bb/b.png")], **version, "is_active": False},
                {"id": "c", "images": None, **version},  # JSON null
                {"id": "e", "images": sa.null(), **version},  # SQL NULL
                {"id": "d", "images": [], **version},
            ],
        )
        conn.execute(
            offers.insert(),
            [{"id": "a#1", "product_id": "a", "images": [_picture("i/c.png", "cc/c.png")], **version}],
        )
    with store.engine.connect() as conn:
        assert referenced_media(conn, schema=store.schema) == {"aa/a.jpg", "cc/c.png"}
    assert stored_pictures(store) == {"i/a.jpg": "aa/a.jpg", "i/c.png": "cc/c.png"}
    assert json.dumps(sorted(stored_pictures(store)))  # plain strings
    store.dispose()
