"""A representative subset of the corpus through the full import against real PostgreSQL.

Refused uploads (a package whose offers file is truncated near its end, poison zips, a DTD default attribute
that would mark goods deleted…) change nothing: a checksum of every catalog and bookkeeping table is the
same before and after, and nothing is archived. Accepted hostile uploads load exactly what they should:
malformed composite ids and numbers that are none become rejects, not rows; SQL-ish ids and emoji are
stored as sent; UTF-16 and windows-1251 files load; a 2099 export time does not freeze the catalog.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from onec_pipeline import intake
from onec_pipeline.runs import run_import
from onec_pipeline.store import CatalogStore
from onec_pipeline_tests.store.helpers import snapshot

from .corpus import BY_ID, document, goods_body, offers_body

pytestmark = pytest.mark.postgres

REFUSED = [
    "truncated-offers.xml-90pct",
    "truncated-offers.xml-minus1",
    "truncated-import.xml-before-root-close",
    "zip-truncated-member-offers.xml",
    "zip-encrypted",
    "zip-bad-crc",
    "zip-method-99-aes",
    "zip-bomb-1mib-members",
    "zip-nested-zip",
    "zip-slip-parent",
    "doctype-attlist-default-deleted-import.xml",
    "doctype-billion-laughs-offers.xml",
    "utf16-no-bom-offers.xml",
    "cp1251-bytes-declared-utf8-import.xml",
    "stray-before-xml-offers.xml-x",
    "not-xml-text-offers.xml",
    "not-commerceml-html-offers.xml",
    "malformed-mismatched-tag-offers.xml",
    "name-not-utf8",
    "symlink-to-etc-passwd",
]


def checksum(url: str, schema: str) -> str:
    store = CatalogStore(url, schema=schema)
    try:
        state = snapshot(store)
    finally:
        store.dispose()
    return hashlib.sha256(repr(sorted(state.items())).encode()).hexdigest()


def write_upload(root: Path, files: dict[str, str], encodings: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_bytes(text.encode((encodings or {}).get(name, "utf-8")))
    return root


@pytest.fixture(scope="module")
def base_catalog(pg_database_url, tmp_path_factory):
    """A schema holding an older catalog whose goods are named differently from the corpus' uploads (so a
    partly committed refused upload would show), applied through the full import."""
    schema = f"robust_{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("base")
    names = [("p1", "Старый чайник"), ("p2", "Старая кружка"), ("p3", "Старая ложка")]
    files = {
        "import.xml": document(goods_body(names), when="2026-11-01T09:00:00"),
        "offers.xml": document(offers_body([("p1", "1", "1"), ("p2", "2", "2")]), when="2026-11-01T09:00:00"),
    }
    base = write_upload(root / "base", files)
    summary = run_import(base, database_url=pg_database_url, db_schema=schema, archive_dir=root / "archive")
    assert summary.success, summary.error
    yield pg_database_url, schema
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.mark.parametrize("case_id", REFUSED)
def test_a_refused_upload_changes_nothing_in_the_catalog(case_id, base_catalog, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    case = BY_ID[case_id]
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    url, schema = base_catalog
    before = checksum(url, schema)
    src = case.build(tmp_path / "src")
    summary = run_import(src, database_url=url, db_schema=schema, archive_dir=tmp_path / "archive")
    assert not summary.success and summary.error and "Traceback" not in summary.error
    assert case.file is None or case.file in summary.error, summary.error
    assert checksum(url, schema) == before
    assert intake.list_archived(tmp_path / "archive") == []


def _rows(url: str, schema: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql.replace("S.", f'"{schema}".')))]
    finally:
        engine.dispose()


def test_hostile_values_load_exactly_what_they_should(pg_schema_url, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    url, schema = pg_schema_url
    goods = [("'; DROP TABLE goods; --", "Чайник &#x1FAD6;"), ("p1", "Кружка"), ("p2", "Ложка")]
    offers = [
        ("#", "1", "1"),
        ("#abc", "2", "2"),
        ("p1#", "3", "3"),
        ("p1#c1", "4", "4"),
        ("p2", "abc", "5"),
        ("'; DROP TABLE goods; --", "1e999999", "6"),
    ]
    upload = write_upload(
        tmp_path / "hostile",
        {
            "import.xml": document(goods_body(goods), enc="windows-1251"),
            "offers.xml": document(offers_body(offers), enc="UTF-16"),
        },
        encodings={"import.xml": "cp1251", "offers.xml": "utf-16"},
    )
    summary = run_import(upload, database_url=url, db_schema=schema, archive_dir=tmp_path / "archive")
    assert summary.success, summary.error
    stored = [(gid, name.replace("&#x1FAD6;", "🫖")) for gid, name in goods]  # emoji by reference in 1251
    assert sorted(_rows(url, schema, "SELECT id, name FROM S.goods")) == sorted(stored)
    assert sorted(_rows(url, schema, "SELECT id, product_id, characteristic_id FROM S.offers")) == [
        ("'; DROP TABLE goods; --", "'; DROP TABLE goods; --", None),
        ("p1#", "p1", None),
        ("p1#c1", "p1", "c1"),
        ("p2", "p2", None),
    ]
    assert sorted(_rows(url, schema, "SELECT offer_id, price FROM S.prices")) == [
        ("p1#", 3),
        ("p1#c1", 4),
    ]
    rejects = _rows(url, schema, "SELECT entity_id, reason FROM S.rejects ORDER BY entity_id")
    assert [r[0] for r in rejects] == ["#", "#abc", "'; DROP TABLE goods; --", "p2"]
    assert "names no product" in rejects[0][1] and "out of range" in rejects[2][1]


def test_a_future_export_time_does_not_freeze_the_catalog(pg_schema_url, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("ONEC_HOME", str(tmp_path / "home"))
    url, schema = pg_schema_url
    archive = tmp_path / "archive"

    def apply(name: str, when: str, goods_name: str):
        files = {"import.xml": document(goods_body([("p1", goods_name)]), when=when)}
        summary = run_import(
            write_upload(tmp_path / name, files), database_url=url, db_schema=schema, archive_dir=archive
        )
        assert summary.success, summary.error
        return summary

    apply("base", "2026-11-01T09:00:00", "База")
    future = apply("future", "2099-01-01T00:00:00", "Из будущего")
    assert intake.key_time(future.key or "") < datetime.now() + timedelta(minutes=1)
    assert future.assets["goods"].metadata["untrusted_export_time"] == "2099-01-01T00:00:00"
    assert _rows(url, schema, "SELECT name FROM S.goods") == [("Из будущего",)]
    later = (datetime.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    fixed = apply("fixed", later, "Исправлено")  # the next correct upload is newer, not "stale"
    assert fixed.assets["goods"].count("updated") == 1
    assert _rows(url, schema, "SELECT name FROM S.goods") == [("Исправлено",)]
