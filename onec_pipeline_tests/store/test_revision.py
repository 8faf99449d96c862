"""The catalog's head check without Alembic (``store.revision``): it agrees with Alembic's own head, a fresh
or older catalog is migrated, a catalog at head is recognised without running Alembic."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from onec_pipeline.store import CatalogStore
from onec_pipeline.store.catalog import MIGRATIONS_DIR
from onec_pipeline.store.revision import at_head, head_revision

VERSIONS = MIGRATIONS_DIR / "versions"


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision(VERSIONS) == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def test_two_heads_or_an_unreadable_script_leave_it_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    assert head_revision(tmp_path) == "b"
    head_revision.cache_clear()
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')  # a branch: heads b and c
    assert head_revision(tmp_path) is None
    head_revision.cache_clear()
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("b", "x")\n')  # a merge
    assert head_revision(tmp_path) == "c"
    head_revision.cache_clear()
    (tmp_path / "d.py").write_text("revision = make_one()\n")
    assert head_revision(tmp_path) is None
    head_revision.cache_clear()


def test_ensure_schema_migrates_only_a_catalog_below_head(db_url_schema, monkeypatch) -> None:
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    try:
        assert not at_head(store.engine, store.schema, VERSIONS)  # nothing there yet
        store.ensure_schema()
        assert at_head(store.engine, store.schema, VERSIONS)

        upgrades: list[str] = []

        def counted(self: CatalogStore) -> str | None:  # stands in for Alembic: records that it ran
            upgrades.append("upgrade")
            return None

        monkeypatch.setattr(CatalogStore, "upgrade", counted)
        CatalogStore(url, schema=schema).ensure_schema()  # at head: one query, no Alembic
        assert upgrades == []

        version = sa.table("alembic_version", sa.column("version_num"), schema=store.schema)
        with store.engine.begin() as conn:  # as if the code were newer than the catalog
            conn.execute(sa.update(version).values(version_num="0003_applied_uploads"))
        assert not at_head(store.engine, store.schema, VERSIONS)
        CatalogStore(url, schema=schema).ensure_schema()  # below head: Alembic migrates
        assert upgrades == ["upgrade"]
    finally:
        store.dispose()
