"""``onec-pipeline db apply-rules``: the shop's rules over the whole catalog from the command line (SQLite)."""

from __future__ import annotations

from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.store import CatalogStore
from onec_pipeline_tests.store.helpers import group, product, ref, row


def test_apply_rules_after_changing_the_roots(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    store = CatalogStore(url)
    store.load([group("sport", "СПОРТ"), group("home", "Дом"), product("a", group_ids=["home"])], ref(1))
    assert row(store, "goods", id="a")["admitted"] is True
    monkeypatch.setenv("ONEC_CATALOG_ROOTS", "СПОРТ;Нет такой")
    runner = CliRunner()
    dry = runner.invoke(main, ["db", "apply-rules", "--database-url", url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would change" in dry.output and "Нет такой" in dry.output
    assert row(store, "goods", id="a")["admitted"] is True
    done = runner.invoke(main, ["db", "apply-rules", "--database-url", url])
    assert done.exit_code == 0, done.output
    assert "goods not admitted: outside ONEC_CATALOG_ROOTS: 1" in done.output
    assert row(store, "goods", id="a")["admission_reason"] == "outside ONEC_CATALOG_ROOTS"
    store.dispose()
