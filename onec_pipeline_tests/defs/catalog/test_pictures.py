"""Product pictures end to end on real PostgreSQL: generated uploads with real small JPEG/PNG files go through
``run_import`` (archive, Dagster assets, checks) into the media store; dry runs, replays, hostile pictures
and ``archive_retention`` with a zero retention period."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from onec_pipeline.cli.import_cmd import pictures_lines
from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs
from onec_pipeline.runs import run_import
from onec_pipeline.store import CatalogStore
from onec_pipeline_tests.media.images import jpeg, png, write

pytestmark = pytest.mark.postgres

IMPORT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="{when}">
<Классификатор><Ид>c</Ид><Наименование>К</Наименование>
<Группы><Группа><Ид>g1</Ид><Наименование>Группа</Наименование></Группа></Группы></Классификатор>
<Каталог СодержитТолькоИзменения="true"><Ид>cat</Ид><ИдКлассификатора>c</ИдКлассификатора><Наименование>К</Наименование>
<Товары>{goods}</Товары></Каталог></КоммерческаяИнформация>
"""
OFFERS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="{when}">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование>
<ИдКаталога>cat</ИдКаталога><ИдКлассификатора>c</ИдКлассификатора>
<ТипыЦен><ТипЦены><Ид>pt</Ид><Наименование>Розница</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>
<Предложения>{offers}</Предложения></ПакетПредложений></КоммерческаяИнформация>
"""

A_JPG = jpeg(5)
SHARED_PNG = png((10, 120, 40))
C1_PNG = png((0, 0, 255))
B_JPG = jpeg(11)
NEW_PNG = png((250, 250, 0))
CAP = 3000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _media(data: bytes, ext: str) -> str:
    digest = _sha(data)
    return f"{digest[:2]}/{digest}.{ext}"


def _product(ident: str, pictures: list[str]) -> str:
    tags = "".join(f"<Картинка>{p}</Картинка>" for p in pictures)
    return f"<Товар><Ид>{ident}</Ид><Наименование>Товар {ident}</Наименование><Группы><Ид>g1</Ид></Группы>{tags}</Товар>"


def _offer(ident: str, pictures: list[str] = ()) -> str:
    tags = "".join(f"<Картинка>{p}</Картинка>" for p in pictures)
    return (
        f"<Предложение><Ид>{ident}</Ид><Наименование>Предложение {ident}</Наименование>{tags}"
        "<Цены><Цена><ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены>"
        "<Количество>1</Количество></Предложение>"
    )


def _upload(
    root: Path, when: str, goods: dict[str, list[str]], offers: dict[str, list[str]], files: dict
) -> Path:
    root.mkdir(parents=True)
    products = "".join(_product(i, p) for i, p in goods.items())
    (root / "import.xml").write_text(IMPORT_XML.format(when=when, goods=products), encoding="utf-8")
    lines = "".join(_offer(i, p) for i, p in offers.items())
    (root / "offers.xml").write_text(OFFERS_XML.format(when=when, offers=lines), encoding="utf-8")
    for name, data in files.items():
        write(root / name, data)
    return root


def _first_upload(tmp_path: Path) -> Path:
    return _upload(
        tmp_path / "src" / "first",
        "2026-11-20T10:00:00",
        goods={
            "p1": ["import_files/ab/a.jpg", "import_files/sh/shared.png"],
            "p2": ["import_files/sh/shared.png", "import_files/zz/missing.jpg"],
            "p3": [
                "../../etc/passwd.jpg",
                "/etc/hostname.jpg",
                "import_files/fake.jpg",
                "import_files/huge.png",
                "import_files/run.php",
                "import_files/ab/a.jpg",
            ],
        },
        offers={"p1#c1": ["import_files/c1/c1.png"], "p2": []},
        files={
            "import_files/ab/a.jpg": A_JPG,
            "import_files/sh/shared.png": SHARED_PNG,
            "import_files/c1/c1.png": C1_PNG,
            "import_files/fake.jpg": b"<?php system($_GET['c']); ?>",
            "import_files/huge.png": SHARED_PNG + b"\x00" * (CAP + 1),
            "import_files/run.php": SHARED_PNG,
        },
    )


def _second_upload(tmp_path: Path) -> Path:
    """A day later: p1 has a new picture instead of a.jpg; p3 no longer lists a.jpg either."""
    return _upload(
        tmp_path / "src" / "second",
        "2026-11-21T10:00:00",
        goods={"p1": ["import_files/bb/b.jpg", "import_files/sh/shared.png"], "p3": []},
        offers={},
        files={"import_files/bb/b.jpg": B_JPG, "import_files/sh/shared.png": SHARED_PNG},
    )


def _snapshot(media: Path) -> dict[str, bytes]:
    return {str(p.relative_to(media)): p.read_bytes() for p in sorted(media.rglob("*")) if p.is_file()}


def _images(store: CatalogStore, table: str) -> dict[str, list[dict]]:
    t = store.tables[table]
    with store.engine.connect() as conn:
        return {ident: images for ident, images in conn.execute(sa.select(t.c.id, t.c.images))}


def _rejects(store: CatalogStore, key: str) -> list[tuple[str, str, str]]:
    t = store.tables["rejects"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.entity, t.c.entity_id, t.c.reason).where(t.c.upload == key))
        return sorted(tuple(r) for r in rows)


@pytest.fixture
def env(tmp_path, monkeypatch, pg_schema_url):
    media = tmp_path / "media"
    monkeypatch.setenv("ONEC_MEDIA_DIR", str(media))
    monkeypatch.setenv("ONEC_MEDIA_MAX_BYTES", str(CAP))
    url, schema = pg_schema_url
    store = CatalogStore(url, schema=schema)
    with DagsterInstance.ephemeral() as instance:
        yield {
            "media": media,
            "archive": tmp_path / "archive",
            "url": url,
            "schema": schema,
            "instance": instance,
            "store": store,
        }
    store.dispose()


def _run(env, path: Path, **kwargs):
    summary = run_import(
        path,
        database_url=env["url"],
        db_schema=env["schema"],
        archive_dir=env["archive"],
        instance=env["instance"],
        **kwargs,
    )
    assert summary.success, summary.error
    return summary


def test_pictures_land_once_and_the_rows_point_at_them(env, tmp_path):
    summary = _run(env, _first_upload(tmp_path))
    media, store = env["media"], env["store"]

    # each picture once, named by its content: shared.png (two goods) and a.jpg (two goods) are one file each
    assert set(_snapshot(media)) == {_media(A_JPG, "jpg"), _media(SHARED_PNG, "png"), _media(C1_PNG, "png")}
    assert _snapshot(media)[_media(SHARED_PNG, "png")] == SHARED_PNG

    goods = _images(store, "goods")
    assert goods["p1"] == [
        {
            "media": _media(A_JPG, "jpg"),
            "sha256": _sha(A_JPG),
            "size": len(A_JPG),
            "source": "import_files/ab/a.jpg",
            "position": 0,
        },
        {
            "media": _media(SHARED_PNG, "png"),
            "sha256": _sha(SHARED_PNG),
            "size": len(SHARED_PNG),
            "source": "import_files/sh/shared.png",
            "position": 1,
        },
    ]
    # the missing picture is listed with media null, never invented
    assert goods["p2"][1] == {
        "media": None,
        "sha256": None,
        "size": None,
        "source": "import_files/zz/missing.jpg",
        "position": 1,
    }
    # every media path of every row names a complete file with that hash
    for rows in (goods, _images(store, "offers")):
        for images in rows.values():
            for picture in images or []:
                if picture["media"]:
                    assert _sha((media / picture["media"]).read_bytes()) == picture["sha256"]
    # 3.x: the offer's own pictures
    assert [p["media"] for p in _images(store, "offers")["p1#c1"]] == [_media(C1_PNG, "png")]
    assert _images(store, "offers")["p2"] == []

    meta = summary.assets["goods"].metadata
    assert (
        meta["pictures"],
        meta["pictures_stored"],
        meta["pictures_missing"],
        meta["pictures_rejected"],
    ) == (
        10,
        2,
        1,
        5,
    )
    assert meta["pictures_known"] == 0
    assert "import_files/zz/missing.jpg" in meta["pictures_note"]
    assert summary.assets["offers"].metadata["pictures_stored"] == 1
    # what `onec-pipeline import` prints below its table
    assert pictures_lines(summary) == [
        "pictures of goods: 10 named, stored 2 new, 0 already stored, 0 kept, 1 missing, 5 refused (see rejects)",
        "pictures of offers: 1 named, stored 1 new, 0 already stored, 0 kept, 0 missing, 0 refused (see rejects)",
    ]


def test_hostile_pictures_are_rejects_and_the_product_loads(env, tmp_path):
    summary = _run(env, _first_upload(tmp_path))
    store = env["store"]
    goods = _images(store, "goods")
    # p3 loaded, with the one good picture at its place in 1C's list
    assert [(p["source"], p["position"]) for p in goods["p3"]] == [("import_files/ab/a.jpg", 5)]
    reasons = {
        reason.split(": ", 1)[0]: reason for _, ident, reason in _rejects(store, summary.key) if ident == "p3"
    }
    assert set(reasons) == {
        "picture '../../etc/passwd.jpg'",
        "picture '/etc/hostname.jpg'",
        "picture 'import_files/fake.jpg'",
        "picture 'import_files/huge.png'",
        "picture 'import_files/run.php'",
    }
    assert "leaves the upload (..)" in reasons["picture '../../etc/passwd.jpg'"]
    assert "absolute path" in reasons["picture '/etc/hostname.jpg'"]
    assert "not an image" in reasons["picture 'import_files/fake.jpg'"]
    assert "over the size cap ONEC_MEDIA_MAX_BYTES (3,000)" in reasons["picture 'import_files/huge.png'"]
    assert "extension .php is not a picture's" in reasons["picture 'import_files/run.php'"]
    assert {entity for entity, _, _ in _rejects(store, summary.key)} == {"goods"}
    # a refused picture warns; it does not make the goods file "unusable"
    check = {c.name: c for c in summary.checks}["goods_rejects"]
    assert not check.passed and check.severity == "WARN"
    assert check.metadata["rejected"] == 5 and check.metadata["reject_share"] == 0.0  # p3 loaded
    assert summary.assets["offers"].status == "success"


def test_dry_run_and_replay_write_nothing(env, tmp_path):
    first = _first_upload(tmp_path)
    _run(env, first)
    before = _snapshot(env["media"])
    rows_before = _images(env["store"], "goods")

    # a dry run of a new upload: counts what it would store, writes no file and no row
    dry = _run(env, _second_upload(tmp_path), dry_run=True)
    assert dry.assets["goods"].metadata["pictures_stored"] == 1  # b.jpg, not written
    assert "would store 1 new files" in dry.assets["goods"].metadata["pictures_note"]
    assert _snapshot(env["media"]) == before
    assert _images(env["store"], "goods") == rows_before

    # a replay: skipped as applied; forced, it re-reads everything and finds every file in place
    replay = _run(env, first)
    assert replay.assets["goods"].metadata["already_applied"] is True
    forced = _run(env, first, force=True)
    meta = forced.assets["goods"].metadata
    assert (meta["pictures_stored"], meta["pictures_known"]) == (0, 2)
    assert _snapshot(env["media"]) == before
    assert _images(env["store"], "goods") == rows_before


def test_retention_keeps_referenced_pictures_and_removes_the_rest(env, tmp_path):
    _run(env, _first_upload(tmp_path))
    _run(env, _second_upload(tmp_path))
    media = env["media"]
    assert _media(B_JPG, "jpg") in _snapshot(media)
    # a.jpg is no longer named by any active row (p1 and p3 dropped it)
    job = defs.resolve_job_def("archive_retention_job")
    result = job.execute_in_process(
        instance=env["instance"],
        resources={
            "upload_dirs": UploadDirs(
                archive_dir=str(env["archive"]), retention_days=0, media_dir=str(media)
            ),
            "catalog_db": CatalogDatabase(database_url=env["url"], db_schema=env["schema"]),
        },
    )
    assert result.success
    assert set(_snapshot(media)) == {_media(SHARED_PNG, "png"), _media(C1_PNG, "png"), _media(B_JPG, "jpg")}
    output = next(
        e.event_specific_data.metadata
        for e in result.all_node_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "apply_archive_retention"
    )
    assert output["media_removed"].value == 1
    assert output["media_kept_referenced"].value == 3
    assert output["media_removed_bytes"].value == len(A_JPG)
    # every picture an active row names is still there
    for table in ("goods", "offers"):
        for images in _images(env["store"], table).values():
            for picture in images or []:
                assert picture["media"] is None or (media / picture["media"]).is_file()


def test_a_product_re_sent_without_its_files_keeps_its_pictures(env, tmp_path):
    _run(env, _first_upload(tmp_path))
    before = _images(env["store"], "goods")["p1"]
    # a day later 1C re-sends p1 (renamed) with the same picture paths, but no picture file, and a new one
    later = _upload(
        tmp_path / "src" / "later",
        "2026-11-22T10:00:00",
        goods={"p1": ["import_files/ab/a.jpg", "import_files/sh/shared.png", "import_files/nn/new.jpg"]},
        offers={},
        files={},
    )
    summary = _run(env, later)
    after = _images(env["store"], "goods")["p1"]
    assert after[:2] == before  # the files the catalog already names for those paths
    assert after[2] == {
        "media": None,
        "sha256": None,
        "size": None,
        "source": "import_files/nn/new.jpg",
        "position": 2,
    }
    meta = summary.assets["goods"].metadata
    assert (meta["pictures_kept"], meta["pictures_missing"], meta["pictures_stored"]) == (2, 1, 0)
