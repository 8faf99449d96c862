"""1C's catalog exchange replayed against the served endpoint, through the real sensor and real runs into
PostgreSQL (FORMAT.md §11: the classic two-session flow, a zip with a split package, chunked files)."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from datetime import datetime

import pytest
import sqlalchemy as sa
from dagster import DagsterRunStatus

from onec_pipeline import intake, synth
from onec_pipeline.store.load_lock import load_lock_key

from .harness import OneC, make_config, serve

EXPORTED = datetime(2026, 11, 20, 10, 15)


@pytest.fixture
def classic(tmp_path):
    """A classic 1C upload (import.xml + offers.xml), generated."""
    out = tmp_path / "classic"
    written = synth.generate_upload(out, offers=120, layout="classic", seed=7, exported_at=EXPORTED)
    return out, written.counts


def _import_until_done(onec, dagster, filename: str) -> list[str]:
    """1C's import loop: ask, and while the answer is progress let the sensor tick and the queued runs run;
    returns every answer's first two lines."""
    answers = []
    for _ in range(20):
        lines = onec.get("import", filename=filename)
        answers.append(lines[:2])
        if lines[0] != "progress":
            return answers
        if not dagster.tick() and dagster.queued:
            dagster.run_next()
    raise AssertionError(f"no final answer: {answers}")


def test_classic_flow_two_sessions_applied_in_order(onec, dagster, catalog, classic):
    src, expected = classic
    # session 1: checkauth (twice, as 1C does), init, file import.xml, import
    assert onec.checkauth()[0] == "success"
    settings = onec.session()
    assert settings["zip"] in ("yes", "no") and int(settings["file_limit"]) > 0
    assert onec.file("import.xml", (src / "import.xml").read_bytes())[0] == "success"
    first = onec.get("import", filename="import.xml")
    assert first[0] == "progress" and "waiting for the upload sensor" in first[1]
    [request] = dagster.tick()
    assert request.asset_selection  # the goods of import.xml
    queued = onec.get("import", filename="import.xml")
    assert queued[0] == "progress" and "queued" in queued[1], queued
    assert dagster.run_next() == DagsterRunStatus.SUCCESS
    assert onec.get("import", filename="import.xml")[0] == "success"
    goods = catalog.counts()["goods"]
    assert goods == expected["goods"]

    # session 2: a new checkauth/init, file offers.xml, import
    onec.session()
    assert onec.file("offers.xml", (src / "offers.xml").read_bytes())[0] == "success"
    answers = _import_until_done(onec, dagster, "offers.xml")
    assert answers[-1][0] == "success", answers
    counts = catalog.counts()
    assert counts["offers"] == expected["offers"] and counts["prices"] == expected["prices"]
    assert counts["goods"] == goods
    assert len(catalog.counts()) and dagster.instance.get_runs_count() == 2


@pytest.fixture
def package(tmp_path):
    """A UT 11 split package in sub-folders (classifier, goods, offer classifier, offers, prices, rests over
    two files each), generated."""
    out = tmp_path / "package"
    written = synth.generate_upload(
        out, offers=160, layout="package", seed=11, files_per_kind=2, subfolders=True, exported_at=EXPORTED
    )
    return out, written


def _zip(src, paths) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.relative_to(src).as_posix())
    return buffer.getvalue()


def test_one_zip_with_a_split_package_in_chunks_one_import_per_xml(dirs, instance, dagster, catalog, package):
    src, written = package
    body = _zip(src, written)
    limit = 8 * 1024
    assert len(body) > 3 * limit  # several POSTs of the same name, appended
    for server in serve(make_config(dirs, file_limit=limit), instance):
        onec = OneC(server.url)
        settings = onec.session()
        assert settings["zip"] == "yes" and settings["file_limit"] == str(limit)
        onec.send("v8_1065_3a.zip", body, limit)
        xml_names = [p.relative_to(src).as_posix() for p in written]
        answers = _import_until_done(onec, dagster, xml_names[0])  # the first import closes the upload
        assert answers[0][0] == "progress" and answers[-1][0] == "success", answers
        for name in xml_names[1:]:  # 1C's import per XML file: all answered from the one run
            assert onec.get("import", filename=name)[0] == "success"
    assert dagster.instance.get_runs_count() == 1
    counts = catalog.counts()
    for entity in ("goods", "offers", "prices", "rests"):
        assert counts[entity] == written.counts[entity], entity
    [archived] = intake.list_archived(dirs.archive)
    names = {f.name for f in intake.read_manifest(dirs.archive / archived).files}
    assert names == {p.relative_to(src).as_posix() for p in written}  # the zip's sub-paths kept


def test_a_file_in_several_chunks(dirs, instance, dagster, catalog, classic):
    src, expected = classic
    body = (src / "import.xml").read_bytes()
    limit = 8 * 1024
    assert len(body) > 2 * limit
    for server in serve(make_config(dirs, file_limit=limit, zip=False), instance):
        onec = OneC(server.url)
        assert onec.session()["zip"] == "no"
        onec.send("import.xml", body, limit)
        assert _import_until_done(onec, dagster, "import.xml")[-1][0] == "success"
    [key] = intake.list_archived(dirs.archive)
    assert (dirs.archive / key / "import.xml").read_bytes() == body
    assert catalog.counts()["goods"] == expected["goods"]


def test_progress_while_the_run_waits_and_runs(onec, dagster, catalog, classic, pg_schema_url):
    """The run is queued, then running (held at the load lock by another writer: this test), then done."""
    src, expected = classic
    onec.session()
    onec.file("import.xml", (src / "import.xml").read_bytes())
    assert "waiting for the upload sensor" in onec.get("import", filename="import.xml")[1]
    dagster.tick()
    assert "import queued" in onec.get("import", filename="import.xml")[1]
    url, schema = pg_schema_url
    engine = sa.create_engine(url)
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": load_lock_key(schema)})
        worker = threading.Thread(target=dagster.run_next)
        worker.start()
        seen = []
        for _ in range(600):  # until a running step is reported; the run cannot finish while we hold the lock
            answer = onec.get("import", filename="import.xml")
            seen.append(answer[1])
            if answer[0] == "progress" and "importing:" in answer[1]:
                break
            time.sleep(0.1)
        holder.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": load_lock_key(schema)})
        holder.commit()
    worker.join(timeout=300)
    engine.dispose()
    assert answer[0] == "progress" and "importing: groups" in answer[1], seen
    assert onec.get("import", filename="import.xml")[0] == "success"
    assert catalog.counts()["goods"] == expected["goods"]


def test_a_broken_upload_ends_in_failure_with_its_reason(onec, dagster, catalog):
    broken = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-11-20T10:15:00">\n'
        '<Каталог СодержитТолькоИзменения="false"><Ид>c1</Ид><Наименование>К</Наименование><Товары>\n'
        "<Товар><Ид>g1</Ид><Наименование>Один</Наименование></Товар>\n"
        "<Товар><Ид>g2</Ид><Наименование>Два</Наименование></Товр>\n"
        "</Товары></Каталог>\n</КоммерческаяИнформация>\n"
    )
    onec.session()
    onec.file("import.xml", broken.encode())
    answers = _import_until_done(onec, dagster, "import.xml")
    status, reason = answers[-1]
    assert status == "failure", answers
    assert "import.xml" in reason and "line 5" in reason, reason
    assert onec.get("import", filename="import.xml") == ["failure", reason]  # asked again: the same
    assert catalog.counts()["goods"] == 0


def test_a_quarantined_upload_ends_in_failure_with_the_reason(onec, dirs, classic):
    src, _ = classic
    onec.session()
    onec.file("import.xml", (src / "import.xml").read_bytes())
    assert onec.get("import", filename="import.xml")[0] == "progress"
    # what the intake does with an upload it cannot take (its sensor moves it to the quarantine)
    [upload] = intake.scan_incoming(dirs.incoming)
    intake.quarantine_upload(upload, dirs.quarantine, "undecodable file name", file="import.xml")
    answer = onec.get("import", filename="import.xml")
    assert answer[0] == "failure" and "quarantined" in answer[1] and "undecodable file name" in answer[1]


def test_a_hostile_zip_is_refused_and_quarantined(onec, dirs):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.xml", "<x/>")
    onec.session()
    assert onec.file("upload.zip", buffer.getvalue())[0] == "success"
    answer = onec.get("import", filename="import.xml")
    assert answer[0] == "failure" and "escaping the archive" in answer[1], answer
    assert [p.name for p in dirs.incoming.iterdir()] == [".exchange"]  # nothing for the sensor
    [record] = intake.list_quarantined(dirs.quarantine)
    assert "escaping the archive" in record.reason
    assert not (dirs.root / "escape.xml").exists() and not (dirs.incoming / "escape.xml").exists()
