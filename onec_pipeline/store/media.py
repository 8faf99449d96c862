"""The media files the catalog references: what the archive retention must keep (``onec_pipeline.media``).

``goods.images`` and ``offers.images`` hold arrays of ``{"media", "sha256", "size", "source", "position"}``
(README, "Product pictures"); an active row's ``media`` paths are referenced. Rows deactivated by a full
export or marked deleted in 1C do not keep their files: once the retention period has passed since the last
upload that named a file, the file goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.tables import metadata, table_in

#: the catalog tables whose ``images`` column names media files
PICTURE_TABLES = ("goods", "offers")
_BATCH = 5_000


def referenced_media(conn: sa.Connection, *, schema: str | None) -> set[str]:
    """Media paths named by the active rows of ``PICTURE_TABLES`` (run it on the load lock's connection,
    ``CatalogStore.locked_connection``, so that no load commits new references meanwhile)."""
    md = metadata(None if conn.dialect.name == "sqlite" else schema)
    out: set[str] = set()
    for name in PICTURE_TABLES:
        table = table_in(md, name)
        query = sa.select(table.c.images).where(table.c.is_active, table.c.images.is_not(None))
        result = conn.execution_options(stream_results=True, max_row_buffer=_BATCH).execute(query)
        for (images,) in result:
            out.update(_media_of(images))
    return out


def stored_pictures(store: CatalogStore) -> dict[str, str]:
    """The path 1C wrote (``source``) -> ``media`` of the stored pictures active rows name: what a product
    re-sent without its picture files keeps (``media.PicturePublisher``)."""
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for name in PICTURE_TABLES:
            table = store.tables[name]
            query = sa.select(table.c.images).where(table.c.is_active, table.c.images.is_not(None))
            for (images,) in conn.execution_options(stream_results=True, max_row_buffer=_BATCH).execute(
                query
            ):
                for item in images if isinstance(images, list) else ():
                    if isinstance(item, dict) and isinstance(item.get("media"), str):
                        source = item.get("source")
                        if isinstance(source, str):
                            out[source] = item["media"]
    return out


def _media_of(images: Any) -> Iterable[str]:
    if not isinstance(images, list):
        return ()
    return [item["media"] for item in images if isinstance(item, dict) and isinstance(item.get("media"), str)]
