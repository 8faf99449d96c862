"""The Предложение hot path (inline prices/stock, memoised quantities, batched yields and sibling purge)
gives the same records as a naive whole-tree reading of the same files."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_upload
from onec_pipeline.commerceml.reader.offers import PURGE_EVERY
from onec_pipeline.commerceml.records import Source
from onec_pipeline.commerceml.values import normalise_currency
from onec_pipeline.synth import generate_upload

from .helpers import NS2, doc, read_all, write


def _local(el) -> str:
    return etree.QName(el).localname


def _child_text(el, name: str) -> str | None:
    for ch in el:
        if _local(ch) == name:
            return ch.text
    return None


def _naive(path, kind: str) -> list[tuple]:
    """(offer, price type / warehouse, value, currency, line) straight from a whole-tree parse."""
    out = []
    for offer in etree.parse(str(path)).iter("{*}Предложение"):
        oid = _child_text(offer, "Ид").strip()
        for box in offer:
            if kind == "prices" and _local(box) == "Цены":
                for price in box:
                    out.append(
                        (
                            oid,
                            _child_text(price, "ИдТипаЦены").strip(),
                            Decimal(_child_text(price, "ЦенаЗаЕдиницу")),
                            normalise_currency(_child_text(price, "Валюта")),
                            price.sourceline,
                        )
                    )
            elif kind == "rests" and _local(box) == "Остатки":
                for rest in box:
                    store = next(ch for ch in rest if _local(ch) == "Склад")
                    out.append(
                        (
                            oid,
                            _child_text(store, "Ид").strip(),
                            Decimal(_child_text(store, "Количество")),
                            None,
                            rest.sourceline,
                        )
                    )
    return out


def test_synthetic_prices_and_rests_match_a_naive_reading(tmp_path):
    offers = PURGE_EVERY * 2 + 37  # several sibling purges, and a partial batch at the end
    generate_upload(tmp_path, offers=offers, layout="package", sections={"prices", "rests"}, bom=False)
    upload = discover_upload(tmp_path)
    for kind, entity in (("prices", Entity.PRICES), ("rests", Entity.RESTS)):
        (header,) = [h for h in upload.files if entity in h.entities]
        stats = ReadStats()
        records = list(read_upload(upload, {entity}, stats))
        if kind == "prices":
            got = [(r.offer_id, r.price_type_id, r.price, r.currency, r.source.line) for r in records]
        else:
            got = [(r.offer_id, r.warehouse_id, r.quantity, None, r.source.line) for r in records]
        expected = _naive(tmp_path / header.path, kind)
        assert len(expected) > offers
        assert got == expected
        assert stats.counts[entity] == len(expected) and stats.rejects == 0
        assert all(type(r.source) is Source and r.source.file == header.path for r in records)
        assert records[0].source == Source(header.path, expected[0][-1])
        assert hash(records[0].source) == hash(Source(header.path, expected[0][-1]))


def test_memoised_quantities_keep_their_spelling_and_rejects(tmp_path):
    """Equal texts share a value; a bad or missing quantity after memoised ones is still a reject."""
    rests = "".join(
        f"<Остаток><Склад><Ид>w{i}</Ид><Количество>{q}</Количество></Склад></Остаток>"
        for i, q in enumerate(["0", "0", "1,5", "1.50", "abc", "", "0", "-2"])
    )
    body = (
        "<ПакетПредложений><Предложения>"
        f"<Предложение><Ид>o1</Ид><Остатки>{rests}</Остатки></Предложение>"
        f"<Предложение><Ид>o2</Ид><Остатки>{rests}</Остатки></Предложение>"
        "</Предложения></ПакетПредложений>"
    )
    write(tmp_path, "rests.xml", doc(body, version="2.09", ns=NS2))
    stats = ReadStats()
    out = read_all(tmp_path, {Entity.RESTS}, stats)
    quantities = [(s.offer_id, s.warehouse_id, str(s.quantity)) for s in out[Entity.RESTS]]
    per_offer = [("w0", "0"), ("w1", "0"), ("w2", "1.5"), ("w3", "1.50"), ("w6", "0"), ("w7", "-2")]
    assert quantities == [("o1", w, q) for w, q in per_offer] + [("o2", w, q) for w, q in per_offer]
    assert [(r.entity_id, r.reason.split(":")[0]) for r in out["rejects"]] == [
        ("o1", "quantity"),
        ("o1", "stock without a quantity"),
        ("o2", "quantity"),
        ("o2", "stock without a quantity"),
    ]
    assert stats.counts[Entity.RESTS] == 12 and stats.rejects == 4
