"""Upload discovery: a directory (walked recursively) or a ``.zip``, every XML file classified by content."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, cast

from .errors import CommerceMLError
from .header import KIND_ORDER, header_from
from .records import Entity, FileHeader, FileKind
from .xmlsafe import Opener

IGNORED_NAMES = frozenset({".ready", "Thumbs.db", "desktop.ini"})
_IMPORTED_KINDS = frozenset(
    {
        FileKind.CLASSIFIER,
        FileKind.GOODS,
        FileKind.OFFER_CLASSIFIER,
        FileKind.OFFERS,
        FileKind.PRICES,
        FileKind.RESTS,
        FileKind.CUSTOMERS,
    }
)


def _natural_key(path: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


def _ignored(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return (
        any(part.startswith(".") for part in parts)
        or parts[-1] in IGNORED_NAMES
        or parts[-1].endswith(".part")
    )


@dataclass
class Upload:
    """One upload: its XML files classified and ordered for import.

    ``files`` holds the importable files ordered classifier -> goods -> offer classifier -> offers ->
    prices -> rests, then customers; ``documents`` the order files (``Entity.ORDERS``, read after ``files``);
    ``unknown`` XML files that hold nothing we import. ``other_files`` counts non-XML files (pictures).
    """

    root: Path
    files: list[FileHeader] = field(default_factory=list)
    documents: list[FileHeader] = field(default_factory=list)
    unknown: list[FileHeader] = field(default_factory=list)
    other_files: int = 0
    other_bytes: int = 0
    is_zip: bool = False

    @property
    def exported_at(self) -> datetime | None:
        """Newest ДатаФормирования of the files (naive and aware values compared as naive local time)."""
        stamps = [h.exported_at for h in self.files + self.documents if h.exported_at is not None]
        if not stamps:
            return None
        return max(stamps, key=lambda d: d.replace(tzinfo=None))

    @property
    def all_files(self) -> list[FileHeader]:
        return [*self.files, *self.documents, *self.unknown]

    @property
    def readable(self) -> list[FileHeader]:
        """The files records are read from, in import order: ``files``, then the order ``documents``."""
        return [*self.files, *self.documents]

    def files_for(self, entity: Entity) -> list[FileHeader]:
        """The files (in import order) that can contribute records of ``entity``."""
        return [h for h in self.readable if entity in file_entities(h)]

    def has(self, entity: Entity) -> bool:
        """Whether any file can contribute records of ``entity`` (decided from the headers only)."""
        return any(entity in file_entities(h) for h in self.readable)

    def is_full(self, entity: Entity) -> bool:
        """True only when every file contributing ``entity`` says СодержитТолькоИзменения=false."""
        contributing = self.files_for(entity)
        return bool(contributing) and all(h.only_changes is False for h in contributing)

    @property
    def entities(self) -> frozenset[Entity]:
        out: set[Entity] = set()
        for header in self.readable:
            out |= file_entities(header)
        return frozenset(out)

    @property
    def size(self) -> int:
        return sum(h.size for h in self.all_files)

    def open(self, header: FileHeader | str) -> IO[bytes]:
        """A binary stream of one file of the upload (a zip member is streamed, not extracted)."""
        rel = header.path if isinstance(header, FileHeader) else header
        if self.is_zip:
            archive = zipfile.ZipFile(self.root)
            try:
                # the reader uses read/seekable/close and the context manager, which _ZipMember provides
                return cast(IO[bytes], _ZipMember(archive, archive.open(rel)))
            except KeyError:
                archive.close()
                raise CommerceMLError("no such member in the zip", file=rel) from None
        return open(self.root / rel, "rb")


class _ZipMember:
    """A zip member stream that also closes its archive."""

    def __init__(self, archive: zipfile.ZipFile, stream: IO[bytes]) -> None:
        self._archive = archive
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_xml(name: str) -> bool:
    return name.lower().endswith(".xml")


def _sort(headers: Iterable[FileHeader]) -> list[FileHeader]:
    return sorted(headers, key=lambda h: (KIND_ORDER[h.kind], _natural_key(h.path)))


def discover_upload(path: str | os.PathLike[str]) -> Upload:
    """Classify every XML file of an upload directory (recursively) or ``.zip`` by content.

    Hidden files, ``.ready`` markers and ``*.part`` files are ignored; non-XML files (pictures under
    ``import_files/``) are counted in ``other_files`` and otherwise ignored. Reads each XML file's header;
    :func:`upload_from_headers` rebuilds the same ``Upload`` from headers kept earlier, reading nothing.
    """
    root = Path(path)
    if root.is_file() and zipfile.is_zipfile(root):
        return _discover_zip(root)
    if root.is_file() and _is_xml(root.name):
        # a single file is an upload of one file
        upload = Upload(root=root.parent)
        header = header_from(_file_opener(root), root.name, root.stat().st_size)
        _place(upload, header)
        return _finish(upload)
    if not root.is_dir():
        raise CommerceMLError("not an upload: neither a directory nor a zip archive", file=str(root))
    upload = Upload(root=root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if _ignored(rel):
                continue
            try:
                size = full.stat().st_size
            except OSError as exc:
                raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
            if not _is_xml(name):
                upload.other_files += 1
                upload.other_bytes += size
                continue
            _place(upload, header_from(_file_opener(full), rel, size))
    return _finish(upload)


def _file_opener(path: Path) -> Opener:
    def open_file() -> IO[bytes]:
        return open(path, "rb")

    return open_file


def _member_opener(upload: Upload, rel: str) -> Opener:
    def open_member() -> IO[bytes]:
        return upload.open(rel)

    return open_member


def _discover_zip(root: Path) -> Upload:
    upload = Upload(root=root, is_zip=True)
    try:
        with zipfile.ZipFile(root) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise CommerceMLError(f"unreadable zip archive: {exc}", file=str(root)) from None
    for info in sorted(infos, key=lambda i: i.filename):
        rel = info.filename
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts:
            raise CommerceMLError("refused: zip member with an absolute or parent path", file=rel)
        if _ignored(rel):
            continue
        if not _is_xml(rel):
            upload.other_files += 1
            upload.other_bytes += info.file_size
            continue
        try:
            header = header_from(_member_opener(upload, rel), rel, info.file_size)
        except (zipfile.BadZipFile, OSError) as exc:
            raise CommerceMLError(f"unreadable zip member: {exc}", file=rel) from None
        _place(upload, header)
    return _finish(upload)


def upload_from_headers(
    root: str | os.PathLike[str], headers: Iterable[FileHeader], *, other_files: int = 0, other_bytes: int = 0
) -> Upload:
    """The ``Upload`` of directory ``root`` whose XML files had ``headers`` (e.g. kept in an archive's
    manifest, see :meth:`FileHeader.to_dict`): classified and ordered like :func:`discover_upload`, without
    opening a file."""
    upload = Upload(root=Path(root), other_files=other_files, other_bytes=other_bytes)
    for header in headers:
        _place(upload, header)
    return _finish(upload)


def file_entities(header: FileHeader) -> frozenset[Entity]:
    """What a file can contribute; an order file of a manifest written before orders were read says nothing,
    its kind does."""
    if header.kind == FileKind.DOCUMENTS and not header.entities:
        return frozenset({Entity.ORDERS})
    return header.entities


def _place(upload: Upload, header: FileHeader) -> None:
    if header.kind in _IMPORTED_KINDS:
        upload.files.append(header)
    elif header.kind == FileKind.DOCUMENTS:
        upload.documents.append(header)
    else:
        upload.unknown.append(header)


def _finish(upload: Upload) -> Upload:
    upload.files = _sort(upload.files)
    upload.documents = _sort(upload.documents)
    upload.unknown = sorted(upload.unknown, key=lambda h: _natural_key(h.path))
    return upload
