"""Memory does not grow with file size: generated files of tens of MB are read in a small, bounded footprint.

Size bounds only (no timing):

* the peak of Python allocations (tracemalloc) while reading a ~30 MB catalog of fat goods (tracemalloc
  slows allocation-heavy code a lot, so this file has few, large elements);
* the growth of the process resident set, sampled while reading a ~29 MB offers file of many small
  elements: lxml/libxml2 allocate the tree in C, which tracemalloc does not see, and a reader that kept
  the tree (or the cleared elements' shells) would grow by several times the file size.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from pathlib import Path

import pytest

from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_header, read_upload

from .gen import PER_OFFER, write_goods, write_offers

MB = 1024 * 1024
OFFERS = 20_000  # ~29 MB of XML, 140 000 records
GOODS = 1_800  # ~30 MB of XML


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def offers_upload(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("offers")
    assert write_offers(root / "offers.xml", OFFERS) > 20 * MB
    return root


@pytest.fixture(scope="module")
def goods_upload(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("goods")
    assert write_goods(root / "import.xml", GOODS) > 20 * MB
    return root


@pytest.mark.slow
def test_python_allocations_stay_small(goods_upload: Path):
    size = (goods_upload / "import.xml").stat().st_size
    upload = discover_upload(goods_upload)
    tracemalloc.start()
    try:
        count = 0
        for record in read_upload(upload, set(Entity)):
            count += 1
            del record
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == GOODS
    assert peak < 2 * MB, f"Python allocations peaked at {peak / MB:.2f} MB reading {size / MB:.0f} MB"


@pytest.mark.slow
def test_resident_memory_stays_flat_on_many_small_elements(offers_upload: Path):
    size = (offers_upload / "offers.xml").stat().st_size
    upload = discover_upload(offers_upload)
    stats = ReadStats()
    gc.collect()
    rss_before = _rss()
    rss_peak = rss_before
    for n, _record in enumerate(read_upload(upload, set(Entity), stats)):
        if n % 2000 == 0:
            rss_peak = max(rss_peak, _rss())
    rss_peak = max(rss_peak, _rss())
    for entity, per_offer in PER_OFFER.items():
        assert stats.counts[Entity(entity)] == OFFERS * per_offer
    growth = rss_peak - rss_before
    assert growth < 8 * MB, f"RSS grew by {growth / MB:.1f} MB reading {size / MB:.0f} MB"


def test_header_of_a_big_file_reads_only_its_start(offers_upload: Path):
    """read_header peeks: Python allocations stay tiny whatever the file size."""
    tracemalloc.start()
    try:
        header = read_header(offers_upload / "offers.xml")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert header.entities == {
        Entity.PRICE_TYPES,
        Entity.WAREHOUSES,
        Entity.OFFERS,
        Entity.PRICES,
        Entity.RESTS,
        Entity.STOCK_TOTALS,
    }
    assert header.only_changes is False
    assert peak < 2 * MB
