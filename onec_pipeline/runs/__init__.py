"""Running uploads through Dagster from a process of our own (the CLI, the benchmark; later the exchange
endpoint): archive an upload, materialise its assets, summarise the run.

* ``importer``  ``run_import`` and ``archive_for_import``
* ``summary``   ``ImportSummary`` (with ``AssetSummary``, ``CheckSummary``) built from the run's events
* ``progress``  progress for the caller: the ``progress`` resource of in-process runs, and following the
  events of out-of-process runs while they run
* ``instances`` which Dagster instance a run is recorded in
"""

from __future__ import annotations

from .importer import archive_for_import, run_import
from .summary import AssetSummary, CheckSummary, ImportSummary, ProgressCallback

__all__ = [
    "AssetSummary",
    "CheckSummary",
    "ImportSummary",
    "ProgressCallback",
    "archive_for_import",
    "run_import",
]
