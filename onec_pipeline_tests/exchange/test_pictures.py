"""Pictures sent over the exchange: 1C's classic session (checkauth, init, file import.xml, file
import_files/…, import) against the served endpoint, the real sensor and run, into the media store and
PostgreSQL."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from dagster import DagsterRunStatus

from onec_pipeline_tests.media.images import jpeg, png

IMPORT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-11-20T10:00:00">
<Классификатор><Ид>c</Ид><Наименование>К</Наименование>
<Группы><Группа><Ид>g1</Ид><Наименование>Группа</Наименование></Группа></Группы></Классификатор>
<Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>c</ИдКлассификатора>
<Наименование>К</Наименование><Товары>
<Товар><Ид>p1</Ид><Наименование>Стул</Наименование><Группы><Ид>g1</Ид></Группы>
<Картинка>import_files/5c/p1_a.jpg</Картинка><Картинка>import_files/77/shared.png</Картинка></Товар>
<Товар><Ид>p2</Ид><Наименование>Стол</Наименование><Группы><Ид>g1</Ид></Группы>
<Картинка>import_files/77/shared.png</Картинка></Товар>
</Товары></Каталог></КоммерческаяИнформация>
"""
A_JPG, SHARED_PNG = jpeg(21), png((9, 99, 199))


def _media(data: bytes, ext: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


def test_pictures_sent_with_mode_file_end_in_the_media_store(onec, dagster, catalog, tmp_path, monkeypatch):
    media = tmp_path / "media"
    monkeypatch.setenv("ONEC_MEDIA_DIR", str(media))  # the run executes in this process
    onec.session()
    assert onec.file("import.xml", IMPORT_XML.encode("utf-8"))[0] == "success"
    assert onec.file("import_files/5c/p1_a.jpg", A_JPG)[0] == "success"
    onec.send("import_files/77/shared.png", SHARED_PNG, limit=100)  # in chunks, as above file_limit
    assert onec.get("import", filename="import.xml")[0] == "progress"
    assert dagster.tick()
    assert dagster.run_next() == DagsterRunStatus.SUCCESS
    assert onec.get("import", filename="import.xml")[0] == "success"

    stored = {str(p.relative_to(media)): p.read_bytes() for p in media.rglob("*") if p.is_file()}
    assert stored == {_media(A_JPG, "jpg"): A_JPG, _media(SHARED_PNG, "png"): SHARED_PNG}
    goods = catalog.tables["goods"]
    with catalog.engine.connect() as conn:
        images = dict(conn.execute(sa.select(goods.c.id, goods.c.images)).all())
    assert [(p["media"], p["source"]) for p in images["p1"]] == [
        (_media(A_JPG, "jpg"), "import_files/5c/p1_a.jpg"),
        (_media(SHARED_PNG, "png"), "import_files/77/shared.png"),
    ]
    assert [p["media"] for p in images["p2"]] == [_media(SHARED_PNG, "png")]
