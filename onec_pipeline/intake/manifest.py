"""The upload key and the manifest of an archived upload (``ARCHIVE/<key>/.onec-upload.json``).

The upload key ``YYYYMMDDTHHMMSS-<hash8>`` sorts chronologically: the time is the newest export time
(``ДатаФормирования``) of its files, falling back to the newest file mtime; the hash covers the relative
names, sizes and SHA-256 digests of the files, so a re-upload of the same names with new content gets a
new key while the same content gets the same key.

The manifest records the files (name, size, sha256), where the upload came from, which file kinds it
exports in full and what the reader learnt from each XML file's header (``FileHeader.to_dict()``, plus the
count and bytes of the other files): :func:`load_upload` rebuilds the upload from it without opening a
file, so a header is read once per upload, when it is archived.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from onec_pipeline.commerceml import (
    CommerceMLError,
    FileHeader,
    FileKind,
    Upload,
    discover_upload,
    read_header,
    upload_from_headers,
)
from onec_pipeline.settings import Settings

from .errors import IntakeError
from .scan import FileItem, walk_files

MANIFEST_NAME = ".onec-upload.json"
KEY_RE = re.compile(r"^(\d{8}T\d{6})-([0-9a-f]{8})$")
KEY_TIME_FORMAT = "%Y%m%dT%H%M%S"
# kinds whose files hold no catalog or customer data: they never make an upload "full"
_NOT_EXPORTED_KINDS = frozenset({FileKind.UNKNOWN, FileKind.DOCUMENTS})


# ------------------------------------------------------------------------------------------ manifest


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
    # file kinds (FileKind values) every file of which says СодержитТолькоИзменения=false
    full_kinds: list[str] = field(default_factory=list)
    files: list[ManifestFile] = field(default_factory=list)
    # the header of every XML file, as the reader classified it when the upload was archived; None in a
    # manifest written before headers were kept, or when a header could not be read (then the files are
    # read again, and that reports the error)
    headers: list[FileHeader] | None = None
    other_files: int = 0  # files that are not XML (pictures), as the reader counts them
    other_bytes: int = 0
    # XML files that feed no asset, "file: why" (CommerceML with nothing to import)
    not_imported: list[str] = field(default_factory=list)
    # the export time the files declare when it lay more than ONEC_FUTURE_TOLERANCE ahead of the upload's
    # arrival: not trusted for the key (which then carries the arrival time); None when trusted
    untrusted_export_time: str | None = None

    @property
    def xml_bytes(self) -> int:
        """The size of the upload's XML files (what its import reads)."""
        return sum(f.size for f in self.files if f.name.lower().endswith(".xml"))

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "key": self.key,
            "source": self.source,
            "kind": self.kind,
            "archived_at": self.archived_at,
            "exported_at": self.exported_at,
            "full_kinds": self.full_kinds,
            "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
        }
        if self.headers is not None:
            data["headers"] = [h.to_dict() for h in self.headers]
            data["other_files"] = self.other_files
            data["other_bytes"] = self.other_bytes
        if self.not_imported:
            data["not_imported"] = self.not_imported
        if self.untrusted_export_time:
            data["untrusted_export_time"] = self.untrusted_export_time
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        headers = d.get("headers")
        return cls(
            key=d["key"],
            source=d.get("source", ""),
            kind=d.get("kind", "dir"),
            archived_at=d.get("archived_at", ""),
            exported_at=d.get("exported_at"),
            # "full_entities": the name manifests gave this list before it was named for what it holds
            full_kinds=list(d.get("full_kinds", d.get("full_entities", []))),
            files=[ManifestFile(f["name"], int(f["size"]), f["sha256"]) for f in d.get("files", [])],
            headers=None if headers is None else [FileHeader.from_dict(h) for h in headers],
            other_files=int(d.get("other_files", 0)),
            other_bytes=int(d.get("other_bytes", 0)),
            not_imported=[str(n) for n in d.get("not_imported", [])],
            untrusted_export_time=d.get("untrusted_export_time"),
        )


def read_manifest(upload_dir: Path | str) -> Manifest | None:
    path = Path(upload_dir) / MANIFEST_NAME
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_upload(upload_dir: Path | str, manifest: Manifest | None = None) -> Upload:
    """The ``Upload`` of an archived directory, rebuilt from the headers its manifest keeps (reads no XML
    file); read from the files (``discover_upload``) when the manifest keeps none. ``manifest`` saves
    reading it again when the caller has it. Raises ``CommerceMLError`` like ``discover_upload``."""
    if manifest is None:
        manifest = read_manifest(upload_dir)
    if manifest is None or manifest.headers is None:
        return discover_upload(upload_dir)
    return upload_from_headers(
        upload_dir, manifest.headers, other_files=manifest.other_files, other_bytes=manifest.other_bytes
    )


# ---------------------------------------------------------------------------------------------- keying


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
    when = _local_naive(exported_at)
    # the year zero-padded by hand: strftime writes year 1 as "1", which is no key
    return f"{when.year:04d}{when.strftime(KEY_TIME_FORMAT)[-11:]}-{digest}"


def key_time(key: str) -> datetime | None:
    """The (naive) time encoded in an upload key, None when it is not a key."""
    m = KEY_RE.match(key)
    return datetime.strptime(m.group(1), KEY_TIME_FORMAT) if m else None


@dataclass
class Description:
    """What :func:`describe_files` learnt about an upload directory."""

    files: list[ManifestFile]
    exported_at: datetime | None  # the newest export time of the XML files
    full_kinds: list[str]
    newest_mtime: float
    upload: Upload | None  # the reader's view of the directory; None when a header could not be read


def _hash_files(items: list[FileItem]) -> list[str]:
    # hashlib releases the GIL while hashing: the files of a split package are hashed on every core
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1, len(items)))) as pool:
        return list(pool.map(lambda item: sha256_file(item[1]), items))


def _headers_by_path(root: Path, strict: bool) -> tuple[Upload | None, dict[str, FileHeader]]:
    """Every XML file's header, read once: through the reader's own discovery when every header reads
    (kept in the manifest), else (not ``strict``) file by file, skipping the unreadable ones (for the key
    only). ``strict``: an unreadable header is an ``IntakeError`` naming the file."""
    try:
        upload = discover_upload(root)
    except (CommerceMLError, OSError, ValueError) as exc:
        if strict:
            file = exc.file if isinstance(exc, CommerceMLError) else None
            line = exc.line if isinstance(exc, CommerceMLError) else None
            raise IntakeError(f"cannot read the upload's headers: {exc}", file=file, line=line) from None
        upload = None
    if upload is not None:
        return upload, {h.path: h for h in upload.all_files}
    headers = {}
    for rel, path, _st in walk_files(root):
        if rel.lower().endswith(".xml"):
            try:
                headers[rel] = read_header(path, rel)
            except (CommerceMLError, OSError, ValueError):
                continue
    return None, headers


def hash_upload(root: Path) -> list[ManifestFile]:
    """The files of an upload directory with their size and sha256 (no file is parsed)."""
    items = list(walk_files(root))
    digests = _hash_files(items)
    return [
        ManifestFile(rel, st.st_size, digest) for (rel, _path, st), digest in zip(items, digests, strict=True)
    ]


def describe_files(
    root: Path, *, strict: bool = False, hashed: list[ManifestFile] | None = None
) -> Description:
    """Files of an upload directory with sha256, the newest export time, the fully exported file kinds, the
    newest mtime and the reader's view of the upload. Reads each file once (hash; ``hashed``: the digests
    :func:`hash_upload` gave for the same files) and each XML file's header once (root + section starts)."""
    items = list(walk_files(root))
    known = {f.name: f.sha256 for f in hashed or ()}
    if hashed is not None and len(known) == len(items) and all(rel in known for rel, _p, _st in items):
        digests = [known[rel] for rel, _p, _st in items]
    else:
        digests = _hash_files(items)
    upload, headers = _headers_by_path(root, strict)
    files: list[ManifestFile] = []
    exported: list[datetime] = []
    full: dict[str, bool] = {}
    newest_mtime = 0.0
    for (rel, _path, st), digest in zip(items, digests, strict=True):
        files.append(ManifestFile(rel, st.st_size, digest))
        newest_mtime = max(newest_mtime, st.st_mtime)
        header = headers.get(rel) if rel.lower().endswith(".xml") else None
        if header is None:
            continue
        if header.exported_at is not None:
            exported.append(_local_naive(header.exported_at))
        if header.kind in _NOT_EXPORTED_KINDS:
            continue
        kind = str(header.kind)
        full[kind] = full.get(kind, True) and header.only_changes is False
    return Description(
        files=files,
        exported_at=max(exported) if exported else None,
        full_kinds=sorted(k for k, v in full.items() if v),
        newest_mtime=newest_mtime,
        upload=upload,
    )


def future_tolerance() -> timedelta:
    """``ONEC_FUTURE_TOLERANCE``: how far (seconds, default one day) an export time may lie ahead of the
    upload's arrival and still be trusted for the key."""
    return timedelta(seconds=Settings.from_env().future_tolerance_seconds)


def key_time_for(
    exported_at: datetime | None, newest_mtime: float, now: float | None = None
) -> tuple[datetime, bool]:
    """(the time of the upload key, whether the export time was distrusted).

    The newest export time, unless it lies more than :func:`future_tolerance` ahead of the arrival (the
    newest file mtime, at most now): a 2099 ``ДатаФормирования`` would make every later upload "stale".
    Then, and without an export time, the arrival."""
    now = time.time() if now is None else now
    arrival = datetime.fromtimestamp(min(newest_mtime or now, now))
    if exported_at is None:
        return arrival, False
    if exported_at > datetime.fromtimestamp(now) + future_tolerance():
        return arrival, True
    return exported_at, False


def compute_key(
    root: Path, *, strict: bool = False, now: float | None = None, hashed: list[ManifestFile] | None = None
) -> tuple[str, Manifest]:
    """The upload key of a directory and its manifest (source/kind/archived_at left for the caller).
    ``strict`` (archiving): a header that cannot be read is an ``IntakeError``; ``now`` for tests;
    ``hashed``: the files' digests when :func:`hash_upload` computed them already."""
    described = describe_files(root, strict=strict, hashed=hashed)
    exported_at = described.exported_at
    when, untrusted = key_time_for(exported_at, described.newest_mtime, now)
    key = make_key(when, content_hash(described.files))
    upload = described.upload
    manifest = Manifest(
        key=key,
        source=str(root),
        kind="dir",
        archived_at="",
        exported_at=exported_at.isoformat() if exported_at else None,
        full_kinds=described.full_kinds,
        files=described.files,
        headers=None if upload is None else upload.all_files,
        other_files=upload.other_files if upload else 0,
        other_bytes=upload.other_bytes if upload else 0,
        untrusted_export_time=exported_at.isoformat() if untrusted and exported_at else None,
    )
    return key, manifest


def archived_twin(files: list[ManifestFile], archive_dir: Path) -> Manifest | None:
    """The manifest of an archived upload with exactly these files (names, sizes, sha256), or None.

    Only an archived upload whose key time is its files' own export time counts: the same bytes then
    give the same key (:func:`compute_key`), so they passed the gate when it was archived and need neither
    the gate nor a header read again. An upload keyed by its arrival time (no or an untrusted export time)
    is keyed anew, as before."""
    digest = content_hash(files)
    wanted = sorted(files, key=lambda f: f.name)
    for candidate in sorted(archive_dir.glob(f"*-{digest}")):
        if not KEY_RE.match(candidate.name) or not candidate.is_dir():
            continue
        manifest = read_manifest(candidate)
        if (
            manifest is None
            or manifest.key != candidate.name
            or not manifest.exported_at
            or manifest.untrusted_export_time
            or sorted(manifest.files, key=lambda f: f.name) != wanted
        ):
            continue
        exported = datetime.fromisoformat(manifest.exported_at)
        if make_key(exported, digest) == manifest.key:
            return manifest
    return None
