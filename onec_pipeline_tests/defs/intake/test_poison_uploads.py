"""Poison uploads between good ones: one sensor tick archives and requests the good ones, quarantines each
poison one whole with its reason and requests a ``quarantined_upload`` run that fails with that reason;
the good runs load into real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import AssetSelection, DagsterInstance, build_sensor_context, materialize

from onec_pipeline import intake
from onec_pipeline.defs.catalog.assets import catalog_assets
from onec_pipeline.defs.intake.quarantine import quarantined_upload
from onec_pipeline.defs.intake.sensors import evaluate_uploads, onec_upload_sensor
from onec_pipeline.defs.resources import CatalogDatabase, ImportProgress, UploadDirs
from onec_pipeline_tests.robustness.corpus import BY_ID, document, goods_body, offers_body


def good_upload(path: Path, when: str, name: str) -> None:
    path.mkdir(parents=True)
    (path / "import.xml").write_text(document(goods_body([("p1", name)]), when=when), "utf-8")
    (path / "offers.xml").write_text(document(offers_body([("p1", "10", "1")]), when=when), "utf-8")
    (path / ".ready").touch()


@pytest.mark.postgres
def test_poison_uploads_between_good_ones_are_quarantined_in_the_same_tick(pg_schema_url, tmp_path):
    url, schema = pg_schema_url
    incoming, archive, quarantine = tmp_path / "in", tmp_path / "archive", tmp_path / "quarantine"
    incoming.mkdir()
    good_upload(incoming / "a-good", "2026-11-20T10:00:00", "Первый")
    encrypted = BY_ID["zip-encrypted"].build(tmp_path / "build")
    os.replace(encrypted, incoming / "b-encrypted.zip")
    (incoming / "b-encrypted.zip.ready").touch()
    bad_name = incoming / "c-bad-name"
    good_upload(bad_name, "2026-11-20T10:30:00", "Имя")
    (bad_name / os.fsdecode(b"\xff\xfe.xml")).write_bytes(b"<x/>")
    truncated = incoming / "d-truncated"  # with .ready: before, archived and run, its goods committed
    good_upload(truncated, "2026-11-20T10:40:00", "Обрезанный")
    offers = truncated / "offers.xml"
    offers.write_bytes(offers.read_bytes()[:-40])
    good_upload(incoming / "e-good", "2026-11-20T11:00:00", "Второй")

    resource = UploadDirs(
        import_dir=str(incoming), archive_dir=str(archive), quarantine_dir=str(quarantine), settle_seconds=30
    )
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"upload_dirs": resource})
        result = onec_upload_sensor(context)
        keys = [k for req in result.dynamic_partitions_requests for k in req.partition_keys]
        instance.add_dynamic_partitions("uploads", keys)
        imports = [r for r in result.run_requests if r.job_name == "import_upload"]
        reports = [r for r in result.run_requests if r.job_name == "quarantined_upload"]

        # the same tick: both good uploads archived and requested, every poison one quarantined
        assert len(keys) == 2 and sorted(r.partition_key for r in imports) == sorted(keys)
        assert sorted(intake.list_archived(archive)) == sorted(keys)
        assert sorted(p.name for p in incoming.iterdir()) == []
        records = {r.name: r for r in intake.list_quarantined(quarantine)}
        assert sorted(records) == ["b-encrypted.zip", "c-bad-name", "d-truncated"]
        assert "encrypted" in records["b-encrypted.zip"].reason
        assert "not valid UTF-8" in records["c-bad-name"].reason
        assert records["d-truncated"].file == "offers.xml" and "incomplete" in records["d-truncated"].reason
        assert (Path(records["d-truncated"].path) / "import.xml").is_file()  # moved whole, nothing deleted
        assert len(reports) == 3

        # the quarantine stays visible: a run that fails with the reason
        report = next(r for r in reports if "d-truncated" in r.tags["onec/incoming"])
        failed = quarantined_upload.execute_in_process(
            run_config=report.run_config, instance=instance, raise_on_error=False
        )
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure)
        message = failure.step_failure_data.user_failure_data.description
        assert "d-truncated" in message and "offers.xml" in message and "incomplete" in message

        # the good runs load; the truncated upload's goods never reached the catalog
        resources = {
            "catalog_db": CatalogDatabase(database_url=url, db_schema=schema),
            "upload_dirs": resource,
            "progress": ImportProgress(),
        }
        for request in sorted(imports, key=lambda r: r.partition_key or ""):
            selection = AssetSelection.assets(*request.asset_selection)
            run = materialize(
                catalog_assets,
                selection=selection,
                partition_key=request.partition_key,
                instance=instance,
                resources=resources,
                tags=request.tags,
            )
            assert run.success
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = conn.execute(sa.text(f'SELECT name FROM "{schema}".goods')).scalars().all()
    engine.dispose()
    assert names == ["Второй"]


def test_the_tick_reports_files_not_imported_and_an_untrusted_export_time(tmp_path):
    incoming = tmp_path / "in"
    good_upload(incoming / "future", "2099-01-01T00:00:00", "Из будущего")
    orders = document("<Документ><Ид>o1</Ид><Номер>1</Номер></Документ>\n")
    (incoming / "future" / "orders.xml").write_text(orders, "utf-8")
    requests, keys, _cursor, notes = evaluate_uploads(
        import_dir=incoming,
        archive_dir=tmp_path / "archive",
        quarantine_dir=tmp_path / "quarantine",
        settle_seconds=30,
        cursor=None,
        known_partitions=set(),
    )
    [key] = keys
    assert [r.partition_key for r in requests] == [key] and not key.startswith("2099")
    assert any("not imported: orders.xml: order documents" in note for note in notes), notes
    assert any("2099-01-01T00:00:00" in note and "not trusted" in note for note in notes), notes
    assert intake.read_manifest(tmp_path / "archive" / key).untrusted_export_time == "2099-01-01T00:00:00"
