"""The media files the catalog references: what the archive retention must keep (``onec_pipeline.media``).

``goods.images`` and ``offers.images`` hold arrays of ``{"media", "sha256", "size", "source", "position"}``
(README, "Product pictures"); an active row's ``media`` paths are referenced. Rows deactivated by a full
export or marked deleted in 1C do not keep their files: once the retention period has passed since the last
upload that named a file, the file goes.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.tables import metadata, table_in

#: the catalog tables whose ``images`` column names media files
PICTURE_TABLES = ("goods", "offers")
_BATCH = 5_000


def referenced_media(conn: sa.Connection, *, schema: str | None) -> set[str]:
    """Media paths named by the active rows of ``PICTURE_TABLES`` (run it on the load lock's connection,
    ``CatalogStore.locked_connection``, so that no load commits new references meanwhile)."""
    return {media for _, media in _named_pictures(conn, schema)}


def stored_pictures(store: CatalogStore) -> dict[str, str]:
    """The path 1C wrote (``source``) -> ``media`` of the stored pictures active rows name: what a product
    re-sent without its picture files keeps (``media.PicturePublisher``)."""
    with store.engine.connect() as conn:
        return {source: media for source, media in _named_pictures(conn, store.schema) if source}


#: PostgreSQL unpacks the arrays itself: (source, media) of every picture with a media path
_PG_PICTURES = """
SELECT e.value ->> 'source', e.value ->> 'media'
FROM {table} AS t, jsonb_array_elements(t.images) AS e(value)
WHERE t.is_active AND jsonb_typeof(t.images) = 'array' AND jsonb_typeof(e.value -> 'media') = 'string'
"""


def _named_pictures(conn: sa.Connection, schema: str | None) -> Iterator[tuple[str | None, str]]:
    """(source, media) of every stored picture the active rows of ``PICTURE_TABLES`` name."""
    streamed = conn.execution_options(stream_results=True, max_row_buffer=_BATCH)
    if conn.dialect.name == "postgresql":
        prep = conn.dialect.identifier_preparer
        for name in PICTURE_TABLES:
            qualified = f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)
            yield from streamed.execute(sa.text(_PG_PICTURES.format(table=qualified))).tuples()
        return
    md = metadata(None if conn.dialect.name == "sqlite" else schema)
    for name in PICTURE_TABLES:
        table = table_in(md, name)
        query = sa.select(table.c.images).where(table.c.is_active, table.c.images.is_not(None))
        for (images,) in streamed.execute(query):
            for item in images if isinstance(images, list) else ():
                if isinstance(item, dict) and isinstance(item.get("media"), str):
                    source = item.get("source")
                    yield (source if isinstance(source, str) else None), item["media"]
