"""The customers test helpers moved to ``onec_pipeline_tests/store/customers/helpers.py``; this re-export
keeps the customers tests that still live here working until they move too."""

from onec_pipeline_tests.store.customers.helpers import (
    KEY0,
    KEY1,
    KEY2,
    MIGRATIONS,
    conflict_rows,
    contragent,
    log_rows,
    migrate,
    rows,
    site_row,
)

__all__ = [
    "KEY0",
    "KEY1",
    "KEY2",
    "MIGRATIONS",
    "conflict_rows",
    "contragent",
    "log_rows",
    "migrate",
    "rows",
    "site_row",
]
