"""The public reading functions: a whole upload in import order, one file, or only the lookups."""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from ..errors import CommerceMLError
from ..header import header_from
from ..records import Entity, FileHeader, Record
from ..upload import Upload, file_entities
from ..xmlsafe import PROLOG_BYTES, Opener, check_prolog
from . import fastpath
from .context import Lookups, ReadStats
from .driver import FileReader
from .handler import Batch

ALL_ENTITIES = frozenset(Entity)
_LOOKUP_ENTITIES = frozenset({Entity.PROPERTIES, Entity.UNITS})


def _open_checked(opener: Opener, file: str) -> IO[bytes]:
    try:
        return opener()
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=file) from None


def _read_one(
    opener: Opener, header: FileHeader, make_reader: Callable[[], FileReader], fast: bool
) -> Iterator[Batch]:
    with _open_checked(opener, header.path) as stream:
        head = stream.read(PROLOG_BYTES)
    check_prolog(head, header.path)
    reader = make_reader()
    skip = 0  # batches the fast path yielded: the reference's first ones, not yielded twice
    scanner = fastpath.scanner_for(header, reader.context, lookups_only=reader.lookups_only) if fast else None
    if scanner is not None:
        stats = reader.context.stats
        saved = _counters(stats)
        try:
            for batch in scanner.batches(opener, reader.batches):
                skip += 1
                yield batch
            stats.fast_files += 1
            return
        except OSError as exc:
            raise CommerceMLError(f"cannot read file: {exc}", file=header.path) from None
        except fastpath.Fallback as exc:
            _restore(stats, saved)
            stats.fallbacks.append(f"{header.path}: {exc}")
            reader = make_reader()
    with _open_checked(opener, header.path) as stream:
        try:
            for batch in reader.batches(stream):
                if skip:
                    skip -= 1
                    continue
                yield batch
        except OSError as exc:
            raise CommerceMLError(f"cannot read file: {exc}", file=header.path) from None


def _counters(stats: ReadStats) -> tuple:
    return Counter(stats.counts), stats.empty_prices, stats.rejects, Counter(stats.rejects_by_entity)


def _restore(stats: ReadStats, saved: tuple) -> None:
    """Put the counters back as they were before the fast path read (the reference counts afresh)."""
    counts, stats.empty_prices, stats.rejects, rejects_by_entity = saved
    stats.counts.clear()
    stats.counts.update(counts)
    stats.rejects_by_entity.clear()
    stats.rejects_by_entity.update(rejects_by_entity)


def fast_path_default() -> bool:
    """Whether reads take the fast path where it applies: yes, unless ``ONEC_READER_FAST=0``."""
    return os.environ.get("ONEC_READER_FAST", "1").strip().lower() not in ("0", "false", "no", "off")


def _upload_opener(upload: Upload, header: FileHeader) -> Opener:
    def open_file() -> IO[bytes]:
        return upload.open(header)

    return open_file


def _path_opener(path: Path) -> Opener:
    def open_file() -> IO[bytes]:
        return open(path, "rb")

    return open_file


def iter_file_records(
    source: Upload | str | os.PathLike[str],
    header: FileHeader | None = None,
    entities: Iterable[Entity] | None = None,
    *,
    stats: ReadStats | None = None,
    lookups: Lookups | None = None,
    fast: bool | None = None,
) -> Iterator[Record]:
    """Records of one file: ``source`` is an :class:`Upload` (then ``header`` names the file) or a path.

    ``entities`` defaults to all. Справочник values resolve against ``lookups`` (and against the
    properties of the file itself, read before its goods/offers when the classifier comes first).
    ``fast``: read prices and rests files by :mod:`.fastpath` where it applies (the same records; default
    :func:`fast_path_default`); False reads every file with the reference.
    """
    wanted = ALL_ENTITIES if entities is None else frozenset(entities)
    stats = stats if stats is not None else ReadStats()
    lookups = lookups if lookups is not None else Lookups()
    if isinstance(source, Upload):
        if header is None:
            raise ValueError("iter_file_records(upload, header, ...) needs the header of the file")
        opener = _upload_opener(source, header)
    else:
        path = Path(source)
        opener = _path_opener(path)
        if header is None:
            header = header_from(opener, path.name, path.stat().st_size)
    stats.files += 1
    stats.bytes += header.size
    # stats.seconds counts the reader's own time only, not the consumer's time between records
    clock = time.perf_counter
    started = clock()
    paused = False  # while the consumer holds the records of a batch
    try:
        # the file reader yields small batches (the records of one element): the clock runs per batch
        fast = fast_path_default() if fast is None else fast
        make_reader = functools.partial(FileReader, header, wanted, lookups, stats)
        for batch in _read_one(opener, header, make_reader, fast):
            stats.seconds += clock() - started
            paused = True
            yield from batch
            paused = False
            started = clock()
    finally:
        if not paused:
            stats.seconds += clock() - started


def collect_lookups(upload: Upload, lookups: Lookups | None = None) -> Lookups:
    """Property dictionaries and units of every classifier section of the upload (stops after each
    file's Классификатор, so a classic 2 GB import.xml costs only its classifier)."""
    lookups = lookups if lookups is not None else Lookups()
    scratch = ReadStats()
    for header in upload.files:
        if header.entities.isdisjoint(_LOOKUP_ENTITIES):
            continue
        make_reader = functools.partial(FileReader, header, frozenset(), lookups, scratch, lookups_only=True)
        for _batch in _read_one(_upload_opener(upload, header), header, make_reader, False):
            pass
    return lookups


def read_upload(
    upload: Upload,
    entities: Iterable[Entity],
    stats: ReadStats | None = None,
    *,
    fast: bool | None = None,
) -> Iterator[Record]:
    """Stream records of the wanted entities from the files that can hold them, in import order.

    Справочник property values are resolved through the classifier files of the same upload (a cheap
    pre-pass when goods or offers are wanted). Reject records are yielded for entity-level problems;
    :class:`CommerceMLError` is raised for document-level problems. ``fast``: as :func:`iter_file_records`.
    """
    wanted = frozenset(entities)
    stats = stats if stats is not None else ReadStats()
    lookups = Lookups()
    if Entity.GOODS in wanted or Entity.OFFERS in wanted:
        started = time.perf_counter()
        collect_lookups(upload, lookups)
        stats.seconds += time.perf_counter() - started
    for header in upload.readable:
        if file_entities(header).isdisjoint(wanted):
            continue
        yield from iter_file_records(upload, header, wanted, stats=stats, lookups=lookups, fast=fast)
