"""The inspect command on good and bad input, and the reader against the synthetic-upload generator."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_upload

from .helpers import doc, write
from .test_hostile import BILLION_LAUGHS


def test_inspect_single_file_json(tmp_path):
    body = (
        "<Каталог СодержитТолькоИзменения='true'><Ид>c</Ид><Товары><Товар><Ид>1</Ид></Товар>"
        "<Товар><Ид>2</Ид></Товар><Товар><Наименование>no id</Наименование></Товар></Товары></Каталог>"
    )
    path = write(tmp_path, "import.xml", doc(body, version="3.1"))
    result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (entry,) = report["files"]
    assert entry["kind"] == "goods" and entry["schema_version"] == "3.1" and entry["only_changes"] is True
    assert entry["counts"] == {"goods": 2} and entry["rejects"] == 1
    assert report["totals"]["counts"] == {"goods": 2}


def test_inspect_bad_input_exits_non_zero_with_the_error(tmp_path):
    write(tmp_path, "import.xml", BILLION_LAUGHS)
    result = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert result.exit_code == 1
    assert "import.xml:2" in result.output and "declares entities" in result.output

    write(
        tmp_path / "broken", "offers.xml", doc("<ПакетПредложений><Ид>x</Ид><Предложения></ПакетПредложений>")
    )
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "broken")])
    assert result.exit_code == 1 and "offers.xml" in result.output and "malformed XML" in result.output


def test_inspect_missing_path():
    result = CliRunner().invoke(main, ["inspect", "/nonexistent/upload"])
    assert result.exit_code != 0


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
