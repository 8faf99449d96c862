"""The reader against the synthetic-upload generator: every count the generator reports is read back."""

from __future__ import annotations

from collections import Counter

import pytest

from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_upload


@pytest.mark.parametrize("layout", ["package", "classic"])
def test_reader_counts_match_the_synthetic_generator(tmp_path, layout):
    synth = pytest.importorskip("onec_pipeline.synth")
    generated = synth.generate_upload(
        tmp_path / layout, offers=400, customers=7, layout=layout, deleted_share=0.05, subfolders=True
    )
    expected = generated.counts
    stats = ReadStats()
    counts: Counter = Counter()
    deleted: Counter = Counter()
    for record in read_upload(discover_upload(tmp_path / layout), set(Entity), stats):
        counts[record.entity] += 1
        if getattr(record, "deleted", False):
            deleted[record.entity] += 1
    assert stats.rejects == 0
    for entity in Entity:
        assert counts[entity] == expected[entity.value], entity
    assert deleted[Entity.GOODS] == expected["deleted_goods"]
    assert deleted[Entity.OFFERS] == expected["deleted_offers"]
    assert deleted[Entity.GROUPS] == expected["deleted_groups"]
