"""The README's table contract ("The table contract (what the storefront reads)") against the schema: every
table and column it names exists, every column of every table is named, and what it promises about
``is_active`` holds for every catalog table (issue 12, item 10)."""

from __future__ import annotations

import re

import pytest

from onec_pipeline.store.tables import (
    BOOKKEEPING_TABLES,
    CATALOG_TABLES,
    CUSTOMER_TABLES,
    ORDER_TABLES,
    metadata,
    table_in,
)
from onec_pipeline_tests.conftest import REPO_ROOT

SECTION = "## The table contract (what the storefront reads)"
#: the version columns every catalog row carries, documented once in "Bookkeeping columns on every catalog row"
VERSION_COLUMNS = {"data_key", "upload_key", "exported_at", "updated_at", "is_active", "deleted"}
IDENTIFIER = re.compile(r"`([a-z_][a-z0-9_]*)`")


def _contract() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _rows(markdown: str) -> dict[str, str]:
    """First cell (a backticked name) -> the rest of the row, for every table row of the section."""
    rows = {}
    for line in markdown.splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def _columns(name: str) -> set[str]:
    return {c.name for c in table_in(metadata(None), name).columns}


def test_the_contract_tells_the_storefront_to_read_active_rows_and_every_catalog_table_has_them():
    contract = _contract()
    assert "Read `is_active = true` rows" in contract
    assert "**Every** catalog table has it" in contract
    for name in CATALOG_TABLES:
        assert "is_active" in _columns(name), f"{name} has no is_active, the contract says it does"


def test_the_version_columns_documented_once_exist_on_every_catalog_table():
    rows = _rows(_contract())
    documented = {name for name in rows if name in VERSION_COLUMNS}
    assert documented == VERSION_COLUMNS
    for name in CATALOG_TABLES:
        assert VERSION_COLUMNS - {"deleted"} <= _columns(name), name
    for name in CATALOG_TABLES:  # the `deleted` row lists the tables with deletion marks, in words
        listed = re.search(rf"\b{name.replace('_', ' ')}\b", rows["deleted"]) is not None
        assert listed == ("deleted" in _columns(name)), (
            f"{name}: the README and the schema differ on `deleted`"
        )


@pytest.mark.parametrize("name", CATALOG_TABLES + BOOKKEEPING_TABLES + CUSTOMER_TABLES + ORDER_TABLES)
def test_every_table_and_column_is_documented_and_exists(name):
    rows = _rows(_contract())
    assert name in rows, f"the README's table contract does not list {name}"
    named = set(IDENTIFIER.findall(rows[name]))
    columns = _columns(name)
    own = columns - VERSION_COLUMNS if name in CATALOG_TABLES else columns
    assert own - named == set(), f"{name}: columns the README does not name"
    # what the row names in backticks is a column of this table, a table it refers to, or a run config field
    tables = set(CATALOG_TABLES + BOOKKEEPING_TABLES + CUSTOMER_TABLES + ORDER_TABLES)
    other = {"product", "allow_mass_deactivation"}  # `product#characteristic`, the run config
    assert named - columns - tables - other == set(), f"{name}: names that are no column"
