"""The media store on disk: every picture once, named by its content, written atomically.

Layout: ``ONEC_MEDIA_DIR/<sha256[:2]>/<sha256>.<ext>`` (``ext``: the picture's own extension, lower case).
A file's name is its content: two goods sharing a picture share one file, a replay finds every file in
place and writes nothing. A file is written to a hidden temporary name in its final directory, then
renamed: a reader (the storefront, the proxy at ``/media/``) sees the whole file or none; :meth:`MediaStore.sync`
flushes the files written to disk before the rows naming them commit.

Refusals (:class:`PictureRefused`) say why in one line: an absolute path or one with ``..``, an extension
that is not a picture's, a file whose first bytes are no image signature, a file over the size cap.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: extensions a picture may have (lower case, without the dot)
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_MEDIA_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]+$")
_CHUNK = 1 << 20
#: temporary files (a crashed write) older than this are removed by :meth:`MediaStore.sweep`
STALE_TEMP_SECONDS = 24 * 3600


class PictureRefused(ValueError):
    """A picture the media store does not take; ``str()`` is the reason."""


def image_format(head: bytes) -> str | None:
    """The image format the first bytes of a file announce (JPEG, PNG, GIF, WEBP, BMP), else None."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def safe_source(raw: str) -> str:
    """The picture path 1C wrote, as a normalised relative POSIX path inside its upload (``\\`` read as
    ``/``); :class:`PictureRefused` for an absolute path, ``..``, a NUL or an extension no picture has."""
    text = raw.strip().replace("\\", "/")
    if "\x00" in text:
        raise PictureRefused("the path contains a NUL character")
    if text.startswith("/") or _DRIVE.match(text):
        raise PictureRefused("absolute path: a picture must lie inside its upload")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PictureRefused("the path leaves the upload (..)")
    if not parts:
        raise PictureRefused("empty path")
    extension = posixpath.splitext(parts[-1])[1].lower().lstrip(".")
    if extension not in IMAGE_EXTENSIONS:
        shown = f".{extension}" if extension else "none"
        raise PictureRefused(f"extension {shown} is not a picture's ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return "/".join(parts)


@dataclass(frozen=True)
class StoredFile:
    """A picture in the media store: ``media`` (``<xx>/<sha256>.<ext>``), its digest and size; ``new``:
    the store did not hold it (and ``written``: this call wrote it; a dry run writes nothing)."""

    media: str
    sha256: str
    size: int
    new: bool
    written: bool


@dataclass
class SweepResult:
    """What :meth:`MediaStore.sweep` did."""

    removed: int = 0
    removed_bytes: int = 0
    kept_referenced: int = 0
    kept_recent: int = 0
    temp_removed: int = 0


class MediaStore:
    """``ONEC_MEDIA_DIR``: ``put`` a picture of an upload, ``sweep`` the unreferenced ones. Creates its
    directories only when it writes a file."""

    def __init__(self, root: Path | str, *, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.unsynced = 0  # files written (renamed into place) and not yet flushed to disk: see sync()

    def path_of(self, media: str) -> Path:
        """The file of a media path (as ``goods.images`` keeps it)."""
        return self.root / media

    def put(self, source: Path, extension: str, *, dry_run: bool = False) -> StoredFile:
        """Check ``source`` (size cap, image signature), then store it once under its hash (unless
        ``dry_run``). A file already stored is left as it is, its time refreshed (the retention period
        counts from the last upload that referenced it). The upload's file unreadable: ``PictureRefused``;
        the store unwritable (disk full, permissions): ``OSError``, which fails the import."""
        try:
            with source.open("rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                self._check(stream, size)
                digest = _sha256(stream, self.max_bytes)
        except OSError as exc:  # the upload's file: a reason; writing the store fails loudly (below)
            raise PictureRefused(f"cannot be read: {exc.strerror or exc}") from None
        media = f"{digest[:2]}/{digest}.{extension.lower()}"
        target = self.root / media
        if _is_stored(target, size):
            if not dry_run:
                os.utime(target)
            return StoredFile(media, digest, size, new=False, written=False)
        if dry_run:
            return StoredFile(media, digest, size, new=True, written=False)
        self._write(source, target, digest)
        return StoredFile(media, digest, size, new=True, written=True)

    def stored(self, media: str, *, touch: bool) -> StoredFile | None:
        """``media`` as stored (its name says its hash), None when the store does not hold it; ``touch``
        refreshes its time, as :meth:`put` does."""
        if not _MEDIA_NAME.match(media):
            return None
        target = self.root / media
        try:
            size = target.stat().st_size
        except OSError:
            return None
        if touch:
            os.utime(target)
        digest = media.split("/", 1)[1].split(".", 1)[0]
        return StoredFile(media, digest, size, new=False, written=False)

    def _check(self, stream: IO[bytes], size: int) -> None:
        if size > self.max_bytes:
            raise PictureRefused(
                f"{size:,} bytes: over the size cap ONEC_MEDIA_MAX_BYTES ({self.max_bytes:,})"
            )
        if size == 0:
            raise PictureRefused("empty file")
        head = stream.read(16)
        if image_format(head) is None:
            raise PictureRefused(
                f"not an image: its first bytes ({head[:8].hex(' ')}) are no image signature"
            )
        stream.seek(0)

    def _write(self, source: Path, target: Path, digest: str) -> None:
        """Copy ``source`` to a hidden temporary file beside ``target`` and rename it: readers see the whole
        file or none (:meth:`sync` makes it durable)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"
        try:
            hasher = hashlib.sha256()
            with source.open("rb") as stream, temp.open("wb") as out:
                while block := stream.read(_CHUNK):
                    hasher.update(block)
                    out.write(block)
            if hasher.hexdigest() != digest:
                raise PictureRefused("the file changed while it was being stored")
            os.replace(temp, target)
            self.unsynced += 1
        finally:
            temp.unlink(missing_ok=True)

    def sync(self) -> None:
        """Flush the files written since the last call to disk (one ``sync`` for all of them: a per-file
        ``fsync`` costs milliseconds each). Call it before committing rows that name them."""
        if self.unsynced:
            os.sync()
            self.unsynced = 0

    def files(self) -> list[tuple[str, Path]]:
        """Every stored file as (media path, file), temporary files excluded."""
        out = []
        for directory in self._directories():
            for path in directory.iterdir():
                media = f"{directory.name}/{path.name}"
                if _MEDIA_NAME.match(media) and path.is_file():
                    out.append((media, path))
        return sorted(out)

    def _directories(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(d for d in self.root.iterdir() if d.is_dir() and re.fullmatch(r"[0-9a-f]{2}", d.name))

    def sweep(self, referenced: set[str], *, older_than: float) -> SweepResult:
        """Remove stored files no entry of ``referenced`` names and last touched before ``older_than``
        (epoch seconds), and temporary files of crashed writes older than a day."""
        result = SweepResult()
        for media, path in self.files():
            if media in referenced:
                result.kept_referenced += 1
                continue
            stat = path.stat()
            if stat.st_mtime >= older_than:
                result.kept_recent += 1
                continue
            path.unlink(missing_ok=True)
            result.removed += 1
            result.removed_bytes += stat.st_size
        stale = time.time() - STALE_TEMP_SECONDS
        for directory in self._directories():
            for path in directory.glob(".tmp-*"):
                if path.stat().st_mtime < stale:
                    path.unlink(missing_ok=True)
                    result.temp_removed += 1
        return result


def _is_stored(target: Path, size: int) -> bool:
    try:
        return target.stat().st_size == size
    except OSError:
        return False


def _sha256(stream: IO[bytes], limit: int) -> str:
    hasher = hashlib.sha256()
    read = 0
    while block := stream.read(_CHUNK):
        read += len(block)
        if read > limit:  # the file grew past the cap while it was read
            raise PictureRefused(f"over the size cap ONEC_MEDIA_MAX_BYTES ({limit:,})")
        hasher.update(block)
    return hasher.hexdigest()
