"""``run_import``: archive one upload and materialise its assets through Dagster, in this process.

Used by ``onec-pipeline import`` and by the benchmark harness. It does what the sensor's run does — the
same archive layout and key (``intake``), the same dynamic partition, the same assets, per-upload checks,
resources and run config — but executes in-process and returns an :class:`ImportSummary`.

The run is recorded in the instance at ``DAGSTER_HOME`` when that is set (``DagsterInstance.get()``), else
in an ephemeral in-memory instance (nothing is left behind).
"""

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onec_pipeline import intake
from onec_pipeline.defs import assets as assets_module
from onec_pipeline.defs.assets import IMPORT_TAG, ONLY_CHOICES, assets_for_upload
from onec_pipeline.settings import Settings

COUNT_FIELDS = ("inserted", "updated", "unchanged", "stale", "deactivated", "rejected")


@dataclass
class AssetSummary:
    name: str
    status: str  # "success" | "failed" | "check failed" (committed, a blocking check failed) | "not run"
    metadata: dict[str, Any] = field(default_factory=dict)  # raw metadata values

    def count(self, name: str) -> int:
        return int(self.metadata.get(name, 0) or 0)


@dataclass
class CheckSummary:
    asset: str
    name: str
    passed: bool
    severity: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportSummary:
    key: str | None
    archive_path: Path | None
    success: bool
    error: str | None = None
    run_id: str | None = None
    duplicate: bool = False  # the same content had been archived before
    dry_run: bool = False
    selected: list[str] = field(default_factory=list)
    assets: dict[str, AssetSummary] = field(default_factory=dict)
    checks: list[CheckSummary] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, dict[str, int]]:
        """Per asset: inserted/updated/unchanged/stale/deactivated/rejected."""
        return {name: {c: a.count(c) for c in COUNT_FIELDS} for name, a in self.assets.items()}


ProgressCallback = Callable[[str, str, dict[str, Any]], None]  # (event, asset, details)


@contextlib.contextmanager
def _progress_hook(callback: ProgressCallback | None) -> Iterator[None]:
    previous = assets_module.PROGRESS_HOOK
    assets_module.PROGRESS_HOOK = callback
    try:
        yield
    finally:
        assets_module.PROGRESS_HOOK = previous


def _instance_cm(instance):
    from dagster import DagsterInstance

    if instance is not None:
        return contextlib.nullcontext(instance)
    if os.environ.get("DAGSTER_HOME", "").strip():
        return contextlib.nullcontext(DagsterInstance.get())
    return DagsterInstance.ephemeral()


def import_upload_job():
    """The ``import_upload`` job (module-level so that ``reconstructable`` can point at it)."""
    from onec_pipeline.defs.definitions import defs

    return defs.resolve_job_def("import_upload")


@contextlib.contextmanager
def _persistent_instance_cm(instance):
    """Out-of-process execution needs a persistent instance: the given one, $DAGSTER_HOME, or a temp one."""
    import tempfile

    from dagster import DagsterInstance

    if instance is not None and not instance.is_ephemeral:
        yield instance
    elif os.environ.get("DAGSTER_HOME", "").strip():
        yield DagsterInstance.get()
    else:
        with tempfile.TemporaryDirectory(prefix="onec-dagster-") as tmp:
            with DagsterInstance.local_temp(tmp) as inst:
                yield inst


def _raw(value) -> Any:
    return getattr(value, "value", value)


def _is_within(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def archive_for_import(
    path: Path | str, archive_dir: Path, keep_source: bool | None = None
) -> intake.ArchivedUpload:
    """Archive ``path`` like the sensor; an already archived ``ARCHIVE/<key>`` is re-imported as is.

    Files inside the incoming directory are moved (as the sensor would); anything else is copied so that
    the operator's files are never taken away. ``keep_source`` overrides that choice.
    """
    path = Path(path).resolve()
    if path.is_dir() and path.parent == archive_dir.resolve() and intake.KEY_RE.match(path.name):
        manifest = intake.read_manifest(path)
        if manifest is None:
            _key, manifest = intake.compute_key(path)
        return intake.ArchivedUpload(path.name, path, manifest, duplicate=True)
    keep = not _is_within(path, Settings.from_env().import_dir) if keep_source is None else keep_source
    return intake.archive_path(path, archive_dir, keep_source=keep)


def run_import(
    path,
    *,
    database_url: str | None = None,
    db_schema: str | None = None,
    dry_run: bool = False,
    allow_mass_deactivation: bool = False,
    force: bool = False,
    only: str | None = None,
    archive_dir=None,
    instance=None,
    log_progress: ProgressCallback | None = None,
    parallel: bool = False,
    keep_source: bool | None = None,
) -> ImportSummary:
    """Archive the upload at ``path`` and materialise the assets it holds; never raises for a failed run.

    ``force``: re-read an upload this catalog already applied (by default its catalog assets skip it).
    ``only``: ``catalog`` | ``prices`` | ``stocks`` | ``customers`` restricts the assets. ``log_progress``
    receives ``(event, asset, details)`` with events ``archived``, ``start``, ``progress`` (every 10,000
    records: ``records``, ``seconds``, ``rate``), ``done`` and ``failed``.

    ``parallel``: execute like the sensor's runs, out of process with the multiprocess executor (prices
    and rests in two processes at once) via the ``import_upload`` job; needs a persistent instance (the
    given one, ``$DAGSTER_HOME``, or a temporary one). Progress events are then only ``archived``, and
    ``done`` / ``failed`` per asset once the run has finished.

    ``keep_source``: copy (True) or move (False) the upload into the archive; by default files inside the
    incoming directory are moved, like the sensor does, and anything else is copied.
    """
    from dagster import DagsterEventType, materialize

    from onec_pipeline.commerceml import discover_upload
    from onec_pipeline.defs.definitions import defs
    from onec_pipeline.defs.jobs import import_selection
    from onec_pipeline.defs.partitions import uploads_partitions
    from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs

    started = time.perf_counter()
    if only is not None and only not in ONLY_CHOICES:
        raise ValueError(f"only must be one of {sorted(ONLY_CHOICES)}, not {only!r}")
    archive = Path(archive_dir) if archive_dir else Settings.from_env().archive_dir
    archive = archive.resolve()
    summary = ImportSummary(key=None, archive_path=None, success=False, dry_run=dry_run)
    try:
        archived = archive_for_import(path, archive, keep_source)
    except (intake.IntakeError, OSError) as exc:
        summary.error = f"cannot archive {path}: {exc}"
        summary.seconds = time.perf_counter() - started
        return summary
    key = archived.key
    summary.key, summary.archive_path, summary.duplicate = key, archived.path, archived.duplicate
    if log_progress:
        log_progress(
            "archived", "", {"key": key, "path": str(archived.path), "duplicate": archived.duplicate}
        )

    try:
        upload = discover_upload(archived.path)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        summary.error = f"upload {key}: {exc}"
        summary.seconds = time.perf_counter() - started
        return summary
    available = {a.key.path[-1] for a in defs.assets or [] if hasattr(a, "key")}
    selected = [n for n in assets_for_upload(upload) if n in available]
    if only is not None:
        selected = [n for n in selected if n in ONLY_CHOICES[only]]
    summary.selected = selected
    if not selected:
        summary.error = f"upload {key} holds no data for {only or 'any asset'}"
        summary.seconds = time.perf_counter() - started
        return summary

    resources = {
        "catalog_db": CatalogDatabase(database_url=database_url, db_schema=db_schema),
        "upload_dirs": UploadDirs(archive_dir=str(archive)),
    }
    op_config = {"dry_run": dry_run, "allow_mass_deactivation": allow_mass_deactivation, "force": force}
    run_config = {
        "ops": {name: {"config": op_config} for name in selected},
        # the console stays quiet (the caller shows progress); the instance's event log keeps everything
        "loggers": {"console": {"config": {"log_level": os.environ.get("ONEC_RUN_LOG_LEVEL", "WARNING")}}},
    }
    tags = {IMPORT_TAG: "true", "onec/upload": key, "onec/source": "cli"}
    all_defs = [*(defs.assets or []), *(defs.asset_checks or [])]
    if parallel:
        from dagster import AssetKey, execute_job, reconstructable

        resource_config = {
            "catalog_db": {
                "config": {k: v for k, v in (("database_url", database_url), ("db_schema", db_schema)) if v}
            },
            "upload_dirs": {"config": {"archive_dir": str(archive)}},
        }
        cm = _persistent_instance_cm(instance)
    else:
        cm = _instance_cm(instance)
    with cm as inst, _progress_hook(log_progress):
        if not inst.has_dynamic_partition(uploads_partitions.name, key):
            inst.add_dynamic_partitions(uploads_partitions.name, [key])
        if parallel:
            from onec_pipeline.defs.checks import upload_check_keys_for

            job = reconstructable(import_upload_job).get_subset(
                asset_selection={AssetKey(n) for n in selected},
                asset_check_selection=set(upload_check_keys_for(selected)),
            )
            result = execute_job(
                job,
                instance=inst,
                run_config={**run_config, "resources": resource_config},
                tags={**tags, "dagster/partition": key},
                raise_on_error=False,
            )
        else:
            result = materialize(
                all_defs,
                selection=import_selection(selected),
                partition_key=key,
                instance=inst,
                resources=resources,
                run_config=run_config,
                tags=tags,
                raise_on_error=False,
            )
        summary.run_id = result.run_id
        summary.success = result.success
        for name in selected:
            summary.assets[name] = AssetSummary(name, "not run")
        for event in result.all_events:
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                mat = event.event_specific_data.materialization
                name = mat.asset_key.path[-1]
                summary.assets[name] = AssetSummary(
                    name, "success", {k: _raw(v) for k, v in mat.metadata.items()}
                )
                if parallel and log_progress:
                    meta = summary.assets[name].metadata
                    log_progress(
                        "done",
                        name,
                        {
                            "records": meta.get("records", 0),
                            "seconds": meta.get("seconds", 0.0),
                            "has_data": meta.get("has_data", False),
                        },
                    )
            elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                ev = event.event_specific_data
                summary.checks.append(
                    CheckSummary(
                        asset=ev.asset_key.path[-1],
                        name=ev.check_name,
                        passed=ev.passed,
                        severity=str(getattr(ev.severity, "value", ev.severity)),
                        metadata={k: _raw(v) for k, v in ev.metadata.items()},
                    )
                )
            elif event.event_type == DagsterEventType.STEP_FAILURE:
                step = event.step_key or ""
                err = event.event_specific_data.error
                message = err.message.strip() if err else "step failed"
                # a Failure raised by an asset carries the readable message in the cause chain
                cause = err
                while cause is not None and cause.cause is not None:
                    cause = cause.cause
                if cause is not None and cause is not err:
                    message = f"{message} {cause.message.strip()}"
                summary.error = summary.error or f"{step}: {message}"
                if step in summary.assets:
                    # materialised (committed) but a blocking check failed, or failed outright
                    materialised = summary.assets[step].status == "success"
                    summary.assets[step].status = "check failed" if materialised else "failed"
                if log_progress:
                    log_progress("failed", step, {"error": message})
    if not summary.success and summary.error is None:
        summary.error = f"run {summary.run_id} failed"
    summary.seconds = time.perf_counter() - started
    return summary
