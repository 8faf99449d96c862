"""Upload intake: find complete uploads in the incoming directory, key them and archive them atomically.

Pure Python (no Dagster, no database). Used by the sensor (``defs/sensors.py``), by ``run_import`` /
``onec-pipeline import`` and by the ``archive_retention`` schedule.

Layout of the incoming directory (``ONEC_IMPORT_DIR``):

* every subdirectory is one upload (walked recursively);
* the loose files at the top level form one upload (the classic 1C layout: ``import.xml`` +
  ``offers.xml``, with pictures in ``import_files/`` which belongs to the loose upload);
* every ``*.zip`` at the top level is one upload.

An upload is complete when it holds a ``.ready`` marker (for a zip: a sibling ``<name>.zip.ready``), or when
it has settled: no file changed size or mtime for ``settle_seconds`` and between two consecutive scans, and
every XML file ends with the closing tag of its root element (only the head and the tail of each file
are read, never the whole file).

The upload key ``YYYYMMDDTHHMMSS-<hash8>`` sorts chronologically: the time is the newest export time
(``ДатаФормирования``) of its files, falling back to the newest file mtime; the hash covers the relative
names, sizes and SHA-256 digests of the files, so a re-upload of the same names with new content gets a
new key while the same content gets the same key.

Archived uploads live in ``ONEC_ARCHIVE_DIR/<key>/``; a manifest ``.onec-upload.json`` inside records the
files (name, size, sha256), where the upload came from and which entities it exports in full. A zip upload
is extracted there and the zip itself is kept as ``ONEC_ARCHIVE_DIR/<key>.zip``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

READY_MARKER = ".ready"
MANIFEST_NAME = ".onec-upload.json"
LOOSE_UPLOAD_NAME = "."  # the name of the upload formed by the loose top-level files
LOOSE_SUBDIRS = frozenset({"import_files"})  # subdirectories that belong to the loose upload
KEY_RE = re.compile(r"^(\d{8}T\d{6})-([0-9a-f]{8})$")
KEY_TIME_FORMAT = "%Y%m%dT%H%M%S"
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload")  # files a writer renames when done
TAIL_BYTES = 4096
HEAD_BYTES = 8192

# zip extraction limits (a zip bomb or a hostile archive is refused, not extracted)
ZIP_MAX_TOTAL_BYTES = int(os.environ.get("ONEC_ZIP_MAX_BYTES", str(8 * 1024**3)))
ZIP_MAX_MEMBERS = 100_000
ZIP_MAX_RATIO = 200  # uncompressed / compressed, per member larger than 1 MiB


class IntakeError(Exception):
    """An upload cannot be archived (hostile zip, unreadable files...)."""


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
            h.update(f"\0{f.rel}\0{f.size}\0{f.mtime_ns}".encode())
        return h.hexdigest()[:16]

    @property
    def newest_mtime(self) -> float:
        return max((f.mtime_ns for f in self.files), default=0) / 1e9

    @property
    def xml_paths(self) -> list[Path]:
        return [p for p, f in zip(self.paths, self.files, strict=True) if f.rel.lower().endswith(".xml")]


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("~")


def _walk_files(root: Path, rel_prefix: str = "") -> Iterable[tuple[str, Path, os.stat_result]]:
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
            yield from _walk_files(Path(entry.path), rel + "/")
        elif entry.is_file(follow_symlinks=False):
            try:
                yield rel, Path(entry.path), entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed while scanning
                continue


def _make_upload(name: str, kind: str, root: Path, items, marker: Path | None) -> IncomingUpload:
    items = sorted(items, key=lambda t: t[0])
    return IncomingUpload(
        name=name,
        kind=kind,
        root=root,
        files=tuple(FileStat(rel, st.st_size, st.st_mtime_ns) for rel, _, st in items),
        paths=tuple(p for _, p, _ in items),
        marker=marker,
    )


def scan_incoming(import_dir: Path | str) -> list[IncomingUpload]:
    """Every upload candidate in the incoming directory, sorted by name (cheap: directory entries only)."""
    import_dir = Path(import_dir)
    if not import_dir.is_dir():
        return []
    uploads: list[IncomingUpload] = []
    loose: list[tuple[str, Path, os.stat_result]] = []
    for entry in sorted(os.scandir(import_dir), key=lambda e: e.name):
        if entry.is_symlink() or _is_hidden(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if entry.name in LOOSE_SUBDIRS:
                loose.extend(_walk_files(path, entry.name + "/"))
                continue
            items = list(_walk_files(path))
            if not items:
                continue
            marker = path / READY_MARKER
            uploads.append(_make_upload(entry.name, "dir", path, items, marker if marker.exists() else None))
        elif entry.is_file(follow_symlinks=False):
            if entry.name.lower().endswith(".zip.ready"):
                continue
            if entry.name.lower().endswith(".zip"):
                st = entry.stat(follow_symlinks=False)
                marker = import_dir / f"{entry.name}{READY_MARKER}"
                uploads.append(
                    _make_upload(
                        entry.name,
                        "zip",
                        path,
                        [(entry.name, path, st)],
                        marker if marker.exists() else None,
                    )
                )
            else:
                loose.append((entry.name, path, entry.stat(follow_symlinks=False)))
    if any("/" not in rel for rel, _, _ in loose):  # import_files/ alone is not an upload
        marker = import_dir / READY_MARKER
        uploads.append(
            _make_upload(LOOSE_UPLOAD_NAME, "loose", import_dir, loose, marker if marker.exists() else None)
        )
    return sorted(uploads, key=lambda u: u.name)


# ------------------------------------------------------------------------------------------ completeness

_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


def _root_tag(head: bytes) -> tuple[str, str, bool] | None:
    """(encoding, root qualified name, self-closing) from the first bytes of an XML file."""
    encoding = "utf-8"
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    m = _XML_DECL_ENCODING.search(head[:200])
    if m and encoding != "utf-16":
        encoding = m.group(1).decode("ascii").lower()
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
            m = re.match(r"<([^\s/>]+)[^>]*?(/?)>", text[start:], re.S)
            if not m:
                return None
            return encoding, m.group(1), m.group(2) == "/"
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
    root = _root_tag(head)
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
    m = re.search(r"</\s*([^\s>]+)\s*>$", text)
    return bool(m) and m.group(1) == qname


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


# ---------------------------------------------------------------------------------------------- keying


@dataclass(frozen=True)
class ManifestFile:
    name: str
    size: int
    sha256: str


@dataclass
class Manifest:
    key: str
    source: str  # where the upload came from (incoming path)
    kind: str
    archived_at: str  # ISO UTC
    exported_at: str | None  # ISO, naive local time as 1C writes it
    full_entities: list[str] = field(default_factory=list)  # entity names exported in full
    files: list[ManifestFile] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "source": self.source,
                "kind": self.kind,
                "archived_at": self.archived_at,
                "exported_at": self.exported_at,
                "full_entities": self.full_entities,
                "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        return cls(
            key=d["key"],
            source=d.get("source", ""),
            kind=d.get("kind", "dir"),
            archived_at=d.get("archived_at", ""),
            exported_at=d.get("exported_at"),
            full_entities=list(d.get("full_entities", [])),
            files=[ManifestFile(f["name"], int(f["size"]), f["sha256"]) for f in d.get("files", [])],
        )


def sha256_file(path: Path, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def content_hash(files: Iterable[ManifestFile]) -> str:
    """8 hex digits over (relative name, size, sha256) of every file, independent of order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        h.update(f"{f.name}\0{f.size}\0{f.sha256}\n".encode())
    return h.hexdigest()[:8]


def _local_naive(dt: datetime) -> datetime:
    return dt.astimezone().replace(tzinfo=None) if dt.tzinfo is not None else dt


def make_key(exported_at: datetime, digest: str) -> str:
    return f"{_local_naive(exported_at).strftime(KEY_TIME_FORMAT)}-{digest}"


def key_time(key: str) -> datetime | None:
    """The (naive) time encoded in an upload key, None when it is not a key."""
    m = KEY_RE.match(key)
    return datetime.strptime(m.group(1), KEY_TIME_FORMAT) if m else None


def describe_files(root: Path) -> tuple[list[ManifestFile], datetime | None, list[str], float]:
    """Files of an upload directory with sha256, the newest export time, the fully exported entities and
    the newest mtime. Reads each file once (hash) and each XML file's header (root + section starts)."""
    from onec_pipeline.commerceml import CommerceMLError, read_header

    files: list[ManifestFile] = []
    exported: list[datetime] = []
    full: dict[str, bool] = {}
    newest_mtime = 0.0
    items = list(_walk_files(root))
    # hashlib releases the GIL while hashing: the files of a split package are hashed on every core
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1, len(items)))) as pool:
        digests = list(pool.map(lambda item: sha256_file(item[1]), items))
    for (rel, path, st), digest in zip(items, digests, strict=True):
        files.append(ManifestFile(rel, st.st_size, digest))
        newest_mtime = max(newest_mtime, st.st_mtime)
        if not rel.lower().endswith(".xml"):
            continue
        try:
            header = read_header(path, rel)
        except (CommerceMLError, OSError, ValueError):
            continue
        if header.exported_at is not None:
            exported.append(_local_naive(header.exported_at))
        kind = str(getattr(header.kind, "value", header.kind))
        if kind in ("unknown", "documents"):
            continue
        is_full = header.only_changes is False
        full[kind] = full.get(kind, True) and is_full
    export_time = max(exported) if exported else None
    return files, export_time, sorted(k for k, v in full.items() if v), newest_mtime


def compute_key(root: Path) -> tuple[str, Manifest]:
    """The upload key of a directory and its manifest (source/kind/archived_at left for the caller)."""
    files, exported_at, full, newest_mtime = describe_files(root)
    when = exported_at or datetime.fromtimestamp(newest_mtime or 0)
    key = make_key(when, content_hash(files))
    manifest = Manifest(
        key=key,
        source=str(root),
        kind="dir",
        archived_at="",
        exported_at=exported_at.isoformat() if exported_at else None,
        full_entities=full,
        files=files,
    )
    return key, manifest


# ------------------------------------------------------------------------------------------- archiving


@dataclass(frozen=True)
class ArchivedUpload:
    key: str
    path: Path  # ARCHIVE/<key>
    manifest: Manifest
    duplicate: bool = False  # the same content was archived before; the incoming copy was discarded


def _same_filesystem(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def _new_tmp_dir(archive_dir: Path) -> Path:
    archive_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".tmp-", dir=archive_dir))


def _move_file(src: Path, dst: Path, same_fs: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if same_fs:
        os.replace(src, dst)
    else:
        _copy_file(src, dst)


def _copy_file(src: Path, dst: Path) -> None:
    """Copy content and mtime, not permissions (samples and mounts may be read-only)."""
    shutil.copyfile(src, dst)
    st = os.stat(src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _finish(tmp: Path, archive_dir: Path, manifest: Manifest) -> ArchivedUpload:
    """Write the manifest and rename the staging dir to ARCHIVE/<key> (atomic); dedup identical content."""
    target = archive_dir / manifest.key
    manifest.archived_at = datetime.now(UTC).isoformat(timespec="seconds")
    (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    if target.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        existing = read_manifest(target) or manifest
        return ArchivedUpload(manifest.key, target, existing, duplicate=True)
    try:
        os.rename(tmp, target)
    except OSError:
        if target.exists():  # a concurrent archiver won the race with the same content
            shutil.rmtree(tmp, ignore_errors=True)
            return ArchivedUpload(manifest.key, target, read_manifest(target) or manifest, duplicate=True)
        raise
    return ArchivedUpload(manifest.key, target, manifest)


def archive_path(src: Path | str, archive_dir: Path | str, *, keep_source: bool = False) -> ArchivedUpload:
    """Archive one upload given by path: a directory, a single XML file or a ``.zip``.

    The source is moved (renamed on the same filesystem, else copied then removed) unless
    ``keep_source`` is set (the CLI's default for paths outside the incoming directory: the operator's
    files are copied, never taken away).
    """
    src = Path(src).resolve()
    archive_dir = Path(archive_dir).resolve()
    archive_dir.mkdir(parents=True, exist_ok=True)
    if src.is_file() and src.suffix.lower() == ".zip":
        return archive_zip(src, archive_dir, keep_source=keep_source)
    if src.is_file():
        items = [(src.name, src, src.stat())]
        upload = _make_upload(src.name, "loose", src.parent, items, None)
    elif src.is_dir():
        items = list(_walk_files(src))
        if not items:
            raise IntakeError(f"{src}: no files to import")
        upload = _make_upload(src.name, "dir", src, items, None)
    else:
        raise IntakeError(f"{src}: no such file or directory")
    return archive_upload(upload, archive_dir, keep_source=keep_source)


def archive_upload(
    upload: IncomingUpload, archive_dir: Path | str, *, keep_source: bool = False
) -> ArchivedUpload:
    """Move a complete upload into ``ARCHIVE/<key>/`` atomically (see the module docstring)."""
    archive_dir = Path(archive_dir).resolve()
    archive_dir.mkdir(parents=True, exist_ok=True)
    if upload.kind == "zip":
        return archive_zip(upload.root, archive_dir, keep_source=keep_source, marker=upload.marker)
    same_fs = _same_filesystem(upload.root, archive_dir) and not keep_source
    moved_dir = upload.kind == "dir" and same_fs
    if moved_dir:
        # one rename takes the whole directory out of the incoming area into the staging area
        tmp = archive_dir / f".tmp-{uuid.uuid4().hex}"
        os.rename(upload.root, tmp)
    else:
        tmp = _new_tmp_dir(archive_dir)
    try:
        if not moved_dir:
            for f, path in zip(upload.files, upload.paths, strict=True):
                _move_file(path, tmp / f.rel, same_fs)
        if (tmp / READY_MARKER).exists():
            (tmp / READY_MARKER).unlink()
        _key, manifest = compute_key(tmp)
        manifest.source = str(upload.root if upload.kind != "loose" else upload.root / "*")
        manifest.kind = upload.kind
        result = _finish(tmp, archive_dir, manifest)
    except BaseException:
        if moved_dir and tmp.exists() and not upload.root.exists():
            os.rename(tmp, upload.root)  # give the upload back untouched
        elif tmp.exists() and same_fs:  # loose files were renamed one by one: put them back
            for f, path in zip(upload.files, upload.paths, strict=True):
                staged = tmp / f.rel
                if staged.exists() and not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, path)
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    # remove what is left at the source (copies across filesystems; the loose marker; empty import_files/)
    if not keep_source:
        if upload.kind == "dir" and not same_fs:
            shutil.rmtree(upload.root, ignore_errors=True)
        elif upload.kind == "loose":
            if not same_fs:
                for path in upload.paths:
                    path.unlink(missing_ok=True)
            if upload.marker is not None:
                upload.marker.unlink(missing_ok=True)
            for sub in LOOSE_SUBDIRS:
                _remove_empty_dirs(upload.root / sub)
    return result


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # not flagged UTF-8: zipfile decoded cp437; 1C/Windows write cp866
        try:
            name = name.encode("cp437").decode("cp866")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path a zip member may be extracted to, or None for a directory entry.

    Raises IntakeError for absolute paths, drive letters and ``..`` components."""
    if name.endswith("/"):
        return None
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(f"zip member with an absolute path: {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise IntakeError(f"zip member escaping the archive: {name!r}")
    if not parts:
        return None
    return PurePosixPath(*parts)


def extract_zip_safely(zip_path: Path, dest: Path) -> list[str]:
    """Extract a zip into ``dest`` refusing absolute paths, ``..``, symlinks and zip bombs."""
    written: list[str] = []
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise IntakeError(f"{zip_path.name}: not a zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            raise IntakeError(f"{zip_path.name}: {len(infos)} members (limit {ZIP_MAX_MEMBERS})")
        total = sum(i.file_size for i in infos)
        if total > ZIP_MAX_TOTAL_BYTES:
            raise IntakeError(f"{zip_path.name}: {total} bytes uncompressed (limit {ZIP_MAX_TOTAL_BYTES})")
        for info in infos:
            rel = safe_member_path(_member_name(info))
            if rel is None:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise IntakeError(f"{zip_path.name}: symlink member {info.filename!r} refused")
            if info.file_size > (1 << 20) and info.file_size > ZIP_MAX_RATIO * max(1, info.compress_size):
                raise IntakeError(f"{zip_path.name}: member {info.filename!r} compression ratio too high")
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            written_bytes = 0
            with zf.open(info) as src, target.open("wb") as out:
                while block := src.read(1 << 20):
                    written_bytes += len(block)
                    if written_bytes > info.file_size:  # lying header
                        raise IntakeError(f"{zip_path.name}: member {info.filename!r} larger than declared")
                    out.write(block)
            written.append(str(rel))
    return written


def archive_zip(
    zip_path: Path | str, archive_dir: Path | str, *, keep_source: bool = False, marker: Path | None = None
) -> ArchivedUpload:
    """Extract a zip upload into ``ARCHIVE/<key>/`` and keep the zip as ``ARCHIVE/<key>.zip``."""
    zip_path = Path(zip_path)
    archive_dir = Path(archive_dir).resolve()
    tmp = _new_tmp_dir(archive_dir)
    try:
        extract_zip_safely(zip_path, tmp)
        _key, manifest = compute_key(tmp)
        manifest.source = str(zip_path)
        manifest.kind = "zip"
        result = _finish(tmp, archive_dir, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    kept = archive_dir / f"{result.key}.zip"
    if not kept.exists():
        if not keep_source and _same_filesystem(zip_path.parent, archive_dir):
            os.replace(zip_path, kept)
        else:
            _copy_file(zip_path, kept)
    if not keep_source:
        zip_path.unlink(missing_ok=True)
        if marker is not None:
            marker.unlink(missing_ok=True)
    return result


def read_manifest(upload_dir: Path | str) -> Manifest | None:
    path = Path(upload_dir) / MANIFEST_NAME
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None


def list_archived(archive_dir: Path | str) -> list[str]:
    """Keys of the archived uploads, sorted (= chronologically)."""
    archive_dir = Path(archive_dir)
    if not archive_dir.is_dir():
        return []
    return sorted(e.name for e in os.scandir(archive_dir) if e.is_dir() and KEY_RE.match(e.name))


# ------------------------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class RetentionItem:
    key: str
    full: bool  # the upload exports at least one entity in full


def select_for_retention(items: Sequence[RetentionItem], *, now: datetime, retention_days: int) -> list[str]:
    """Keys to remove: older than ``retention_days`` (by the time in the key), never the newest full export.

    Pure function. Keys that are not upload keys are never selected.
    """
    cutoff = now.replace(tzinfo=None) - timedelta(days=retention_days)
    keyed = [(key_time(i.key), i) for i in items]
    keyed = [(t, i) for t, i in keyed if t is not None]
    fulls = [i.key for _, i in keyed if i.full]
    newest_full = max(fulls) if fulls else None
    return sorted(i.key for t, i in keyed if t < cutoff and i.key != newest_full)


def retention_items(archive_dir: Path | str) -> list[RetentionItem]:
    archive_dir = Path(archive_dir)
    items = []
    for key in list_archived(archive_dir):
        manifest = read_manifest(archive_dir / key)
        items.append(RetentionItem(key, bool(manifest and manifest.full_entities)))
    return items


def remove_archived(archive_dir: Path | str, key: str) -> None:
    """Delete ``ARCHIVE/<key>/`` and ``ARCHIVE/<key>.zip`` (rename first so a reader never sees half)."""
    archive_dir = Path(archive_dir)
    if not KEY_RE.match(key):
        raise ValueError(f"not an upload key: {key!r}")
    target = archive_dir / key
    if target.is_dir():
        doomed = archive_dir / f".del-{key}-{uuid.uuid4().hex[:6]}"
        os.rename(target, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    (archive_dir / f"{key}.zip").unlink(missing_ok=True)
