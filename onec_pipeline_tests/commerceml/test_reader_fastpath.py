"""The reader's fast path (``reader.fastpath``) reads prices and rests files exactly as the reference does.

* a property test over generated files — both encodings, BOM, CR LF, compact or indented, lines past
  65,535, entity and character references, optional and empty fields, rejects, comments, attributes,
  truncation, read in buffers of any size — compares the records, the counters and the errors of the two
  paths one by one, and checks that a clean file is in fact read by the fast path (not handed back);
* a fallback late in a file yields nothing twice; an error is the reference's own;
* memory: resident memory stays flat while a 1,000,000-offer prices file streams through the fast path.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onec_pipeline.commerceml import CommerceMLError, Entity, ReadStats, discover_upload, read_upload
from onec_pipeline.commerceml.reader import fastpath, iter_file_records
from onec_pipeline.commerceml.records import Price, Stock
from onec_pipeline.synth import generate_upload

MB = 1024 * 1024

# --- generated files --------------------------------------------------------------------------------

# (text as written in the XML, whether the fast path reads it itself: False where the reference rejects
# the element or libxml2 would tell its line differently past 65,535)
CLEAN, MESSY = True, False
OFFER_IDS = [
    ("69842bdb-d83e-4810-855b-000000000001", CLEAN),
    ("  padded-id\t", CLEAN),
    ("prod#char", CLEAN),
    ("prod#", CLEAN),
    ("Товар-7", CLEAN),
    ("a&amp;b&lt;c&gt;", CLEAN),
    ("&#1071;&#x42F;-id", CLEAN),
    ("#no-product", MESSY),
    ("", MESSY),
    ("   ", MESSY),
]
TYPE_IDS = [("t1", CLEAN), (" t2 ", CLEAN), ("тип&amp;3", CLEAN), ("", MESSY), (None, MESSY)]
VALUES = [
    ("100", CLEAN),
    ("68375", CLEAN),
    ("12.50", CLEAN),
    ("-3", CLEAN),
    ("0.000001", CLEAN),
    ("1 234,50", CLEAN),
    ("1\u00a0234", CLEAN),
    (" 7 ", CLEAN),
    ("1e3", CLEAN),
    ("&#1633;&#1634;", CLEAN),  # Arabic-Indic digits: Decimal takes them
    ("", CLEAN),  # an empty price: counted, no record
    (None, CLEAN),
    ("abc", MESSY),
    ("1E400", MESSY),
    ("1_000", MESSY),
]
CURRENCIES = [("руб", CLEAN), ("RUB", CLEAN), ("руб.", CLEAN), (" грн ", CLEAN), ("", CLEAN), (None, CLEAN)]
UNITS = [("шт", CLEAN), (" шт ", CLEAN), ("кг&amp;м", CLEAN), ("", CLEAN), (None, CLEAN)]
RATIOS = [("1", CLEAN), ("1,5", CLEAN), ("x", CLEAN), ("", CLEAN), (None, CLEAN)]
PRESENTATIONS = [
    ("68 375 руб за шт", CLEAN),
    (" a &lt;b&gt; &quot;c&quot; ", CLEAN),
    ("x&#13;y&#9;z", CLEAN),
    ("", MESSY),  # the first child without text: libxml2 takes a later line past 65,535
    (None, CLEAN),
    ("two\nlines", MESSY),
]
WAREHOUSES = [("w1", CLEAN), (" w2 ", CLEAN), ("склад&amp;3", CLEAN), ("", MESSY), ("  ", MESSY)]
QUANTITIES = [
    ("0", CLEAN),
    ("5", CLEAN),
    ("-1.5", CLEAN),
    ("2,5", CLEAN),
    ("1e2", CLEAN),
    ("3.000", CLEAN),
    ("", MESSY),
    ("x", MESSY),
]
# what makes the reference read the file (or refuse it): never read by the fast path
DISRUPTIONS = [
    "comment",
    "attribute",
    "extra child",
    "self-closing field",
    "cdata",
    "processing instruction",
    "truncated",
    "text between offers",
    "lone CR",
    "bare ampersand",
    "nested offer",
    "prefixed",
]
PRICE_FIELDS = ("Представление", "ИдТипаЦены", "ЦенаЗаЕдиницу", "Валюта", "Единица", "Коэффициент")
PRICE_POOLS = (PRESENTATIONS, TYPE_IDS, VALUES, CURRENCIES, UNITS, RATIOS)


@dataclass
class Spec:
    codec: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    indent: str = "\t"
    section: str = "ПакетПредложений"
    pad: int = 0  # blank lines before Предложения (lines past 65,535)
    head_lists: bool = True
    offers: list = field(default_factory=list)  # ("prices", id, [fields...]) | ("rests", id, [(w, q)...])
    disruption: str | None = None
    at: int = 0  # the offer the disruption goes before
    clean: bool = True  # no value the fast path hands back


def pick(draw, pool, spec: Spec):
    text, clean = draw(st.sampled_from(pool))
    spec.clean = spec.clean and clean
    return text


@st.composite
def specs(draw) -> Spec:
    spec = Spec()
    spec.codec = draw(st.sampled_from(["utf-8", "windows-1251"]))
    spec.bom = spec.codec == "utf-8" and draw(st.booleans())
    spec.newline = draw(st.sampled_from(["\n", "\r\n", ""]))
    spec.indent = "" if not spec.newline else draw(st.sampled_from(["", "\t", "  "]))
    spec.section = draw(st.sampled_from(["ПакетПредложений", "ИзмененияПакетаПредложений"]))
    spec.pad = draw(st.sampled_from([0, 0, 65_520, 70_000]))
    spec.head_lists = draw(st.booleans())
    kinds = draw(st.sampled_from([("prices",), ("rests",), ("prices", "rests")]))
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        offer_id = pick(draw, OFFER_IDS, spec)
        if draw(st.sampled_from(kinds)) == "prices":
            prices = []
            for _ in range(draw(st.integers(min_value=0, max_value=4))):
                prices.append([pick(draw, pool, spec) for pool in PRICE_POOLS])
            spec.offers.append(("prices", offer_id, prices))
        else:
            rests = []
            for _ in range(draw(st.integers(min_value=0, max_value=5))):
                rests.append((pick(draw, WAREHOUSES, spec), pick(draw, QUANTITIES, spec)))
            spec.offers.append(("rests", offer_id, rests))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        spec.disruption = draw(st.sampled_from(DISRUPTIONS))
        spec.at = draw(st.integers(min_value=0, max_value=len(spec.offers) - 1))
        spec.clean = False
    return spec


def _offer_xml(spec: Spec, offer: tuple, depth: int) -> list[str]:
    i = spec.indent
    kind, offer_id, items = offer
    lines = [i * depth + "<Предложение>", i * (depth + 1) + f"<Ид>{offer_id}</Ид>"]
    if kind == "prices":
        lines.append(i * (depth + 1) + "<Цены>")
        for values in items:
            lines.append(i * (depth + 2) + "<Цена>")
            for name, value in zip(PRICE_FIELDS, values, strict=True):
                if value is not None:
                    lines.append(i * (depth + 3) + f"<{name}>{value}</{name}>")
            lines.append(i * (depth + 2) + "</Цена>")
        lines.append(i * (depth + 1) + "</Цены>")
    else:
        lines.append(i * (depth + 1) + "<Остатки>")
        for warehouse, quantity in items:
            lines += [
                i * (depth + 2) + "<Остаток>",
                i * (depth + 3) + "<Склад>",
                i * (depth + 4) + f"<Ид>{warehouse}</Ид>",
                i * (depth + 4) + f"<Количество>{quantity}</Количество>",
                i * (depth + 3) + "</Склад>",
                i * (depth + 2) + "</Остаток>",
            ]
        lines.append(i * (depth + 1) + "</Остатки>")
    lines.append(i * depth + "</Предложение>")
    return lines


def _disrupted(spec: Spec, lines: list[str]) -> list[str]:
    """The offer's lines with the spec's disruption (it goes into the offer ``spec.at``)."""
    what, first = spec.disruption, lines[0]
    if what == "comment":
        return ["<!-- a comment -->", *lines]
    if what == "attribute":
        return [first.replace("<Предложение>", '<Предложение Статус="Удален">'), *lines[1:]]
    if what == "extra child":
        return [first, lines[1], "<Количество>3</Количество>", *lines[2:]]
    if what == "self-closing field":
        return [first, lines[1].replace(lines[1].strip(), "<Ид/>"), *lines[2:]]
    if what == "cdata":
        return [first, "<Ид><![CDATA[cdata-id]]></Ид>", *lines[2:]]
    if what == "processing instruction":
        return ["<?php echo 1; ?>", *lines]
    if what == "text between offers":
        return ["stray text", *lines]
    if what == "lone CR":
        return [first + "\r ", *lines[1:]]
    if what == "bare ampersand":
        return [first, "<Ид>a & b</Ид>", *lines[2:]]
    if what == "nested offer":
        return [first, lines[1], "<Предложение><Ид>inner</Ид></Предложение>", *lines[2:]]
    return lines


def render(spec: Spec) -> bytes:
    i, nl = spec.indent, spec.newline
    encoding = "UTF-8" if spec.codec == "utf-8" else "windows-1251"
    root = "КоммерческаяИнформация"
    prefix = "cml:" if spec.disruption == "prefixed" else ""
    namespace = 'xmlns:cml="urn:1C.ru:commerceml_2"' if prefix else 'xmlns="urn:1C.ru:commerceml_2"'
    lines = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        f'<{prefix}{root} {namespace} ВерсияСхемы="2.09" ДатаФормирования="2026-11-20T10:15:40">',
        i + f'<{prefix}{spec.section} СодержитТолькоИзменения="true">',
        i * 2 + f"<{prefix}Ид>pkg#</{prefix}Ид>",
    ]
    if spec.head_lists:
        lines += [
            i * 2 + "<ТипыЦен><ТипЦены><Ид>t1</Ид><Наименование>Розничная</Наименование>"
            "<Валюта>RUB</Валюта></ТипЦены></ТипыЦен>",
            i * 2 + "<Склады><Склад><Ид>w1</Ид><Наименование>Главный</Наименование></Склад></Склады>",
        ]
    lines.append(nl * spec.pad + i * 2 + f"<{prefix}Предложения>")
    for n, offer in enumerate(spec.offers):
        offer_lines = _offer_xml(spec, offer, 3)
        if prefix:
            offer_lines = [
                line.replace("</", "\0").replace("<", "<cml:").replace("\0", "</cml:") for line in offer_lines
            ]
        if spec.disruption and n == spec.at:
            offer_lines = _disrupted(spec, offer_lines)
        lines += offer_lines
    lines += [i * 2 + f"</{prefix}Предложения>", i + f"</{prefix}{spec.section}>", f"</{prefix}{root}>", ""]
    data = nl.join(lines).encode(spec.codec)
    if spec.disruption == "truncated":
        data = data[: len(data) * 2 // 3]
    return (b"\xef\xbb\xbf" if spec.bom else b"") + data


# --- reading both ways ------------------------------------------------------------------------------


def read(path: Path, wanted: frozenset[Entity], *, fast: bool) -> tuple[list | str, ReadStats]:
    """(records, stats), or (the error's text, stats)."""
    stats = ReadStats()
    try:
        return list(iter_file_records(path, entities=wanted, stats=stats, fast=fast)), stats
    except CommerceMLError as exc:
        return f"{type(exc).__name__}: {exc}", stats


def counters(stats: ReadStats) -> tuple:
    return (Counter(stats.counts), stats.empty_prices, stats.rejects, Counter(stats.rejects_by_entity))


WANTED = st.sets(
    st.sampled_from(
        [
            Entity.PRICES,
            Entity.RESTS,
            Entity.PRICE_TYPES,
            Entity.WAREHOUSES,
            Entity.OFFERS,
            Entity.STOCK_TOTALS,
        ]
    ),
    min_size=1,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), WANTED, st.sampled_from([48, 200, 4096, fastpath.CHUNK]))
def test_fast_path_reads_what_the_reference_reads(spec: Spec, wanted: set[Entity], chunk: int):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prices.xml"
        path.write_bytes(render(spec))
        reference, reference_stats = read(path, frozenset(wanted), fast=False)
        with mock.patch.object(fastpath, "CHUNK", chunk):
            fast, fast_stats = read(path, frozenset(wanted), fast=True)
    assert fast == reference  # every record, source line included, or the same error
    assert counters(fast_stats) == counters(reference_stats)
    if spec.clean and wanted & {Entity.PRICES, Entity.RESTS}:
        assert fast_stats.fallbacks == [] and fast_stats.fast_files == 1, fast_stats.fallbacks
    if spec.disruption:
        assert fast_stats.fast_files == 0


def test_the_property_generator_makes_what_it_says():
    """The generated files are valid where they should be (libxml2 reads them), cover lines past 65,535,
    and the fast path takes the clean ones (so the property above compares two different readers)."""
    offers = [("prices", "o1", [["1 руб", "t1", "1", "руб", "шт", "1"]]), ("rests", "o2", [("w1", "2")])]
    spec = Spec(pad=70_000, offers=offers)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prices.xml"
        path.write_bytes(render(spec))
        records, stats = read(path, frozenset({Entity.PRICES, Entity.RESTS}), fast=True)
    assert stats.fast_files == 1
    assert [type(r) for r in records] == [Price, Stock]
    assert all(r.source.line > 70_000 for r in records)
    assert records[0].price_type_id == "t1" and records[1].warehouse_id == "w1"


# --- fallbacks and errors ---------------------------------------------------------------------------


def _big_prices(path: Path, offers: int, reject_at: int | None = None, newline: str = "\n") -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
            'ВерсияСхемы="2.09">\n<ПакетПредложений>\n<Ид>p</Ид>\n<Предложения>\n'
        )
        for n in range(offers):
            type_id = "" if n == reject_at else "t1"
            fh.write(
                f"<Предложение>{newline}<Ид>offer-{n}</Ид>{newline}<Цены>{newline}<Цена><Представление>{n} руб"
                f"</Представление><ИдТипаЦены>{type_id}</ИдТипаЦены><ЦенаЗаЕдиницу>{n}.50</ЦенаЗаЕдиницу>"
                f"<Валюта>руб</Валюта></Цена>{newline}</Цены>{newline}</Предложение>{newline}"
            )
        fh.write("</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>\n")


def test_a_fallback_late_in_a_file_yields_nothing_twice(tmp_path: Path):
    path = tmp_path / "prices.xml"
    _big_prices(path, 30_000, reject_at=29_000, newline="\r\n")  # several buffers, then a reject
    reference, reference_stats = read(path, frozenset({Entity.PRICES}), fast=False)
    fast, fast_stats = read(path, frozenset({Entity.PRICES}), fast=True)
    assert fast == reference
    assert len(fast) == 30_000 and type(fast[29_000]).__name__ == "Reject"
    assert counters(fast_stats) == counters(reference_stats)
    assert fast_stats.fast_files == 0
    assert fast_stats.fallbacks == ["prices.xml: a price without ИдТипаЦены"]


def test_an_error_is_the_references_own(tmp_path: Path):
    path = tmp_path / "prices.xml"
    _big_prices(path, 5_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # cut inside the package's end tags
    reference, _ = read(path, frozenset({Entity.PRICES}), fast=False)
    fast, _ = read(path, frozenset({Entity.PRICES}), fast=True)
    assert isinstance(reference, str) and "prices.xml" in reference
    assert fast == reference


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ("a]]>b", False),  # libxml2 refuses ']]>' in content
        ("a\ufffeb", False),  # non-characters
        ("a\uffffb", False),
        ("a]]b ]>c ]", True),  # near misses: the fast path reads them itself
        ("a\ufffdb \uf8ff", True),  # other characters that start with 0xEF in UTF-8
    ],
)
@pytest.mark.parametrize("chunk", [48, fastpath.CHUNK])
def test_text_libxml2_refuses_is_the_references_to_report(tmp_path: Path, text: str, fast: bool, chunk: int):
    """What the byte classes let through but libxml2 refuses is found wherever it lies in a buffer (the
    check looks for the needle's first byte, then the needle)."""
    offers = [("prices", f"o{n}", [[text if n == 7 else "p", "t1", "1", "руб", "шт", "1"]]) for n in range(9)]
    path = tmp_path / "prices.xml"
    path.write_bytes(render(Spec(offers=offers)))
    reference, reference_stats = read(path, frozenset({Entity.PRICES}), fast=False)
    with mock.patch.object(fastpath, "CHUNK", chunk):
        records, stats = read(path, frozenset({Entity.PRICES}), fast=True)
    assert records == reference
    assert stats.fast_files == int(fast)
    assert isinstance(reference, str) != fast  # refused by libxml2 exactly when the fast path hands it back


def test_generated_ut11_packages_take_the_fast_path(tmp_path: Path):
    """The synthetic UT 11 package (the benchmark's files): prices and rests files are read by the fast
    path, the whole upload gives the same records either way."""
    generate_upload(tmp_path, offers=3_000, layout="package", sections={"prices", "rests"}, bom=True)
    upload = discover_upload(tmp_path)
    wanted = {Entity.PRICES, Entity.RESTS, Entity.PRICE_TYPES, Entity.WAREHOUSES}
    reference_stats, fast_stats = ReadStats(), ReadStats()
    reference = list(read_upload(upload, wanted, reference_stats, fast=False))
    fast = list(read_upload(upload, wanted, fast_stats, fast=True))
    assert fast == reference and len(fast) > 3_000 * 3
    assert fast_stats.fast_files == 2 and fast_stats.fallbacks == []
    assert counters(fast_stats) == counters(reference_stats)


def test_onec_reader_fast_0_reads_with_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "prices.xml"
    _big_prices(path, 10)
    stats = ReadStats()
    monkeypatch.setenv("ONEC_READER_FAST", "0")
    assert len(list(iter_file_records(path, stats=stats))) == 10 and stats.fast_files == 0
    monkeypatch.delenv("ONEC_READER_FAST")
    stats = ReadStats()
    assert len(list(iter_file_records(path, stats=stats))) == 10 and stats.fast_files == 1


# --- memory -----------------------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_resident_memory_stays_flat_through_a_million_offers(tmp_path: Path):
    """1,000,000 offers (one price each, ~300 MB) stream through the fast path in a flat footprint: the
    resident set after the first 100,000 records grows by less than 16 MB (a reader that kept what it
    read would grow by hundreds)."""
    path = tmp_path / "prices.xml"
    _big_prices(path, 1_000_000)
    size = path.stat().st_size
    assert size > 250 * MB
    gc.collect()
    stats = ReadStats()
    count = 0
    baseline = peak = 0
    for record in iter_file_records(path, entities={Entity.PRICES}, stats=stats, fast=True):
        count += 1
        if count % 50_000 == 0:
            rss = _rss()
            if count == 100_000:
                baseline = peak = rss
            peak = max(peak, rss)
        del record
    assert count == 1_000_000 and stats.fast_files == 1 and stats.fallbacks == []
    assert peak - baseline < 16 * MB, (
        f"RSS grew by {(peak - baseline) / MB:.1f} MB over a {size / MB:.0f} MB file"
    )


def test_every_sample_reads_the_same_either_way(samples_dir: Path):
    """Every real upload of the corpus: the same records, counters and errors with the fast path on and
    off; the real UT 11 package's prices and rests files go through the fast path."""
    fast_files = {}
    for sample in sorted(p for p in samples_dir.iterdir() if p.is_dir()):
        upload = discover_upload(sample)
        for entities in ({Entity.PRICES}, {Entity.RESTS}, set(Entity)):
            results = []
            for fast in (False, True):
                stats = ReadStats()
                try:
                    records: list | str = list(read_upload(upload, entities, stats, fast=fast))
                except CommerceMLError as exc:
                    records = str(exc)
                results.append((records, counters(stats), stats.fast_files))
            (reference, reference_counts, _), (fast, fast_counts, used) = results
            assert fast == reference, (sample.name, entities)
            assert fast_counts == reference_counts, (sample.name, entities)
            fast_files[sample.name, len(entities)] = used
    assert fast_files["ut11-package-209", 1] == 1  # the prices file, then the rests file
