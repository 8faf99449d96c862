"""The synthetic upload generator: well-formed, realistic, exact counts, deterministic, streamed."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from onec_pipeline.synth import (
    expected_counts,
    generate_demo_upload,
    generate_upload,
    offer_id,
    price_type_ids,
    product_id,
    warehouse_ids,
)


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _scan(paths: list[Path]) -> dict:
    """Count what a CommerceML reader would see, independently of the generator's own bookkeeping."""
    out: Counter = Counter()
    offer_ids: list[str] = []
    product_ids: list[str] = []
    prices: dict[tuple[str, str], Decimal] = {}
    stock: dict[tuple[str, str], Decimal] = {}
    currencies: Counter = Counter()
    inns: list[str] = []
    for path in paths:
        for _ev, el in etree.iterparse(str(path), events=("end",)):
            name = _local(el.tag)
            parent = el.getparent()
            pname = _local(parent.tag) if parent is not None else ""
            if name == "Группа":
                out["groups"] += 1
            elif name == "Свойство":
                out["properties"] += 1
            elif name == "ТипЦены":
                out["price_types"] += 1
            elif name == "Склад" and pname == "Склады":
                out["warehouses"] += 1
            elif name == "Товар":
                out["goods"] += 1
                product_ids.append(el.findtext("{*}Ид"))
                el.clear()
            elif name == "Предложение":
                oid = el.findtext("{*}Ид")
                if el.find("{*}Наименование") is not None:
                    offer_ids.append(oid)
                for price in el.iterfind("{*}Цены/{*}Цена"):
                    key = (oid, price.findtext("{*}ИдТипаЦены"))
                    assert key not in prices
                    prices[key] = Decimal(price.findtext("{*}ЦенаЗаЕдиницу"))
                    currencies[price.findtext("{*}Валюта")] += 1
                for wh in el.iterfind("{*}Остатки/{*}Остаток/{*}Склад"):
                    stock[(oid, wh.findtext("{*}Ид"))] = Decimal(wh.findtext("{*}Количество"))
                for wh in el.iterfind("{*}Склад"):
                    stock[(oid, wh.get("ИдСклада"))] = Decimal(wh.get("КоличествоНаСкладе"))
                el.clear()
            elif name == "Контрагент":
                out["customers"] += 1
                inn = el.findtext("{*}ИНН")
                if inn:
                    inns.append(inn)
                el.clear()
    out["offers"] = len(offer_ids)
    out["prices"] = len(prices)
    out["rests"] = len(stock)
    return {
        "counts": out,
        "offer_ids": offer_ids,
        "product_ids": product_ids,
        "prices": prices,
        "stock": stock,
        "currencies": currencies,
        "inns": inns,
    }


def _inn_valid(inn: str) -> bool:
    d = [int(c) for c in inn]

    def check(weights: list[int], n: int) -> int:
        return sum(a * b for a, b in zip(d[:n], weights, strict=True)) % 11 % 10

    if len(d) == 10:
        return check([2, 4, 10, 3, 5, 9, 4, 6, 8], 9) == d[9]
    if len(d) == 12:
        return (
            check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 10) == d[10]
            and check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 11) == d[11]
        )
    return False


def _sha(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_package_layout_counts_and_content(tmp_path: Path) -> None:
    files = generate_upload(tmp_path, offers=400, price_types=3, warehouses=5, customers=12)
    names = [p.name.split("___")[0] for p in files]
    assert names == ["import", "offers", "import", "offers", "prices", "rests", "contragents"]
    for p in files:
        raw = p.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf<?xml"), p.name  # UTF-8 with a BOM, like 1C
        assert (
            b'\xd0\x92\xd0\xb5\xd1\x80\xd1\x81\xd0\xb8\xd1\x8f\xd0\xa1\xd1\x85\xd0\xb5\xd0\xbc\xd1\x8b="2.09"'
            in raw
        )

    scan = _scan(files)
    c = scan["counts"]
    assert files.counts == expected_counts(offers=400, price_types=3, warehouses=5, customers=12)
    for key in ("groups", "goods", "offers", "prices", "rests", "customers", "price_types", "warehouses"):
        assert c[key] == files.counts[key], key
    assert c["properties"] == files.counts["properties"]
    assert (c["goods"], c["offers"], c["prices"], c["rests"]) == (100, 400, 1200, 2000)

    # ids: unique, composite product#characteristic, some plain ones, all referring to generated goods
    offers = scan["offer_ids"]
    assert len(set(offers)) == len(offers)
    composite = [o for o in offers if "#" in o]
    assert 0 < len(offers) - len(composite) < len(offers) // 10
    assert set(o.split("#")[0] for o in offers) == set(scan["product_ids"])
    assert offers[5] == offer_id(5, goods=100) and scan["product_ids"][7] == product_id(7)
    assert {k[1] for k in scan["prices"]} == set(price_type_ids(3))
    assert {k[1] for k in scan["stock"]} == set(warehouse_ids(5))

    # realistic values: both currency spellings, zero / negative / fractional stock
    assert set(scan["currencies"]) == {"руб", "RUB"}
    qty = list(scan["stock"].values())
    assert any(q == 0 for q in qty) and any(q < 0 for q in qty) and any(q != q.to_integral() for q in qty)
    assert all(p > 0 for p in scan["prices"].values())
    assert scan["inns"] and all(_inn_valid(i) for i in scan["inns"])


def test_goods_and_offers_carry_properties_characteristics_and_requisites(tmp_path: Path) -> None:
    files = generate_upload(
        tmp_path, offers=40, sections={"classifier", "goods", "offers", "offer_classifier"}
    )
    ns = {"c": "urn:1C.ru:commerceml_2"}
    classifier = etree.parse(str(files[0]))
    dictionary = classifier.xpath("//c:Свойство[c:ТипЗначений='Справочник']", namespaces=ns)
    literal = classifier.xpath("//c:Свойство[c:ТипЗначений!='Справочник']", namespaces=ns)
    assert dictionary and literal
    value_ids = set(classifier.xpath("//c:ВариантыЗначений/c:Справочник/c:ИдЗначения/text()", namespaces=ns))
    nested = classifier.xpath("//c:Группа/c:Группы/c:Группа", namespaces=ns)
    assert nested  # groups are a tree

    goods = etree.parse(str(files[2]))
    product = goods.xpath("//c:Товар", namespaces=ns)[0]
    for child in ("Артикул", "Наименование", "БазоваяЕдиница", "Группы", "ЗначенияСвойств", "СтавкиНалогов"):
        assert product.find(f"c:{child}", ns) is not None, child
    requisites = goods.xpath("//c:ЗначениеРеквизита/c:Наименование/text()", namespaces=ns)
    assert {"ВидНоменклатуры", "ТипНоменклатуры", "Полное наименование"} <= set(requisites)
    used = set(goods.xpath("//c:ЗначенияСвойства/c:Значение/text()", namespaces=ns))
    assert used & value_ids  # dictionary values refer to ВариантыЗначений
    assert used - value_ids  # and literal values exist too
    assert goods.xpath("//c:Картинка[starts-with(text(), 'import_files/')]", namespaces=ns)

    offer_classifier = etree.parse(str(files[1]))
    axis_ids = offer_classifier.xpath("//c:Свойство[c:ДляПредложений='true']/c:Ид/text()", namespaces=ns)
    assert len(axis_ids) == 2
    offers = etree.parse(str(files[3]))
    composite = offers.xpath("//c:Предложение[contains(c:Ид, '#')]", namespaces=ns)[0]
    chars = composite.xpath(
        "c:ХарактеристикиТовара/c:ХарактеристикаТовара/c:Наименование/text()", namespaces=ns
    )
    assert chars == ["Цвет", "Размер"]
    assert set(composite.xpath("c:ЗначенияСвойств/c:ЗначенияСвойства/c:Ид/text()", namespaces=ns)) == set(
        axis_ids
    )


def test_deterministic_and_versions_overlap_ids(tmp_path: Path) -> None:
    a = generate_upload(tmp_path / "a", offers=300, seed=7)
    b = generate_upload(tmp_path / "b", offers=300, seed=7)
    assert _sha(a) == _sha(b)
    assert [p.name for p in a] == [p.name for p in b]

    v1 = generate_upload(tmp_path / "v1", offers=300, seed=7, version=1, sections={"prices", "rests"})
    s0, s1 = _scan(a), _scan(v1)
    assert s0["prices"].keys() == s1["prices"].keys()
    assert s0["stock"].keys() == s1["stock"].keys()
    changed_offers = {k[0] for k in s0["prices"] if s0["prices"][k] != s1["prices"][k]}
    assert changed_offers and len(changed_offers) < 300 // 2
    assert len(changed_offers) == v1.counts["changed_offers"]

    other = generate_upload(tmp_path / "other", offers=300, seed=8, sections={"prices"})
    assert not set(_scan(other)["prices"]) & set(s0["prices"])


def test_prices_only_section(tmp_path: Path) -> None:
    files = generate_upload(tmp_path, offers=50, sections={"prices"})
    assert [p.name.split("___")[0] for p in files] == ["prices"]
    counts = files.counts
    assert counts["prices"] == 150 and counts["offers"] == counts["goods"] == counts["rests"] == 0
    assert _scan(files)["counts"]["prices"] == 150


def test_split_files_and_subfolders(tmp_path: Path) -> None:
    files = generate_upload(tmp_path, offers=100, files_per_kind=3, subfolders=True, workers=2)
    rel = sorted(str(p.relative_to(tmp_path).parent) for p in files)
    assert rel.count("goods/1") == rel.count("goods/3") == 4
    assert "properties/1" in rel
    scan = _scan(files)
    assert scan["counts"]["offers"] == 100 and scan["counts"]["rests"] == 500
    assert scan["counts"]["goods"] == 25


def test_classic_layout_inline_prices_and_stock(tmp_path: Path) -> None:
    files = generate_upload(tmp_path, offers=60, layout="classic", deleted_share=0.2)
    assert [p.name for p in files] == ["import.xml", "offers.xml"]
    raw = files[1].read_bytes()
    assert (
        b'\xd0\x92\xd0\xb5\xd1\x80\xd1\x81\xd0\xb8\xd1\x8f\xd0\xa1\xd1\x85\xd0\xb5\xd0\xbc\xd1\x8b="2.07"'
        in raw
    )
    tree = etree.parse(str(files[1]))
    ns = {"c": "urn:1C.ru:commerceml_2"}
    assert tree.xpath("count(//c:ПакетПредложений/c:ТипыЦен/c:ТипЦены)", namespaces=ns) == 3
    offer = tree.xpath("//c:Предложение", namespaces=ns)[0]
    total = Decimal(offer.findtext("c:Количество", namespaces=ns))
    per_wh = [Decimal(s.get("КоличествоНаСкладе")) for s in offer.findall("c:Склад", ns)]
    assert len(per_wh) == 5 and sum(per_wh) == total
    deleted = etree.parse(str(files[0])).xpath("count(//c:Товар[@Статус='Удален'])", namespaces=ns)
    assert deleted == files.counts["deleted_goods"] > 0
    assert _scan(files)["counts"]["rests"] == 300


def test_windows_1251(tmp_path: Path) -> None:
    files = generate_upload(tmp_path, offers=20, encoding="windows-1251", customers=3)
    for p in files:
        raw = p.read_bytes()
        assert raw.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
        etree.parse(str(p))  # the parser honours the declaration
    assert _scan(files)["counts"]["customers"] == 3


def test_demo_upload(tmp_path: Path) -> None:
    files = generate_demo_upload(tmp_path)
    counts = files.counts
    assert counts["customers"] > 0 and counts["price_types"] >= 3 and counts["warehouses"] >= 3
    assert any(p.parent.name == "1" and p.parent.parent.name == "goods" for p in files)
    scan = _scan(files)
    assert scan["counts"]["offers"] == counts["offers"] and scan["counts"]["customers"] == counts["customers"]


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_upload(tmp_path, layout="zip")
    with pytest.raises(ValueError):
        generate_upload(tmp_path, sections={"orders"})
