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
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, TypeVar

from dagster import AssetObservation, Config, Failure, MaterializeResult, MetadataValue

from onec_pipeline import intake
from onec_pipeline.commerceml import Entity, FileHeader, ReadStats, Reject, Upload
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.changes import ChangeReport

from .constants import COUNT_NAMES, PROGRESS_EVERY, format_count
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
            f"| {h.path} | {h.kind} | {format_count(h.size)} | `{digest[:16]}` | "
            f"{h.schema_version or ''} | {h.encoding or ''} | {h.exported_at or ''} | {h.only_changes} |"
        )
    return "\n".join(rows)


def upload_metadata(
    key: str, upload: Upload, manifest: intake.Manifest | None, entities: Iterable[Entity]
) -> Metadata:
    """What every import asset's materialisation says about its upload."""
    present = [e for e in entities if upload.has(e)]
    full = bool(present) and all(upload.is_full(e) for e in present)
    metadata = {
        "upload_key": MetadataValue.text(key),
        "files": MetadataValue.md(_files_markdown(upload, manifest)),
        "file_count": MetadataValue.int(len(upload.files)),
        "exported_at": MetadataValue.text(str(upload.exported_at) if upload.exported_at else "unknown"),
        "export": MetadataValue.text("full" if full else "partial"),
        "source": MetadataValue.text(manifest.source if manifest else ""),
    }
    if manifest and manifest.untrusted_export_time:  # the intake gate's time sanity (README, Reliability)
        metadata["untrusted_export_time"] = MetadataValue.text(manifest.untrusted_export_time)
    if manifest and manifest.not_imported:
        metadata["not_imported"] = MetadataValue.md("\n".join(f"- {n}" for n in manifest.not_imported))
    return metadata


def open_archived_upload(
    key: str, upload_dirs: UploadDirs, entities: Iterable[Entity], *, dry_run: bool
) -> tuple[MeteredUpload, Metadata]:
    """The archived upload of partition ``key`` (rebuilt from its manifest; its ``meter`` counts the bytes
    read of the files holding ``entities``) and the metadata every import asset starts from."""
    entities = list(entities)
    root = upload_dirs.upload_dir(key)
    if not root.is_dir():
        raise Failure(f"upload {key}: archived files not found at {root}")
    manifest = intake.read_manifest(root)
    upload = MeteredUpload.of(intake.load_upload(root, manifest), entities)
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


def _names(sample: list[tuple[str, str | None]]) -> str:
    return ", ".join(f"{name or ident}" for ident, name in sample)


def _price_rows(title: str, rows: list[tuple[str, str | None, str | None, Decimal, Decimal]]) -> list[str]:
    lines = [f"{title}:", "", "| offer | price type | old | new | change |", "|---|---|---:|---:|---:|"]
    for ident, offer, price_type, old, new in rows:
        old, new = Decimal(str(old)), Decimal(str(new))
        change = f"{(new - old) / abs(old):+.1%}" if old else "new"
        lines.append(f"| {offer or ident} | {price_type or ''} | {old:,.2f} | {new:,.2f} | {change} |")
    return [*lines, ""]


def _listed_lines(report: ChangeReport, entity: str) -> list[str]:
    parts = []
    for label, counts, samples in (
        ("added", report.added, report.added_sample),
        ("marked deleted in 1C", report.deleted, report.deleted_sample),
        ("deactivated (not in the full export)", report.deactivated, report.deactivated_sample),
    ):
        if counts.get(entity):
            parts.append(f"{format_count(counts[entity])} {label} ({_names(samples.get(entity, []))}…)")
    return [f"**{entity}**: " + "; ".join(parts) + "."] if parts else []


def changes_metadata(asset_name: str, report: ChangeReport) -> Metadata:
    """What the upload changed (or, in a dry run, would change) in this asset's tables: ``what_changed``
    (readable) and the numbers of this asset (plotted over uploads)."""
    lines: list[str] = []
    metadata: Metadata = {}
    if asset_name == "prices":
        metadata["prices_up"] = MetadataValue.int(report.prices_up)
        metadata["prices_down"] = MetadataValue.int(report.prices_down)
        if report.prices_up or report.prices_down:
            up, down = format_count(report.prices_up), format_count(report.prices_down)
            lines += [f"**prices**: {up} up, {down} down.", ""]
            if report.largest_increases:
                lines += _price_rows("Largest increases", report.largest_increases)
            if report.largest_decreases:
                lines += _price_rows("Largest decreases", report.largest_decreases)
    if asset_name == "rests":
        metadata["went_out_of_stock"] = MetadataValue.int(report.went_out_of_stock)
        metadata["back_in_stock"] = MetadataValue.int(report.back_in_stock)
        if report.went_out_of_stock or report.back_in_stock:
            lines.append(
                f"**stock**: {format_count(report.went_out_of_stock)} offers went out of stock "
                f"({_names(report.out_of_stock_sample)}), {format_count(report.back_in_stock)} came back "
                f"({_names(report.back_in_stock_sample)})."
            )
    if asset_name in ("goods", "offers"):
        lines += _listed_lines(report, asset_name)
        metadata["marked_deleted"] = MetadataValue.int(report.deleted.get(asset_name, 0))
    metadata["what_changed"] = MetadataValue.md("\n".join(lines) if lines else "nothing changed")
    return metadata


def applied_when(store: CatalogStore, key: str, present: Iterable[Entity]) -> datetime | None:
    """When a committed load of upload ``key`` last applied the entities ``present`` (all of them, at least
    one), else None: a replay of them would change nothing."""
    entities = [str(e) for e in present]
    done = store.applied_entities(key)
    if not entities or not all(e in done for e in entities):
        return None
    return max(done[e] for e in entities)


def skip_if_applied(
    asset_name: str,
    key: str,
    store: CatalogStore,
    present: set[Entity],
    metadata: Metadata,
    log: logging.Logger,
    progress: ImportProgress,
) -> MaterializeResult | None:
    """A committed load of the same upload (same key = same content) already applied every entity of this
    asset: replaying it would change nothing (version guard), so report that instead of re-reading."""
    when = applied_when(store, key, present)
    if when is None:
        return None
    metadata["has_data"] = MetadataValue.bool(True)
    metadata["already_applied"] = MetadataValue.bool(True)
    for name in COUNT_NAMES:
        metadata[name] = MetadataValue.int(0)
    metadata["note"] = MetadataValue.text(
        f"upload {key} was already applied to this catalog ({when:%Y-%m-%d %H:%M:%S} UTC); a replay changes "
        f"nothing (version guard), so its files were not read again. Run with config force: true to re-read."
    )
    log.info(f"{asset_name} [{key}]: already applied at {when:%Y-%m-%d %H:%M:%S} UTC: nothing to do")
    progress.done(asset_name, records=0, seconds=0.0, has_data=True, already_applied=True)
    return MaterializeResult(metadata=metadata)


class RecordsOf(Iterable[T]):
    """The records of one type (``Customer``, ``Order``) of a read, for a store function that applies them;
    reject records are kept aside in ``rejects`` for the store's ``rejects`` table."""

    def __init__(self, records: Iterable[Any], kind: type[T]) -> None:
        self.records = records
        self.kind = kind
        self.rejects: list[Reject] = []

    def __iter__(self) -> Iterator[T]:
        for record in self.records:
            if isinstance(record, self.kind):
                yield record
            elif isinstance(record, Reject):
                self.rejects.append(record)


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


class _CountingStream:
    """A file of the upload being read: remembers how far it got (for the progress lines)."""

    def __init__(self, stream: IO[bytes], meter: ByteMeter, path: str) -> None:
        self._stream = stream
        self._meter = meter
        self._path = path
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._position += len(data)
        self._meter.reached(self._path, self._position)
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _CountingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ByteMeter:
    """How many bytes of the files an asset reads have been read: the furthest position reached in each
    (the reader opens a file twice: a prolog check, then the parse)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes
        self.positions = dict.fromkeys(sizes, 0)
        self.total = sum(sizes.values())

    def reached(self, path: str, position: int) -> None:
        if position > self.positions.get(path, 0):
            self.positions[path] = position

    @property
    def done(self) -> int:
        return sum(min(self.positions[p], size) for p, size in self.sizes.items())


@dataclass
class MeteredUpload(Upload):
    """An upload whose file streams count the bytes read into ``meter`` (the files of ``entities``)."""

    meter: ByteMeter = field(default_factory=lambda: ByteMeter({}))

    @classmethod
    def of(cls, upload: Upload, entities: Iterable[Entity]) -> MeteredUpload:
        wanted = frozenset(entities)
        sizes = {h.path: h.size for h in upload.files if not h.entities.isdisjoint(wanted)}
        values = {f.name: getattr(upload, f.name) for f in fields(Upload)}
        return cls(**values, meter=ByteMeter(sizes))

    def open(self, header: FileHeader | str) -> IO[bytes]:
        path = header.path if isinstance(header, FileHeader) else header
        return _CountingStream(super().open(header), self.meter, path)  # type: ignore[return-value]


def _duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    if seconds < 90:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 90:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


# A progress line is a run event (stored by the instance, a SQLite commit in a multiprocess run): at most one
# every this many seconds, however fast the records come (the progress callback still gets every step).
LOG_EVERY_SECONDS = 2.0


class RecordCounter:
    """Counts the records streaming from the reader into the store; every ``every`` records it reports
    ``progress`` and logs a progress line (at most one per ``LOG_EVERY_SECONDS``) — records, bytes read of
    the total, the percentage, the rate and the time left, by bytes of the files read (``meter``)."""

    def __init__(
        self,
        log: logging.Logger,
        asset_name: str,
        key: str,
        progress: ImportProgress,
        every: int = PROGRESS_EVERY,
        meter: ByteMeter | None = None,
    ) -> None:
        self.log = log
        self.asset_name = asset_name
        self.label = f"{asset_name} [{key}]"
        self.progress = progress
        self.every = every
        self.meter = meter
        self.count = 0
        self.started = time.perf_counter()

    def line(self, elapsed: float) -> str:
        """The progress line after ``elapsed`` seconds."""
        text = f"{self.label}: {format_count(self.count)} records"
        meter = self.meter
        if meter is not None and meter.total:
            done = meter.done
            text += f" · {_megabytes(done)} of {_megabytes(meter.total)} ({done / meter.total:.0%})"
        text += f" · {format_count(self.count / elapsed)} records/s"
        if meter is not None and meter.total and meter.done:
            left = elapsed * (meter.total - meter.done) / meter.done
            text += f" · about {_duration(left)} left"
        return text

    def wrap(self, records: Iterable[T]) -> Iterator[T]:
        logged_at = None  # when the last progress line was logged
        for record in records:
            self.count += 1
            if self.count % self.every == 0:
                now = time.perf_counter()
                elapsed = max(now - self.started, 1e-9)
                if logged_at is None or now - logged_at >= LOG_EVERY_SECONDS:
                    self.log.info(self.line(elapsed))
                    logged_at = now
                meter = self.meter
                done, total = (meter.done, meter.total) if meter is not None else (0, 0)
                self.progress.advance(
                    self.asset_name, self.count, elapsed, bytes_read=done, total_bytes=total
                )
            yield record


def reader_text(stats: ReadStats) -> str:
    """Which reader read the files: "fast path: 1 of 2 files" (reader.fastpath; the others by the tree
    reader, the reference), with why the reference took over a file the fast path began."""
    text = f"fast path: {stats.fast_files} of {stats.files} files"
    if stats.fallbacks:
        text += "; read by the reference instead: " + "; ".join(stats.fallbacks)
    return text


def timing_metadata(
    records: int, seconds: float, parse_seconds: float, turn_seconds: float | None = None
) -> Metadata:
    """``parse_seconds`` (the reader's own time), ``load_seconds`` (the rest), ``seconds``, the rate; with
    ``turn_seconds``, also how long the load waited for its staging turn (``store/turns.py``: another step
    of the same process reading first), which is not load time either."""
    waited = turn_seconds or 0.0
    out = {
        "parse_seconds": MetadataValue.float(round(parse_seconds, 3)),
        "load_seconds": MetadataValue.float(round(max(seconds - parse_seconds - waited, 0.0), 3)),
        "seconds": MetadataValue.float(round(seconds, 3)),
        "rows_per_second": MetadataValue.float(round(records / max(seconds, 1e-9), 1)),
    }
    if turn_seconds is not None:
        out["turn_wait_seconds"] = MetadataValue.float(round(turn_seconds, 3))
    return out
