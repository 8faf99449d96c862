"""Every upload of the shared sample corpus: exact counts derived independently of the reader.

The expected numbers come from a plain, non-streaming lxml parse done here with deliberately simple rules
(count elements by local-name paths), not from the reader's code.
"""

from __future__ import annotations

import functools
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from onec_pipeline.commerceml import Entity, FileKind, ReadStats, Reject, discover_upload, read_upload
from onec_pipeline_tests.conftest import sample_uploads

UPLOADS = sample_uploads()
IDS = [p.name for p in UPLOADS]


def _ln(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kids(el, name: str):
    return [c for c in el if _ln(c) == name]


def _text(el) -> str:
    return (el.text or "").strip()


@functools.cache
def expected_counts(upload_dir: Path) -> Counter:
    """Counts by simple rules over a whole-tree parse of every XML file (test oracle)."""
    c: Counter = Counter()
    for path in sorted(upload_dir.rglob("*.xml")):
        root = etree.parse(str(path)).getroot()
        if _ln(root) != "КоммерческаяИнформация":
            continue
        for section in root:
            name = _ln(section)
            if name == "Классификатор":
                c["groups"] += sum(1 for el in section.iter() if _ln(el) == "Группа")
                for props in _kids(section, "Свойства"):
                    c["properties"] += len([p for p in props if _ln(p)])
            elif name == "Каталог":
                for goods in _kids(section, "Товары"):
                    c["goods"] += len(_kids(goods, "Товар"))
            elif name in ("ПакетПредложений", "ИзмененияПакетаПредложений"):
                for offers in _kids(section, "Предложения"):
                    for offer in _kids(offers, "Предложение"):
                        if _kids(offer, "Наименование"):
                            c["offers"] += 1
                        for prices in _kids(offer, "Цены"):
                            for price in _kids(prices, "Цена"):
                                value = [_text(v) for v in _kids(price, "ЦенаЗаЕдиницу")]
                                if value and value[0]:
                                    c["prices"] += 1
                                else:
                                    c["empty_prices"] += 1
                        c["stock"] += sum(1 for s in _kids(offer, "Склад") if s.get("ИдСклада"))
                        c["totals"] += sum(1 for q in _kids(offer, "Количество") if _text(q))
                        for rests in _kids(offer, "Остатки"):
                            for rest in _kids(rests, "Остаток"):
                                if _kids(rest, "Склад"):
                                    c["stock"] += 1
                                elif _kids(rest, "Количество"):
                                    c["totals"] += 1
                        for box in _kids(offer, "КоличествоНаСкладах"):
                            c["stock"] += len(_kids(box, "КоличествоНаСкладе"))
            elif name == "Контрагенты":
                c["customers"] += len(_kids(section, "Контрагент"))
    return c


@functools.cache
def reader_counts(upload_path: Path) -> tuple[Counter, ReadStats, list[Reject]]:
    stats = ReadStats()
    rejects = []
    counts: Counter = Counter()
    for record in read_upload(discover_upload(upload_path), set(Entity), stats):
        if isinstance(record, Reject):
            rejects.append(record)
        else:
            counts[record.entity] += 1
    return counts, stats, rejects


@pytest.mark.parametrize("upload_dir", UPLOADS, ids=IDS)
def test_sample_counts_match_independent_oracle(samples_dir, upload_dir: Path):
    expected = expected_counts(upload_dir)
    counts, stats, rejects = reader_counts(upload_dir)
    assert rejects == []
    assert counts[Entity.GROUPS] == expected["groups"]
    assert counts[Entity.PROPERTIES] == expected["properties"]
    assert counts[Entity.GOODS] == expected["goods"]
    assert counts[Entity.OFFERS] == expected["offers"]
    assert counts[Entity.PRICES] == expected["prices"]
    assert stats.empty_prices == expected["empty_prices"]
    assert counts[Entity.RESTS] == expected["stock"]
    assert counts[Entity.STOCK_TOTALS] == expected["totals"]
    assert counts[Entity.CUSTOMERS] == expected["customers"]
    assert stats.counts == counts


def test_sample_known_figures(samples_dir):
    """Figures quoted in FORMAT.md for the real 1C exports (a second, human source of truth)."""
    counts, _, _ = reader_counts(samples_dir / "1coutlet-207")
    assert counts[Entity.GOODS] == 1197
    assert counts[Entity.OFFERS] == 2641
    counts, _, _ = reader_counts(samples_dir / "ut11-package-209")
    assert counts[Entity.GROUPS] == 97
    # 1908 properties in the classifier, and the same 1908 again in the offer classifier
    assert counts[Entity.PROPERTIES] == 2 * 1908


@pytest.mark.parametrize("upload_dir", UPLOADS, ids=IDS)
def test_sample_headers_only_cover_what_reader_finds(samples_dir, upload_dir: Path):
    """has(entity) comes from the header peek; it must agree with what a full read produces."""
    upload = discover_upload(upload_dir)
    counts, _, _ = reader_counts(upload_dir)
    for entity in Entity:
        assert upload.has(entity) == (counts[entity] > 0), entity
    xml_files = {p.relative_to(upload_dir).as_posix() for p in upload_dir.rglob("*.xml")}
    assert {h.path for h in upload.all_files} == xml_files


def test_sample_kinds_and_order(samples_dir):
    upload = discover_upload(samples_dir / "ut11-package-209")
    assert [h.kind for h in upload.files] == [
        FileKind.CLASSIFIER,
        FileKind.OFFER_CLASSIFIER,
        FileKind.OFFERS,
        FileKind.PRICES,
        FileKind.RESTS,
    ]
    assert all(h.only_changes is True for h in upload.files)
    assert not upload.is_full(Entity.PRICES)
    assert upload.exported_at.isoformat() == "2015-07-08T14:11:11"

    upload = discover_upload(samples_dir / "package-31-subfolders")
    kinds = {h.path: h.kind for h in upload.all_files}
    assert kinds["import.xml"] == FileKind.CLASSIFIER
    assert kinds["goods/1/import.xml"] == FileKind.GOODS
    assert kinds["properties/1/offers.xml"] == FileKind.OFFER_CLASSIFIER
    assert kinds["goods/1/rests.xml"] == FileKind.RESTS
    assert [h.path for h in upload.documents] == ["documents/1/documents.xml", "documents/2/documents.xml"]
    assert upload.files[0].namespace == "urn:1C.ru:commerceml_3"

    upload = discover_upload(samples_dir / "1coutlet-207")
    assert [h.kind for h in upload.files] == [FileKind.GOODS, FileKind.OFFERS]
    assert upload.is_full(Entity.GOODS) and upload.is_full(Entity.PRICES)

    upload = discover_upload(samples_dir / "protocol-examples-207")
    assert {h.path: h.encoding for h in upload.documents} == {
        "from.xml": "windows-1251",
        "to.xml": "windows-1251",
    }

    upload = discover_upload(samples_dir / "cscart-204")
    assert upload.files[0].exported_at.isoformat() == "2014-06-01T00:36:33"  # "2014-06-01T0:36:33"

    upload = discover_upload(samples_dir / "cml-203")
    assert [h.only_changes for h in upload.files] == [False, False]  # 2.03: an element, after the goods


def test_sample_resolves_dictionary_values_across_files(samples_dir):
    """3.1: offer property values are ids from the offer classifier file (properties/1/offers.xml)."""
    upload = discover_upload(samples_dir / "package-31-subfolders")
    root = etree.parse(str(samples_dir / "package-31-subfolders/properties/1/offers.xml")).getroot()
    dictionary = {
        _text(_kids(item, "ИдЗначения")[0]): _text(_kids(item, "Значение")[0])
        for item in root.iter()
        if _ln(item) == "Справочник" and _kids(item, "ИдЗначения")
    }
    offers = [r for r in read_upload(upload, {Entity.OFFERS}) if not isinstance(r, Reject)]
    values = [pv for o in offers for pv in o.properties]
    assert values
    resolved = [pv for pv in values if pv.value_id is not None]
    assert resolved and all(pv.value == dictionary[pv.value_id] for pv in resolved)
    assert all(o.characteristics for o in offers if o.properties)


@pytest.mark.parametrize("name", ["1coutlet-207-early", "package-31-subfolders"])
def test_zip_upload_reads_like_the_directory(samples_dir, tmp_path: Path, name: str):
    source = samples_dir / name
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(source).as_posix())
        zf.writestr("import_files/ab/picture.jpg", b"\xff\xd8\xff")
        zf.writestr(".ready", b"")
    from_dir = list(read_upload(discover_upload(source), set(Entity)))
    zipped = discover_upload(archive)
    assert zipped.is_zip and zipped.other_files == 1
    assert [h.path for h in zipped.files] == [h.path for h in discover_upload(source).files]
    assert list(read_upload(zipped, set(Entity))) == from_dir
