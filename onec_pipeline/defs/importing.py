"""What every import asset shares: its run config, opening the partition's archived upload, the metadata
describing the upload, counting and reporting the records streaming through, and the timing metadata.

An import asset (``defs/catalog/assets.py``, ``defs/customers/assets.py``) reads its partition's archived
files with the reader and writes them with one ``store.transaction``; the upload is rebuilt from the
headers its manifest keeps (``intake.load_upload``), so no file header is read again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from dagster import AssetObservation, Config, Failure, MaterializeResult, MetadataValue

from onec_pipeline import intake
from onec_pipeline.commerceml import Entity, Upload

from .constants import COUNT_NAMES, PROGRESS_EVERY
from .resources import ImportProgress, UploadDirs

Metadata = dict[str, Any]  # metadata key -> MetadataValue
T = TypeVar("T")


class ImportConfig(Config):
    """Run config of every import asset. Defaults are the safe choice (a UI backfill cannot set them).

    There is no ``dry_run`` field: a dry run is the ``dry_run_upload`` job (``defs/intake/jobs.py``), which
    records observations, never materialisations, and is tagged ``onec/dry_run`` — so a launchpad can never
    keep a dry run switched on for the next real import.
    """

    allow_mass_deactivation: bool = False  # let a full export deactivate more than the store's threshold
    # re-read an upload this catalog already applied (a replay is a no-op by the version guard, so by default
    # the catalog assets skip the parse; force after restoring catalog tables from a backup, for instance)
    force: bool = False

    @property
    def dry_run(self) -> bool:
        """Whether the load is rolled back (only :class:`DryRunConfig`)."""
        return False


class DryRunConfig(ImportConfig):
    """What the dry-run job hands the import bodies: load inside the transaction, then roll back; always
    re-read the files (``force``), also those of an upload already applied."""

    force: bool = True

    @property
    def dry_run(self) -> bool:
        return True


# ---------------------------------------------------------------------------------------------- the upload


def _files_markdown(upload: Upload, manifest: intake.Manifest | None) -> str:
    sha = {f.name: f.sha256 for f in manifest.files} if manifest else {}
    rows = ["| file | kind | size | sha256 | schema | encoding | exported | only changes |", "|---" * 8 + "|"]
    for h in upload.all_files:
        digest = sha.get(h.path) or ""
        rows.append(
            f"| {h.path} | {h.kind} | {h.size} | `{digest[:16]}` | "
            f"{h.schema_version or ''} | {h.encoding or ''} | {h.exported_at or ''} | {h.only_changes} |"
        )
    return "\n".join(rows)


def upload_metadata(
    key: str, upload: Upload, manifest: intake.Manifest | None, entities: Iterable[Entity]
) -> Metadata:
    """What every import asset's materialisation says about its upload."""
    present = [e for e in entities if upload.has(e)]
    full = bool(present) and all(upload.is_full(e) for e in present)
    return {
        "upload_key": MetadataValue.text(key),
        "files": MetadataValue.md(_files_markdown(upload, manifest)),
        "file_count": MetadataValue.int(len(upload.files)),
        "exported_at": MetadataValue.text(str(upload.exported_at) if upload.exported_at else "unknown"),
        "export": MetadataValue.text("full" if full else "partial"),
        "source": MetadataValue.text(manifest.source if manifest else ""),
    }


def open_archived_upload(
    key: str, upload_dirs: UploadDirs, entities: Iterable[Entity], *, dry_run: bool
) -> tuple[Upload, Metadata]:
    """The archived upload of partition ``key`` (rebuilt from its manifest) and the metadata every import
    asset starts from."""
    root = upload_dirs.upload_dir(key)
    if not root.is_dir():
        raise Failure(f"upload {key}: archived files not found at {root}")
    manifest = intake.read_manifest(root)
    upload = intake.load_upload(root, manifest)
    metadata = upload_metadata(key, upload, manifest, entities)
    metadata["dry_run"] = MetadataValue.bool(dry_run)
    return upload, metadata


def dry_run_observation(asset_name: str, key: str, result: MaterializeResult) -> AssetObservation:
    """A dry run's counts as an observation of the asset's partition: visible on the asset's page and in the
    run, never its latest materialisation."""
    return AssetObservation(
        asset_key=asset_name,
        partition=key,
        description=f"dry run of upload {key}: loaded inside a transaction, then rolled back",
        metadata=dict(result.metadata or {}),
    )


def full_export_text(entities: Iterable[Entity]) -> MetadataValue:
    """Metadata ``full_entities``: the entities this upload exports in full ("none" when it exports none)."""
    return MetadataValue.text(", ".join(sorted(str(e) for e in entities)) or "none")


def nothing_to_load(
    asset_name: str,
    key: str,
    metadata: Metadata,
    *,
    log: logging.Logger,
    progress: ImportProgress,
    counts: Iterable[str] = COUNT_NAMES,
) -> MaterializeResult:
    """The result of an import asset whose record families the upload does not hold."""
    metadata["has_data"] = MetadataValue.bool(False)
    metadata["note"] = MetadataValue.text(f"upload {key} holds no {asset_name} data: nothing loaded")
    for name in counts:
        metadata[name] = MetadataValue.int(0)
    log.info(f"{asset_name} [{key}]: the upload holds no {asset_name} data")
    progress.done(asset_name, records=0, seconds=0.0, has_data=False)
    return MaterializeResult(metadata=metadata)


# ------------------------------------------------------------------------------------- records and time


class RecordCounter:
    """Counts the records streaming from the reader into the store; every ``every`` records it logs a
    progress line with the rate and reports ``progress``."""

    def __init__(
        self,
        log: logging.Logger,
        asset_name: str,
        key: str,
        progress: ImportProgress,
        every: int = PROGRESS_EVERY,
    ) -> None:
        self.log = log
        self.asset_name = asset_name
        self.label = f"{asset_name} [{key}]"
        self.progress = progress
        self.every = every
        self.count = 0
        self.started = time.perf_counter()

    def wrap(self, records: Iterable[T]) -> Iterator[T]:
        for record in records:
            self.count += 1
            if self.count % self.every == 0:
                elapsed = max(time.perf_counter() - self.started, 1e-9)
                self.log.info(f"{self.label}: {self.count:,} records, {self.count / elapsed:,.0f} records/s")
                self.progress.advance(self.asset_name, self.count, elapsed)
            yield record


def timing_metadata(records: int, seconds: float, parse_seconds: float) -> Metadata:
    """``parse_seconds`` (the reader's own time), ``load_seconds`` (the rest), ``seconds``, the rate."""
    return {
        "parse_seconds": MetadataValue.float(round(parse_seconds, 3)),
        "load_seconds": MetadataValue.float(round(max(seconds - parse_seconds, 0.0), 3)),
        "seconds": MetadataValue.float(round(seconds, 3)),
        "rows_per_second": MetadataValue.float(round(records / max(seconds, 1e-9), 1)),
    }
