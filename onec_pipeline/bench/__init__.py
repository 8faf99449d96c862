"""The benchmark harness behind ``onec-pipeline bench`` / ``make bench``.

One run, on one synthetic UT 11 split package (``onec_pipeline.synth``):

1. ``generate``      write the package (both cores);
2. ``floor parse``   raw streaming parse of every file: libxml2 with a no-op SAX target (no Python per
                     element), or ``xmllint --stream`` when installed;
3. ``import``        the production path: ``run_import`` (the same assets, partition and checks as the sensor's
                     runs). The upload is first hard-linked into an incoming directory (untimed) and archived
                     from there like the sensor does it: hashed and moved, not copied;
4. ``floor export``  (not part of the floor) the rows the import wrote, as TSV (``COPY … TO``);
5. ``floor copy``    COPY of those rows into empty tables shaped like the store's (``LIKE … INCLUDING ALL``);
6. ``re-import``     the identical upload again (unchanged data must be detected, nothing rewritten);
7. ``prices only``   a prices-only upload (version 1 of the same catalog): only ``prices`` rows may change.

Every stage runs in its own spawned process so that its peak RSS is its own; a watcher samples the peak RSS
(``VmHWM``) of every descendant process and of the PostgreSQL backends serving the bench database.
"Rows touched" are counted with ``xmin``: rows whose inserting transaction is newer than the stage start.

Modules: ``harness`` (``run_bench``: the run, stage after stage), ``process`` (one stage in its own
process), ``watch`` (peak RSS sampling), ``profiler`` (py-spy), the stage functions in ``generate``,
``floor`` and ``importing``, ``database`` (the bench database, row counts), ``report`` (``Stage``,
``BenchReport``, the summary) and ``output`` (``render``, ``markdown``). Stage processes import this
package, so it loads its modules on first use, and they import third-party libraries (lxml, psycopg2, rich,
Dagster) only inside the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .database import BENCH_SCHEMA, DEFAULT_SERVER_URL, server_url_from_env
    from .harness import DEFAULT_OFFERS, QUICK_OFFERS, run_bench
    from .output import markdown, render
    from .profiler import summarise_profile
    from .report import BenchReport, Stage
    from .watch import ProcessWatch

# public name -> the module defining it, imported on first use (PEP 562): every stage process imports this
# package, and only what its stage needs may count in its peak RSS (the generator's hashlib alone is 5 MB)
_EXPORTS = {
    "BENCH_SCHEMA": "database",
    "DEFAULT_SERVER_URL": "database",
    "server_url_from_env": "database",
    "DEFAULT_OFFERS": "harness",
    "QUICK_OFFERS": "harness",
    "run_bench": "harness",
    "markdown": "output",
    "render": "output",
    "summarise_profile": "profiler",
    "BenchReport": "report",
    "Stage": "report",
    "ProcessWatch": "watch",
}
__all__ = [
    "BENCH_SCHEMA",
    "DEFAULT_OFFERS",
    "DEFAULT_SERVER_URL",
    "QUICK_OFFERS",
    "BenchReport",
    "ProcessWatch",
    "Stage",
    "markdown",
    "render",
    "run_bench",
    "server_url_from_env",
    "summarise_profile",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
