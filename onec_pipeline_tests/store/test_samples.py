"""The real sample uploads through reader and store: identical tables on SQLite and PostgreSQL, replays no-op."""

from __future__ import annotations

import pytest

from onec_pipeline.commerceml import discover_upload, read_upload
from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store import CatalogStore, UploadRef
from onec_pipeline_tests.conftest import sample_uploads
from onec_pipeline_tests.store.helpers import snapshot


def _load_all(store: CatalogStore, replay: bool) -> None:
    for i, path in enumerate(sample_uploads()):
        upload = discover_upload(path)
        entities = {e for e in Entity if e not in (Entity.CUSTOMERS, Entity.ORDERS) and upload.has(e)}
        ref = UploadRef(
            key=f"20261122T{i:06d}-{i:08x}",
            exported_at=upload.exported_at,
            full={e for e in entities if upload.is_full(e)},
        )
        # unrelated catalogs: each full export replaces the previous one
        first = store.load(read_upload(upload, entities), ref, allow_mass_deactivation=True)
        assert sum(r.inserted for r in first.values()) > 0 or path.name.endswith("-early"), path.name
        if not replay:
            continue
        again = store.load(read_upload(upload, entities), ref, allow_mass_deactivation=True)
        for entity, r in again.items():
            assert (r.inserted, r.updated, r.stale, r.deactivated) == (0, 0, 0, 0), (path.name, entity)


@pytest.mark.postgres
def test_samples_load_identically_on_both_backends(samples_dir, sqlite_url, pg_schema_url):
    lite = CatalogStore(sqlite_url)
    pg = CatalogStore(pg_schema_url[0], schema=pg_schema_url[1])
    _load_all(lite, replay=False)
    _load_all(pg, replay=True)
    a, b = snapshot(lite), snapshot(pg)
    assert a["goods"] and a["offers"] and a["prices"] and a["rests"]
    assert a == b
    lite.dispose()
    pg.dispose()
