"""The first part of a split package — the classifier alone — succeeds on an empty catalog (issue 12, item 13).

1C sends a package's classifier (groups, properties, units, price types — in 2.09 ``ТипыЦен`` sit in the
classifier —, warehouses) first, often with an ``import`` call of its own. Its reference data loads; the
empty-catalog guard fires only for uploads that carry price or stock rows and no catalog. Real 1C files of
the shared sample corpus, through ``onec-pipeline import`` (Dagster, real PostgreSQL).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from onec_pipeline_tests.runs.helpers import import_upload

pytestmark = pytest.mark.postgres


def _upload_of(tmp_path: Path, name: str, *files: Path) -> Path:
    upload = tmp_path / name
    upload.mkdir()
    for file in files:
        shutil.copyfile(file, upload / file.name)
    return upload


def _count(url: str, schema: str, table: str, where: str = "true") -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text(f'SELECT count(*) FROM "{schema}"."{table}" WHERE {where}')).scalar()
            )
    finally:
        engine.dispose()


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def test_a_209_classifier_only_part_loads_and_the_rest_of_the_package_follows(
    samples_dir, pg_schema_url, tmp_path, cli_env
):
    url, schema = pg_schema_url
    package = samples_dir / "ut11-package-209"
    [classifier] = package.glob("import___*.xml")
    first = _upload_of(tmp_path, "classifier", classifier)
    result = import_upload(first, url, schema, tmp_path / "archive")
    assert result.exit_code == 0, result.output
    assert "empty catalog" not in result.output
    assert _count(url, schema, "price_types") == 1 and _count(url, schema, "warehouses") == 1
    assert _count(url, schema, "groups") == 97 and _count(url, schema, "properties") > 1000
    assert _count(url, schema, "goods") == 0

    rest = _upload_of(tmp_path, "rest", *(f for f in package.iterdir() if f != classifier))
    result = import_upload(rest, url, schema, tmp_path / "archive")
    assert result.exit_code == 0, result.output
    assert _count(url, schema, "prices") > 0 and _count(url, schema, "rests") > 0
    assert _count(url, schema, "prices", "currency IS NULL") == 0


def test_a_31_classifier_with_groups_and_warehouses_loads_on_an_empty_catalog(
    samples_dir, pg_schema_url, tmp_path, cli_env
):
    url, schema = pg_schema_url
    first = _upload_of(tmp_path, "classifier", samples_dir / "package-31-subfolders" / "import.xml")
    result = import_upload(first, url, schema, tmp_path / "archive")
    assert result.exit_code == 0, result.output
    assert _count(url, schema, "warehouses") == 12 and _count(url, schema, "price_types") == 8
    assert _count(url, schema, "groups") == 1


def test_stock_rows_without_a_catalog_still_fail_naming_the_upload(
    samples_dir, pg_schema_url, tmp_path, cli_env
):
    url, schema = pg_schema_url
    rests = _upload_of(tmp_path, "rests", samples_dir / "package-31-subfolders" / "goods" / "1" / "rests.xml")
    result = import_upload(rests, url, schema, tmp_path / "archive")
    assert result.exit_code != 0
    [key] = [p.name for p in (tmp_path / "archive").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert "rests into an empty catalog: load the catalog first" in result.output and key in result.output
    assert _count(url, schema, "rests") == 0 and _count(url, schema, "warehouses") == 0
