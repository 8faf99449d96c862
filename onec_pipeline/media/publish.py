"""Publishing the pictures of an upload: the goods and offers streaming from the reader get their pictures
resolved in the upload and stored in the media store before they reach the catalog.

:meth:`PicturePublisher.wrap` sits between the reader and the store's transaction: every ``Product`` and
``Offer`` with pictures leaves it with ``pictures`` filled (each stored file complete before the record
goes on, so a committed row never names a file that is not there), preceded by a ``Reject`` per refused
picture (the record itself still loads). A picture the upload lacks stays listed with ``media`` null and is
reported in :class:`PictureReport`, never invented — unless the catalog's active rows already name a
stored file for that very path (1C re-sent a product without its picture files): that file is kept.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from onec_pipeline.commerceml.records import Offer, Picture, Product, Record, Reject

from .files import MediaStore, PictureRefused, StoredFile, safe_source

SAMPLE_SIZE = 5


@dataclass
class PictureReport:
    """What publishing the pictures of one upload did (per asset)."""

    references: int = 0  # pictures named by the records (every row, every position)
    stored: int = 0  # distinct files written to the media store (a dry run: that would be)
    known: int = 0  # distinct files the media store already held
    missing: int = 0  # distinct paths not found in the upload (nor named by the catalog before)
    carried: int = 0  # distinct paths not in the upload whose file active rows already name: kept
    rejected: int = 0  # references refused (rejects)
    bytes_stored: int = 0
    missing_sample: list[str] = field(default_factory=list)
    rejected_sample: list[str] = field(default_factory=list)

    def missing_text(self) -> str:
        more = "…" if self.missing > len(self.missing_sample) else ""
        return ", ".join(self.missing_sample) + more


_MISSING = None  # cache value of a path the upload lacks


class PicturePublisher:
    """Resolves the pictures of one upload (``root``: its archived directory) into ``store``."""

    def __init__(
        self,
        root: Path | str,
        store: MediaStore,
        *,
        dry_run: bool,
        earlier: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.root = Path(root)
        # the pictures the catalog's active rows already name, by the path 1C wrote (asked for on the first
        # picture the upload lacks): 1C names a picture file by its own GUID, so the same path is the same
        # picture, and a product re-sent without its files keeps them
        self._earlier_source = earlier
        self._earlier: Mapping[str, str] | None = None  # path 1C wrote -> media path
        self._real_root = self.root.resolve()
        self.store = store
        self.dry_run = dry_run
        self.report = PictureReport()
        # (directory of the XML file, path as written) -> the stored file, a refusal, or _MISSING
        self._seen: dict[tuple[str, str], StoredFile | PictureRefused | None] = {}
        self._index: dict[str, str] | None = None  # the upload's files, listed on first use
        self._exact: set[str] = set()
        self._files: dict[Path, StoredFile] = {}  # each file of the upload is stored (and counted) once

    def wrap(self, records: Iterable[Record]) -> Iterator[Record]:
        """``records`` with the pictures of goods and offers published (see the module docstring)."""
        for record in records:
            if isinstance(record, Product | Offer) and record.images:
                yield from self._publish(record)
            yield record

    def _publish(self, record: Product | Offer) -> list[Reject]:
        directory = posixpath.dirname(record.source.file) if record.source is not None else ""
        pictures: list[Picture] = []
        rejects: list[Reject] = []
        for position, raw in enumerate(record.images):
            self.report.references += 1
            found = self._resolve(directory, raw)
            if isinstance(found, PictureRefused):
                self.report.rejected += 1
                if len(self.report.rejected_sample) < SAMPLE_SIZE:
                    self.report.rejected_sample.append(f"{raw}: {found}")
                rejects.append(
                    Reject(record.entity, record.id, f"picture {raw!r}: {found}", raw, record.source)
                )
            elif found is _MISSING:
                pictures.append(Picture(raw, position))
            else:
                pictures.append(Picture(raw, position, found.media, found.sha256, found.size))
        record.pictures = pictures
        return rejects

    def _resolve(self, directory: str, raw: str) -> StoredFile | PictureRefused | None:
        key = (directory, raw)
        if key in self._seen:
            return self._seen[key]
        try:
            found: StoredFile | PictureRefused | None = self._store(directory, raw)
        except PictureRefused as refused:  # the store failing to write is no refusal: it fails the import
            found = refused
        self._seen[key] = found
        return found

    def _store(self, directory: str, raw: str) -> StoredFile | None:
        path = safe_source(raw)
        file = self._locate(directory, path)
        if file is None:
            kept = self._stored_earlier(raw)
            if kept is not None:
                self.report.carried += 1
                return kept
            self.report.missing += 1
            if len(self.report.missing_sample) < SAMPLE_SIZE:
                self.report.missing_sample.append(path)
            return _MISSING
        known = self._files.get(file)
        if known is not None:  # the same file named another way (from another XML file's directory)
            return known
        extension = posixpath.splitext(path)[1].lstrip(".")
        stored = self._files[file] = self.store.put(file, extension, dry_run=self.dry_run)
        if stored.new:
            self.report.stored += 1
            self.report.bytes_stored += stored.size
        else:
            self.report.known += 1
        return stored

    def _stored_earlier(self, raw: str) -> StoredFile | None:
        """The file an active row already names for this path, when it is still in the media store."""
        if self._earlier_source is None:
            return None
        if self._earlier is None:
            self._earlier = self._earlier_source()
        media = self._earlier.get(raw)
        return None if media is None else self.store.stored(media, touch=not self.dry_run)

    def _locate(self, directory: str, path: str) -> Path | None:
        """The file of ``path``: relative to the XML file's directory (as Bitrix reads it), else to the
        upload's root; the exact name first, else one differing only in case (1C on Windows). A file reached
        through a link that leaves the upload is refused."""
        index = self._upload_files()
        candidates = [posixpath.join(directory, path), path] if directory else [path]
        for candidate in candidates:
            name = candidate if candidate in self._exact else index.get(candidate.lower())
            if name is not None:
                file = self.root / name
                try:
                    inside = file.resolve().is_relative_to(self._real_root)
                except (OSError, RuntimeError) as exc:  # a link loop
                    raise PictureRefused(f"cannot be resolved: {exc}") from None
                if not inside:
                    raise PictureRefused("the path leads out of the upload (a link)")
                return file
        return None

    def _upload_files(self) -> dict[str, str]:
        """The upload's files (relative POSIX path, lower case -> as named), listed once: a picture the
        upload lacks costs a lookup, not a file system call."""
        if self._index is None:
            self._index = {}
            for top, _, names in os.walk(self.root):
                base = Path(top).relative_to(self.root).as_posix()
                for name in names:
                    rel = name if base == "." else f"{base}/{name}"
                    self._exact.add(rel)
                    self._index.setdefault(rel.lower(), rel)
        return self._index

    def finish(self) -> None:
        """Make the files written so far durable (once per upload, before the rows that name them commit)."""
        self.store.sync()
