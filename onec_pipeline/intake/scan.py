"""Scanning the incoming directory and deciding when an upload is complete (directory entries, plus the
head and the tail of each XML file: never a whole file).

Layout of the incoming directory (``ONEC_IMPORT_DIR``):

* every subdirectory is one upload (walked recursively);
* the loose files at the top level form one upload (the classic 1C layout: ``import.xml`` +
  ``offers.xml``, with pictures in ``import_files/`` which belongs to the loose upload);
* every ``*.zip`` at the top level is one upload.

An upload is complete when it holds a ``.ready`` marker (for a zip: a sibling ``<name>.zip.ready``), or when
it has settled: no file changed size or mtime for ``settle_seconds`` and between two consecutive scans, and
every XML file ends with the closing tag of its root element.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

READY_MARKER = ".ready"
LOOSE_UPLOAD_NAME = "."  # the name of the upload formed by the loose top-level files
LOOSE_SUBDIRS = frozenset({"import_files"})  # subdirectories that belong to the loose upload
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload")  # files a writer renames when done
TAIL_BYTES = 4096
HEAD_BYTES = 8192

# --------------------------------------------------------------------------------------------- scanning


@dataclass(frozen=True, slots=True)
class FileStat:
    rel: str  # POSIX path relative to the upload root
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class IncomingUpload:
    """An upload candidate in the incoming directory (nothing read but directory entries)."""

    name: str  # subdirectory name, zip file name, or LOOSE_UPLOAD_NAME
    kind: str  # "dir" | "loose" | "zip"
    root: Path  # the incoming directory for "loose", else the subdirectory / zip path
    files: tuple[FileStat, ...]
    paths: tuple[Path, ...]  # absolute paths of the files, parallel to ``files``
    marker: Path | None  # the .ready marker when present

    @property
    def fingerprint(self) -> str:
        """Digest of (name, size, mtime) of every file: changes when anything in the upload changes."""
        h = hashlib.sha256(self.kind.encode())
        for f in self.files:
            # surrogateescape: a name that is not valid UTF-8 still has a fingerprint (the gate refuses it)
            h.update(f"\0{f.rel}\0{f.size}\0{f.mtime_ns}".encode("utf-8", "surrogateescape"))
        return h.hexdigest()[:16]

    @property
    def newest_mtime(self) -> float:
        return max((f.mtime_ns for f in self.files), default=0) / 1e9

    @property
    def xml_paths(self) -> list[Path]:
        return [p for p, f in zip(self.paths, self.files, strict=True) if f.rel.lower().endswith(".xml")]


FileItem = tuple[str, Path, os.stat_result]  # (relative POSIX path, absolute path, stat)


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("~")


def walk_files(root: Path, rel_prefix: str = "") -> Iterator[FileItem]:
    """Regular files under ``root`` (recursively), skipping hidden names and symlinks."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if _is_hidden(entry.name) or entry.is_symlink():
            continue
        rel = f"{rel_prefix}{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from walk_files(Path(entry.path), rel + "/")
        elif entry.is_file(follow_symlinks=False):
            try:
                yield rel, Path(entry.path), entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed while scanning
                continue


def make_upload(
    name: str, kind: str, root: Path, items: Iterable[FileItem], marker: Path | None
) -> IncomingUpload:
    ordered = sorted(items, key=lambda t: t[0])
    return IncomingUpload(
        name=name,
        kind=kind,
        root=root,
        files=tuple(FileStat(rel, st.st_size, st.st_mtime_ns) for rel, _, st in ordered),
        paths=tuple(p for _, p, _ in ordered),
        marker=marker,
    )


def _existing(marker: Path) -> Path | None:
    return marker if marker.exists() else None


def scan_incoming(import_dir: Path | str) -> list[IncomingUpload]:
    """Every upload candidate in the incoming directory, sorted by name (cheap: directory entries only)."""
    import_dir = Path(import_dir)
    if not import_dir.is_dir():
        return []
    uploads: list[IncomingUpload] = []
    loose: list[FileItem] = []
    for entry in sorted(os.scandir(import_dir), key=lambda e: e.name):
        if entry.is_symlink() or _is_hidden(entry.name):
            continue
        path = Path(entry.path)
        name = entry.name.lower()
        if entry.is_dir(follow_symlinks=False):
            if entry.name in LOOSE_SUBDIRS:
                loose.extend(walk_files(path, entry.name + "/"))
            elif items := list(walk_files(path)):
                uploads.append(make_upload(entry.name, "dir", path, items, _existing(path / READY_MARKER)))
        elif not entry.is_file(follow_symlinks=False) or name.endswith(".zip.ready"):
            continue
        elif name.endswith(".zip"):
            item = (entry.name, path, entry.stat(follow_symlinks=False))
            marker = _existing(import_dir / f"{entry.name}{READY_MARKER}")
            uploads.append(make_upload(entry.name, "zip", path, [item], marker))
        else:
            loose.append((entry.name, path, entry.stat(follow_symlinks=False)))
    if any("/" not in rel for rel, _, _ in loose):  # import_files/ alone is not an upload
        marker = _existing(import_dir / READY_MARKER)
        uploads.append(make_upload(LOOSE_UPLOAD_NAME, "loose", import_dir, loose, marker))
    return sorted(uploads, key=lambda u: u.name)


# ------------------------------------------------------------------------------------------ completeness

_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_START_TAG = re.compile(r"<([^\s/>]+)[^>]*?(/?)>", re.S)
_END_TAG = re.compile(r"</\s*([^\s>]+)\s*>$")


def root_tag(head: bytes) -> tuple[str, str, bool] | None:
    """(encoding, root qualified name, self-closing) from the first bytes of an XML file."""
    encoding = "utf-8"
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    declared = _XML_DECL_ENCODING.search(head[:200])
    if declared and encoding != "utf-16":
        encoding = declared.group(1).decode("ascii").lower()
    try:
        text = head.decode(encoding, errors="replace")
    except LookupError:
        text = head.decode("utf-8", errors="replace")
    pos = 0
    while True:
        start = text.find("<", pos)
        if start < 0 or start + 1 >= len(text):
            return None
        nxt = text[start + 1]
        if nxt == "?":
            end = text.find("?>", start)
        elif text.startswith("<!--", start):
            end = text.find("-->", start)
        elif nxt == "!":
            end = text.find(">", start)  # DOCTYPE without internal subset (the reader refuses others)
        else:
            tag = _START_TAG.match(text, start)
            if not tag:
                return None
            return encoding, tag.group(1), tag.group(2) == "/"
        if end < 0:
            return None
        pos = end + 1


def xml_is_complete(path: Path | str) -> bool:
    """Whether an XML file ends with the closing tag of its root element (reads head and tail only)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read(TAIL_BYTES)
    except OSError:
        return False
    root = root_tag(head)
    if root is None:
        return False
    encoding, qname, self_closing = root
    if self_closing and size <= HEAD_BYTES:
        return True
    try:
        text = tail.decode(encoding, errors="replace")
    except LookupError:
        text = tail.decode("utf-8", errors="replace")
    text = text.rstrip("\x00 \t\r\n\ufeff")
    while text.endswith(("-->", "?>")):  # comments / processing instructions after the root are legal
        start = text.rfind("<!--") if text.endswith("-->") else text.rfind("<?")
        if start < 0:
            return False
        text = text[:start].rstrip("\x00 \t\r\n")
    closing = _END_TAG.search(text)
    return closing is not None and closing.group(1) == qname


@dataclass(frozen=True)
class Completeness:
    complete: bool
    reason: str


def check_complete(
    upload: IncomingUpload,
    *,
    now: float,
    settle_seconds: float,
    previous_fingerprint: str | None,
) -> Completeness:
    """Decide whether an upload may be archived.

    ``now`` is a timestamp (seconds), injectable for tests; ``previous_fingerprint`` is what the previous
    scan saw for this upload (the sensor's cursor). Without a ``.ready`` marker, an upload is complete when
    its newest mtime is at least ``settle_seconds`` old, it looked the same at the previous scan (a copy that
    preserves old mtimes is still seen growing), and every XML file ends with its root's closing tag. A
    zip must have a readable central directory (which sits at its end).
    """
    if not upload.files:
        return Completeness(False, "empty")
    if upload.marker is not None:
        return Completeness(True, "marker")
    partial = [f.rel for f in upload.files if f.rel.lower().endswith(PARTIAL_SUFFIXES)]
    if partial:
        return Completeness(False, f"still being written: {partial[0]}")
    age = now - upload.newest_mtime
    if age < settle_seconds:
        return Completeness(False, f"settling: last change {age:.0f}s ago < {settle_seconds:g}s")
    if settle_seconds > 0 and previous_fingerprint != upload.fingerprint:
        return Completeness(False, "settling: changed since the previous scan")
    if upload.kind == "zip":
        if not zipfile.is_zipfile(upload.root):
            return Completeness(False, "zip not complete (no central directory)")
        return Completeness(True, "settled")
    for path in upload.xml_paths:
        if not xml_is_complete(path):
            return Completeness(False, f"incomplete XML (no closing root tag): {path.name}")
    return Completeness(True, "settled")
