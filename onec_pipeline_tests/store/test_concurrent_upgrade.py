"""Several processes using a fresh SQLite catalog at once (a run's parallel steps) must not race the
migrations: the first migrates, the others wait and find the schema at head."""

from __future__ import annotations

import multiprocessing as mp


def _upgrade(url: str) -> str | None:
    from onec_pipeline.store import CatalogStore

    store = CatalogStore(url)
    try:
        return store.upgrade()
    finally:
        store.dispose()


def test_parallel_first_use_of_a_fresh_sqlite_catalog(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    with mp.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_upgrade, [url] * 4)
    assert len(set(revisions)) == 1 and revisions[0] is not None
    assert _upgrade(url) == revisions[0]
