"""The per-upload checks of the catalog assets in import runs: blocking and non-blocking failures, and the
checks a UI materialisation of one asset runs (ephemeral instance, SQLite)."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, DagsterInstance

from onec_pipeline.defs.definitions import defs
from onec_pipeline.runs import run_import


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


IMPORT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-11-20T10:00:00">
<Классификатор><Ид>c</Ид><Наименование>К</Наименование>
<Группы><Группа><Ид>g1</Ид><Наименование>Группа</Наименование></Группа></Группы></Классификатор>
<Каталог СодержитТолькоИзменения="true"><Ид>cat</Ид><ИдКлассификатора>c</ИдКлассификатора><Наименование>К</Наименование>
<Товары>{goods}</Товары></Каталог></КоммерческаяИнформация>
"""
OFFERS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-11-20T10:00:00">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование>
<ИдКаталога>cat</ИдКаталога><ИдКлассификатора>c</ИдКлассификатора>
<ТипыЦен><ТипЦены><Ид>pt</Ид><Наименование>Розница</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>
<Предложения>{offers}</Предложения></ПакетПредложений></КоммерческаяИнформация>
"""


def _good(i: int | None) -> str:
    ident = f"<Ид>p{i}</Ид>" if i is not None else ""
    return f"<Товар>{ident}<Наименование>Товар {i}</Наименование><Группы><Ид>g1</Ид></Группы></Товар>"


def _offer(i: int, price: str) -> str:
    return (
        f"<Предложение><Ид>p{i}</Ид><Наименование>Товар {i}</Наименование>"
        f"<Цены><Цена><ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу></Цена></Цены>"
        f"<Количество>1</Количество></Предложение>"
    )


def _classic(tmp_path, name: str, goods: list[int | None], prices: dict[int, str]):
    up = tmp_path / name
    up.mkdir()
    (up / "import.xml").write_text(
        IMPORT_XML.format(goods="".join(_good(i) for i in goods)), encoding="utf-8"
    )
    offers = "".join(_offer(i, p) for i, p in prices.items())
    (up / "offers.xml").write_text(OFFERS_XML.format(offers=offers), encoding="utf-8")
    return up


def test_blocking_goods_rejects_stop_downstream_assets(instance, tmp_path):
    up = _classic(tmp_path, "garbage", goods=[1, None, None, None], prices={1: "10"})
    summary = run_import(
        up, database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}", archive_dir=tmp_path / "a", instance=instance
    )
    assert not summary.success
    checks = {c.name: c for c in summary.checks}
    assert not checks["goods_rejects"].passed and checks["goods_rejects"].severity == "ERROR"
    assert summary.assets["goods"].status == "check failed"  # its transaction committed, the check failed
    assert {summary.assets[n].status for n in ("offers", "prices", "rests")} == {"not run"}


def test_negative_price_fails_the_run_negative_stock_only_warns(instance, tmp_path):
    up = _classic(tmp_path, "neg", goods=[1, 2], prices={1: "-5", 2: "7"})
    summary = run_import(
        up, database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}", archive_dir=tmp_path / "a", instance=instance
    )
    assert not summary.success
    checks = {c.name: c for c in summary.checks}
    assert not checks["prices_not_negative"].passed and checks["prices_not_negative"].severity == "ERROR"
    assert checks["goods_rejects"].passed and summary.assets["rests"].status == "success"


def test_ui_style_materialisation_of_one_asset(instance, samples_dir, tmp_path, monkeypatch):
    """What the UI launches when an operator re-materialises one asset for one upload: the implicit asset
    job with the resources from the environment; the asset's per-upload checks run (the catalog-wide audit
    checks are checks of catalog_summary since issue 17: they no longer ride on the import assets)."""
    from dagster import AssetKey

    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    monkeypatch.setenv("ONEC_DATABASE_URL", db)
    monkeypatch.setenv("ONEC_ARCHIVE_DIR", str(tmp_path / "archive"))
    summary = run_import(samples_dir / "cml-203", instance=instance)
    assert summary.success, summary.error
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        partition_key=summary.key,
        asset_selection=[AssetKey("goods")],
        raise_on_error=False,
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("goods")
    assert mat.metadata["already_applied"].value is True  # the CLI import applied it: nothing re-read
    forced = job.execute_in_process(
        instance=instance,
        partition_key=summary.key,
        asset_selection=[AssetKey("goods")],
        run_config={"ops": {"goods": {"config": {"force": True}}}},
        raise_on_error=False,
    )
    assert forced.success
    [mat] = forced.asset_materializations_for_node("goods")
    assert mat.metadata["unchanged"].value == summary.assets["goods"].count("inserted") > 0
    checks = {
        e.event_specific_data.check_name
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert {"goods_rejects", "goods_references"} <= checks
    assert not any(name.endswith("_audit") for name in checks)
