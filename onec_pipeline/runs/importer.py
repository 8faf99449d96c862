"""``run_import``: archive one upload and materialise its assets through Dagster, from this process.

Used by ``onec-pipeline import`` and by the benchmark harness. It does what the sensor's run does — the
same archive layout and key (``intake``), the same dynamic partition, the same assets, per-upload checks,
resources and run config — and returns an :class:`ImportSummary`. By default the run executes in this
process; ``parallel`` executes it like the sensor's runs (a process per step, or threads for a small upload).

The run is recorded in the instance at ``DAGSTER_HOME`` when that is set (``DagsterInstance.get()``), else
in an ephemeral in-memory instance (nothing is left behind).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    ExecuteInProcessResult,
    JobDefinition,
    JobExecutionResult,
    RunsFilter,
    execute_job,
    reconstructable,
)

from onec_pipeline import intake
from onec_pipeline.commerceml import Upload
from onec_pipeline.defs.constants import (
    ASSET_ENTITIES,
    CATALOG_ASSETS,
    COUNT_NAMES,
    DRY_RUN_TAG,
    ONLY_CHOICES,
    assets_for_upload,
    upload_tags,
)
from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.executor import (
    THREADED_RUN_BELOW_BYTES,
    execution_config,
    materialize_on_threads,
    steps_for_upload,
)
from onec_pipeline.defs.importing import applied_when
from onec_pipeline.defs.intake.jobs import DryRunOptions, dry_run_op_names, dry_run_upload
from onec_pipeline.defs.partitions import UPLOADS_PARTITIONS_NAME
from onec_pipeline.defs.resources import CatalogDatabase, ImportProgress, UploadDirs
from onec_pipeline.defs.selection import import_selection, upload_check_keys_for
from onec_pipeline.intake.scan import walk_files
from onec_pipeline.settings import Settings

from .instances import persistent_instance, run_instance, warm_forkserver
from .progress import CallbackProgress, RunFollower
from .summary import AssetSummary, ImportSummary, ProgressCallback, RunEvents

IMPORT_UPLOAD_JOB = "import_upload"


def import_upload_job() -> JobDefinition:
    """The ``import_upload`` job (module-level so that ``reconstructable`` can point at it)."""
    return defs.resolve_job_def(IMPORT_UPLOAD_JOB)


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


def _xml_bytes(path: Path) -> int:
    """The XML an upload at ``path`` holds, as far as a look at its files tells before archiving (the files
    the archive takes: ``walk_files``; a zip, or anything unreadable, counts as large: only its archived
    manifest tells)."""
    try:
        if path.is_dir():
            return sum(st.st_size for rel, _p, st in walk_files(path) if rel.lower().endswith(".xml"))
        if path.suffix.lower() == ".xml":
            return path.stat().st_size
    except OSError:
        pass
    return THREADED_RUN_BELOW_BYTES


def _archive_notes(manifest: intake.Manifest) -> dict[str, Any]:
    """What the gate let through but reports, for the ``archived`` progress event."""
    notes: dict[str, Any] = {"not_imported": list(manifest.not_imported)}
    if manifest.untrusted_export_time:
        notes["untrusted_export_time"] = manifest.untrusted_export_time
    return notes


def refusal_message(path: Path | str, exc: Exception) -> str:
    """One line for an upload that could not be taken: the upload, the file and line, and why."""
    return " ".join(_refusal_text(path, exc).split())


def _refusal_text(path: Path | str, exc: Exception) -> str:
    if isinstance(exc, intake.IntakeError):
        where = f"{exc.file}:{exc.line}" if exc.file and exc.line else (exc.file or "")
        detail = exc.message if not where or where in exc.message else f"{where}: {exc.message}"
        return f"refused {intake.printable(str(path))}: {intake.printable(detail)} (nothing was imported)"
    if isinstance(exc, OSError):
        return f"cannot archive {intake.printable(str(path))}: {exc}"
    return f"refused {intake.printable(str(path))}: {type(exc).__name__}: {exc} (nothing was imported)"


def no_data_message(key: str, upload: Any, manifest: intake.Manifest, only: str | None) -> str:
    """Why an upload selects no asset, naming every file and what it holds."""
    what = [
        f"{h.path}: {h.kind} ({', '.join(sorted(e.value for e in h.entities)) or 'nothing'})"
        for h in upload.files
    ]
    what += manifest.not_imported
    files = "; ".join(what) or "no XML file at all"
    return f"upload {key} holds no data for {only or 'any asset'}: {files}"


@dataclass
class _Run:
    """Everything one import run is made of."""

    key: str
    selected: list[str]
    archive: Path
    database_url: str | None
    db_schema: str | None
    op_config: dict[str, bool]
    steps: str  # how the run executes its steps: ``processes`` or ``threads`` (``steps_for_upload``)

    def run_config(self) -> dict[str, Any]:
        return {
            "ops": {name: {"config": self.op_config} for name in self.selected},
            **self.console_config(),
        }

    def console_config(self) -> dict[str, Any]:
        return {
            # the console stays quiet (the caller shows progress); the instance's event log keeps everything
            "loggers": {
                "console": {"config": {"log_level": os.environ.get("ONEC_RUN_LOG_LEVEL", "WARNING")}}
            },
        }

    def tags(self) -> dict[str, str]:
        return upload_tags(self.key, "cli")


def _dry_run(
    run: _Run, inst: DagsterInstance, summary: ImportSummary, log_progress: ProgressCallback | None
) -> ExecuteInProcessResult:
    """The ``dry_run_upload`` job in this process: observations, no materialisation, tagged as a dry run."""
    options = DryRunOptions(allow_mass_deactivation=bool(run.op_config["allow_mass_deactivation"]))
    ops = dry_run_op_names(run.selected)
    result = dry_run_upload.execute_in_process(
        run_config={"ops": {name: {"config": options.model_dump()} for name in ops}, **run.console_config()},
        instance=inst,
        partition_key=run.key,
        op_selection=ops,
        tags={**run.tags(), DRY_RUN_TAG: "true"},
        resources={
            "catalog_db": CatalogDatabase(database_url=run.database_url, db_schema=run.db_schema),
            "upload_dirs": UploadDirs(archive_dir=str(run.archive)),
            "progress": CallbackProgress(log_progress) if log_progress else ImportProgress(),
        },
        raise_on_error=False,
    )
    RunEvents(summary, log_progress, live=False).add_all(result.all_events)
    return result


def _in_process(
    run: _Run, inst: DagsterInstance, summary: ImportSummary, log_progress: ProgressCallback | None
) -> ExecuteInProcessResult:
    """Materialise in this process (prices and rests side by side on threads); the assets report progress
    through the ``progress`` resource."""
    resources = {
        "catalog_db": CatalogDatabase(database_url=run.database_url, db_schema=run.db_schema),
        "upload_dirs": UploadDirs(archive_dir=str(run.archive)),
        "progress": CallbackProgress(log_progress) if log_progress else ImportProgress(),
    }
    result = materialize_on_threads(
        [*(a for a in defs.assets or [] if isinstance(a, AssetsDefinition)), *(defs.asset_checks or [])],
        selection=import_selection(run.selected),
        partition_key=run.key,
        instance=inst,
        resources=resources,
        run_config=run.run_config(),
        tags=run.tags(),
    )
    RunEvents(summary, log_progress, live=False).add_all(result.all_events)
    return result


def _out_of_process(
    run: _Run, inst: DagsterInstance, summary: ImportSummary, log_progress: ProgressCallback | None
) -> JobExecutionResult:
    """Execute the ``import_upload`` job like the sensor's runs (``run.steps``), following the run's
    events while it runs."""
    database = {k: v for k, v in (("database_url", run.database_url), ("db_schema", run.db_schema)) if v}
    resource_config = {
        "catalog_db": {"config": database},
        "upload_dirs": {"config": {"archive_dir": str(run.archive)}},
    }
    job = reconstructable(import_upload_job).get_subset(
        asset_selection={AssetKey(n) for n in run.selected},
        asset_check_selection=set(upload_check_keys_for(run.selected)),
    )
    tags = {**run.tags(), "dagster/partition": run.key}
    since = datetime.now(UTC)

    def find_run() -> str | None:
        found = inst.get_run_records(
            RunsFilter(job_name=IMPORT_UPLOAD_JOB, tags=tags, created_after=since), limit=1
        )
        return found[0].dagster_run.run_id if found else None

    follower = RunFollower(inst, find_run, RunEvents(summary, log_progress, live=True))
    follower.start()
    try:
        result = execute_job(
            job,
            instance=inst,
            run_config={**run.run_config(), **execution_config(run.steps), "resources": resource_config},
            tags=tags,
            raise_on_error=False,
        )
    finally:
        follower.stop()
    follower.finish(result.run_id)
    return result


# the assets that skip an upload this catalog already applied (``skip_if_applied``): a run of only these
# for such an upload would change nothing
_REPLAY_SKIPPING = frozenset({*CATALOG_ASSETS, "order_updates"})


def _already_applied(
    upload: Upload, run: _Run, summary: ImportSummary, log_progress: ProgressCallback | None
) -> bool:
    """A replay of an upload every selected asset has applied already: what its run would report (each
    asset "already applied", nothing read), filled in without a run. False when any asset has work."""
    if not set(run.selected) <= _REPLAY_SKIPPING:
        return False
    store = CatalogDatabase(database_url=run.database_url, db_schema=run.db_schema).get_store()
    applied = {
        name: applied_when(store, run.key, [e for e in ASSET_ENTITIES[name] if upload.has(e)])
        for name in run.selected
    }
    if any(when is None for when in applied.values()):
        return False
    for name, when in applied.items():
        metadata: dict[str, Any] = {"has_data": True, "already_applied": True, "seconds": 0.0}
        metadata.update(dict.fromkeys(COUNT_NAMES, 0))
        metadata["note"] = (
            f"upload {run.key} was already applied to this catalog ({when:%Y-%m-%d %H:%M:%S} UTC); a replay "
            "changes nothing (version guard), so no run was started. Run with --force to re-read it."
        )
        summary.assets[name] = AssetSummary(name, "success", metadata)
        if log_progress:
            log_progress(
                "done", name, {"records": 0, "seconds": 0.0, "has_data": True, "already_applied": True}
            )
    summary.success = True
    return True


def _done(summary: ImportSummary, started: float, error: str | None = None) -> ImportSummary:
    if error is not None:
        summary.error = error
    summary.seconds = time.perf_counter() - started
    return summary


def run_import(
    path: Path | str,
    *,
    database_url: str | None = None,
    db_schema: str | None = None,
    dry_run: bool = False,
    allow_mass_deactivation: bool = False,
    force: bool = False,
    only: str | None = None,
    archive_dir: Path | str | None = None,
    instance: DagsterInstance | None = None,
    log_progress: ProgressCallback | None = None,
    parallel: bool = False,
    keep_source: bool | None = None,
) -> ImportSummary:
    """Archive the upload at ``path`` and materialise the assets it holds; never raises for a failed run.

    ``force``: re-read an upload this catalog already applied (by default its catalog assets skip it).
    ``only``: ``catalog`` | ``prices`` | ``stocks`` | ``customers`` restricts the assets. ``log_progress``
    receives ``(event, asset, details)`` with events ``archived``, ``start``, ``progress`` (every 10,000
    records: ``records``, ``seconds``, ``rate``), ``done`` and ``failed``.

    ``parallel``: execute like the sensor's runs, out of process via the ``import_upload`` job: the steps of
    a large upload in processes of their own (prices and rests in two processes at once), a small one's on
    threads in the run's process (``steps_for_upload``); needs a persistent instance (the
    given one, ``$DAGSTER_HOME``, or a temporary one). Progress events are then ``archived``, and
    ``start``, ``done`` / ``failed`` per asset, read from the run's events while it runs.

    ``keep_source``: copy (True) or move (False) the upload into the archive; by default files inside the
    incoming directory are moved, like the sensor does, and anything else is copied.
    """
    started = time.perf_counter()
    if only is not None and only not in ONLY_CHOICES:
        raise ValueError(f"only must be one of {sorted(ONLY_CHOICES)}, not {only!r}")
    if parallel and not dry_run and steps_for_upload(_xml_bytes(Path(path))) == "processes":
        warm_forkserver()  # imports Dagster in the forkserver while this process archives the upload
    archive = Path(archive_dir).resolve() if archive_dir else Settings.from_env().archive_dir.resolve()
    summary = ImportSummary(key=None, archive_path=None, success=False, dry_run=dry_run)
    try:
        archived = archive_for_import(path, archive, keep_source)
    except Exception as exc:  # noqa: BLE001 - a refused upload is one line naming the file, no traceback
        return _done(summary, started, refusal_message(path, exc))
    key = archived.key
    summary.key, summary.archive_path, summary.duplicate = key, archived.path, archived.duplicate
    if log_progress:
        details = {"key": key, "path": str(archived.path), "duplicate": archived.duplicate}
        log_progress("archived", "", {**details, **_archive_notes(archived.manifest)})
    try:
        upload = intake.load_upload(archived.path, archived.manifest)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return _done(summary, started, f"upload {key}: {exc}")
    summary.selected = [n for n in assets_for_upload(upload) if only is None or n in ONLY_CHOICES[only]]
    if not summary.selected:
        return _done(summary, started, no_data_message(key, upload, archived.manifest, only))

    op_config = {"allow_mass_deactivation": allow_mass_deactivation, "force": force}
    steps = steps_for_upload(archived.manifest.xml_bytes) if parallel else "threads"
    run = _Run(key, summary.selected, archive, database_url, db_schema, op_config, steps)
    if (
        archived.duplicate
        and not force
        and not dry_run
        and _already_applied(upload, run, summary, log_progress)
    ):
        return _done(summary, started)
    with (persistent_instance if parallel else run_instance)(instance) as inst:
        if not inst.has_dynamic_partition(UPLOADS_PARTITIONS_NAME, key):
            inst.add_dynamic_partitions(UPLOADS_PARTITIONS_NAME, [key])
        if dry_run:  # always in this process: nothing to parallelise in a rolled-back load
            result: ExecuteInProcessResult | JobExecutionResult = _dry_run(run, inst, summary, log_progress)
        elif parallel:
            result = _out_of_process(run, inst, summary, log_progress)
        else:
            result = _in_process(run, inst, summary, log_progress)
        summary.run_id = result.run_id
        summary.success = result.success
        summary.steps = None if dry_run else run.steps  # a dry run executes one step at a time
    if not summary.success and summary.error is None:
        summary.error = f"run {summary.run_id} failed"
    return _done(summary, started)
