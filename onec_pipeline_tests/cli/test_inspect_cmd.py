"""The inspect command on good and bad input, and on every upload of the sample corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.cli.inspect_cmd import inspect_cmd
from onec_pipeline_tests.commerceml.helpers import doc, write
from onec_pipeline_tests.commerceml.test_hostile import BILLION_LAUGHS
from onec_pipeline_tests.commerceml.test_samples import IDS, UPLOADS, expected_counts


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


@pytest.mark.parametrize("upload_dir", UPLOADS, ids=IDS)
def test_inspect_cli_on_every_sample(samples_dir, upload_dir: Path):
    result = CliRunner().invoke(inspect_cmd, [str(upload_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    expected = expected_counts(upload_dir)
    totals = report["totals"]["counts"]
    assert totals.get("goods", 0) == expected["goods"]
    assert totals.get("prices", 0) == expected["prices"]
    assert totals.get("offers", 0) == expected["offers"]
    assert len(report["files"]) == len(list(upload_dir.rglob("*.xml")))
    table = CliRunner().invoke(inspect_cmd, [str(upload_dir)])
    assert table.exit_code == 0, table.output
    assert "upload totals" in table.output
