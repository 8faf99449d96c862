"""The import stage: one upload through ``run_import`` (the same assets, partition and checks as the
sensor's runs), archived from an incoming directory like the sensor does it, and the rows it wrote.

``run_import`` is imported inside ``import_upload``: the other stages' processes import this package too,
and their peak RSS is measured without Dagster.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from .database import BENCH_SCHEMA, table_state, touched_since


def link_tree(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target`` made of hard links (a real copy where linking is refused)."""
    for path in sorted(source.rglob("*")):
        linked = target / path.relative_to(source)
        if path.is_dir():
            linked.mkdir(parents=True, exist_ok=True)
            continue
        linked.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, linked)
        except OSError:
            shutil.copy2(path, linked)
    return target


def jsonable(value: Any) -> Any:
    """``value`` with enums, dataclasses and collections turned into JSON types (anything else: str)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(getattr(key, "value", key)): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return str(value)


class AssetTimeline:
    """``run_import``'s ``log_progress`` callback: when each asset started and ended (seconds from
    ``started``) with what it reported, and when the upload was archived."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.assets: dict[str, dict[str, Any]] = {}

    def __call__(self, event: str, asset: str, details: dict[str, Any]) -> None:
        now = round(time.perf_counter() - self.started, 2)
        if event == "start":
            self.assets.setdefault(asset, {})["start"] = now
        elif event in ("done", "failed"):
            entry = self.assets.setdefault(asset, {})
            entry["end"] = now
            entry.update({key: jsonable(value) for key, value in details.items()})
        elif event == "archived":
            self.assets["archive"] = {"end": now}

    def records(self) -> int:
        return sum(int(entry.get("records", 0) or 0) for entry in self.assets.values())


def _existing_instance(home: Path) -> Any:
    """The Dagster instance at ``home`` (created and migrated now if new); ``DAGSTER_HOME`` points there
    for this stage's process and the run's step processes."""
    from dagster import DagsterInstance

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch()
    os.environ["DAGSTER_HOME"] = str(home)
    instance = DagsterInstance.get()
    instance.get_runs(limit=1)  # its storages exist and are migrated before the clock starts
    return instance


def _import_instance_modules() -> None:
    """Import what the run's ephemeral instance imports when it is first created (its storage modules,
    about 0.3 s), before the clock starts, as ``run_import`` itself is imported before it: the stage
    measures the import's work, not Python loading modules (the tiny upload's CLI figure measures that)."""
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral():
        pass


def import_upload(
    db_url: str,
    upload_dir: str,
    archive_dir: str | None = None,
    parallel: bool = False,
    incoming_dir: str | None = None,
    dagster_home: str | None = None,
) -> dict[str, Any]:
    """Stage: import one upload through ``run_import`` and count the rows it wrote (xmin).

    ``incoming_dir``: first hard-link the upload into this directory (untimed) and import it from there, so
    that it is archived like the sensor does it: hashed and moved (renamed), not copied.
    ``parallel``: execute like the sensor's runs (default: one process, like the CLI); ``steps`` in the
    result says how the steps ran (``processes`` or ``threads``, as the sensor chooses for this upload).
    ``dagster_home`` (parallel): the runs are recorded in the instance there, created before the clock
    starts, as the sensor's runs are in the deployment's instance (a throwaway one per import would add
    its creation and schema migrations to every measurement).
    """
    from onec_pipeline.runs import run_import

    instance = None
    if parallel and dagster_home is not None:
        instance = _existing_instance(Path(dagster_home))
    elif not parallel:
        _import_instance_modules()

    source, keep_source = Path(upload_dir), None
    if incoming_dir is not None:
        source = link_tree(source, Path(incoming_dir) / f"{source.name}-{uuid.uuid4().hex[:6]}")
        keep_source = False
    before = table_state(db_url, BENCH_SCHEMA)
    started = time.perf_counter()
    timeline = AssetTimeline(started)
    summary = run_import(
        source,
        database_url=db_url,
        db_schema=BENCH_SCHEMA,
        archive_dir=archive_dir,
        log_progress=timeline,
        parallel=parallel,
        keep_source=keep_source,
        instance=instance,
    )
    if keep_source is False and source.exists():  # the linked copy (a duplicate is removed already)
        shutil.rmtree(source, ignore_errors=True)
    if not summary.success:
        raise RuntimeError(f"run_import failed: {summary.error}")
    seconds = time.perf_counter() - started
    touched = touched_since(db_url, BENCH_SCHEMA, before["xid"])
    after = table_state(db_url, BENCH_SCHEMA)
    return {
        "seconds": seconds,
        "steps": summary.steps,
        "rows": timeline.records() or sum(touched.values()),
        "upload_key": summary.key,
        "assets": timeline.assets,
        "result": {name: asset.metadata for name, asset in summary.assets.items()},
        "counts": summary.counts(),
        "touched": touched,
        "rows_after": after["rows"],
        "rows_before": before["rows"],
    }
