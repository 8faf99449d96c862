"""archive_retention and nightly_catalog_audit jobs run for real (ephemeral instance, temp dirs, SQLite),
and progress lines every 10,000 records reach the caller."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from dagster import DagsterEventType, DagsterInstance

from onec_pipeline import intake, synth
from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs
from onec_pipeline.defs.runner import run_import
from onec_pipeline_tests.intake.helpers import write_import


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def _archive(tmp_path, name: str, when: datetime, *, full: bool) -> str:
    src = tmp_path / "src" / name
    f = write_import(src / "import.xml", when=when.strftime("%Y-%m-%dT%H:%M:%S"), name=name)
    if not full:
        f.write_text(f.read_text(encoding="utf-8").replace('"false"', '"true"'), encoding="utf-8")
    return intake.archive_path(src, tmp_path / "archive").key


def test_archive_retention_job(instance, tmp_path):
    now = datetime.now()
    older_full = _archive(tmp_path, "a", now - timedelta(days=400), full=True)
    newest_full = _archive(tmp_path, "b", now - timedelta(days=200), full=True)
    old_delta = _archive(tmp_path, "c", now - timedelta(days=120), full=False)
    recent = _archive(tmp_path, "d", now - timedelta(days=3), full=False)
    keys = [older_full, newest_full, old_delta, recent]
    assert keys == sorted(keys)
    instance.add_dynamic_partitions("uploads", keys)
    job = defs.resolve_job_def("archive_retention_job")
    result = job.execute_in_process(
        instance=instance,
        resources={"upload_dirs": UploadDirs(archive_dir=str(tmp_path / "archive"), retention_days=90)},
    )
    assert result.success
    assert sorted(result.output_for_node("apply_archive_retention")) == sorted([older_full, old_delta])
    assert intake.list_archived(tmp_path / "archive") == [newest_full, recent]
    assert instance.get_dynamic_partitions("uploads") == [newest_full, recent]


def test_schedules_target_their_jobs():
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert schedules["nightly_catalog_audit"].job_name == "catalog_audit"
    assert schedules["archive_retention"].job_name == "archive_retention_job"


def test_nightly_audit_checks_the_whole_catalog(instance, samples_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    summary = run_import(
        samples_dir / "cml-203", database_url=db, archive_dir=tmp_path / "archive", instance=instance
    )
    assert summary.success, summary.error
    result = defs.resolve_job_def("catalog_audit").execute_in_process(
        instance=instance, resources={"catalog_db": CatalogDatabase(database_url=db)}
    )
    assert result.success
    evaluations = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert set(evaluations) == {
        "goods_references_audit",
        "offers_references_audit",
        "prices_references_audit",
        "rests_references_audit",
        "prices_not_negative_audit",
        "rests_not_negative_audit",
    }
    # cml-203 (CommerceML 2.03) has goods per characteristic: its offers point at plain product ids
    assert not evaluations["offers_references_audit"].passed
    assert evaluations["prices_not_negative_audit"].passed


def test_progress_every_10000_records(instance, tmp_path):
    src = tmp_path / "big"
    synth.generate_upload(src, offers=2100, warehouses=5, price_types=1, layout="package", seed=3)
    events = []
    summary = run_import(
        src,
        database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
        archive_dir=tmp_path / "archive",
        instance=instance,
        log_progress=lambda event, asset, details: events.append((event, asset, details)),
    )
    assert summary.success, summary.error
    progress = [(a, d) for e, a, d in events if e == "progress"]
    assert [(a, d["records"]) for a, d in progress] == [("rests", 10_000)]  # 2100 x 5 stock rows + warehouses
    assert progress[0][1]["rate"] > 0
    meta = summary.assets["rests"].metadata
    assert meta["records"] == 2100 * 5 + 5 and meta["inserted"] == 2100 * 5 + 5
    assert meta["rows_per_second"] > 0
    # the run log has the progress line too
    logs = instance.all_logs(summary.run_id)
    assert any("10,000 records" in (e.user_message or "") for e in logs)


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
    job with the resources from the environment; the asset's checks (incl. a subset of the audit) run."""
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
    assert {"goods_rejects", "goods_references", "goods_references_audit"} <= checks
