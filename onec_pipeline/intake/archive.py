"""Archiving a complete upload atomically into ``ONEC_ARCHIVE_DIR/<key>/``.

The files are staged in a hidden directory of the archive, keyed (``manifest.compute_key``), described in
the manifest ``.onec-upload.json`` and renamed into place in one step: a reader never sees half an upload.
An upload whose content was archived before is recognised by its key and discarded (``duplicate``). A zip
upload is extracted (``zips``) and the zip itself is kept as ``ONEC_ARCHIVE_DIR/<key>.zip``. Before it is
keyed, the staged copy passes the gate (``gate``); a refused upload is given back (then the sensor
quarantines it) and nothing of it reaches the archive.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import gate
from .errors import IntakeError
from .manifest import KEY_RE, MANIFEST_NAME, Manifest, archived_twin, compute_key, hash_upload, read_manifest
from .scan import LOOSE_SUBDIRS, READY_MARKER, IncomingUpload, make_upload, walk_files
from .zips import extract_zip_safely


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


def gated_key(staged: Path, archive_dir: Path | None = None) -> Manifest:
    """The gate (``gate``: every file whole, decodable, a CommerceML document or reported) and the key of
    the upload staged at ``staged``; raises ``IntakeError`` naming the file for a refused upload.

    With ``archive_dir``, the files are hashed first: the very bytes of an upload archived there (its
    ``archived_twin``) passed the gate already, and its manifest is the answer (``_finish`` then finds the
    target archived and discards the copy as a duplicate, without a file parsed)."""
    gate.check_names(staged)
    hashed = hash_upload(staged)
    if archive_dir is not None:
        twin = archived_twin(hashed, archive_dir)
        if twin is not None:
            return twin
    roots = gate.check_files(staged)
    _key, manifest = compute_key(staged, strict=True, hashed=hashed)
    if not manifest.files:
        raise IntakeError("the upload holds no files")
    manifest.not_imported = gate.not_imported(manifest.headers or [], roots)
    return manifest


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
        upload = make_upload(src.name, "loose", src.parent, items, None)
    elif src.is_dir():
        items = list(walk_files(src))
        if not items:
            raise IntakeError(f"{src}: no files to import")
        upload = make_upload(src.name, "dir", src, items, None)
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
    if upload.kind == "dir":
        gate.check_symlinks(upload.root)  # a copy would skip them in silence; nothing is moved yet
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
        (tmp / READY_MARKER).unlink(missing_ok=True)
        manifest = gated_key(tmp, archive_dir)
        manifest.source = str(upload.root if upload.kind != "loose" else upload.root / "*")
        manifest.kind = upload.kind
        result = _finish(tmp, archive_dir, manifest)
    except BaseException:
        _give_back(upload, tmp, moved_dir=moved_dir, same_fs=same_fs)
        raise
    if not keep_source:
        _clear_source(upload, same_fs=same_fs)
    return result


def _give_back(upload: IncomingUpload, tmp: Path, *, moved_dir: bool, same_fs: bool) -> None:
    """Archiving failed: return what was moved into the staging directory ``tmp`` to the incoming one."""
    if moved_dir and tmp.exists() and not upload.root.exists():
        os.rename(tmp, upload.root)  # give the upload back untouched
        return
    if tmp.exists() and same_fs:  # loose files were renamed one by one: put them back
        for f, path in zip(upload.files, upload.paths, strict=True):
            staged = tmp / f.rel
            if staged.exists() and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, path)
    shutil.rmtree(tmp, ignore_errors=True)


def _clear_source(upload: IncomingUpload, *, same_fs: bool) -> None:
    """Remove what is left at the source: copies across filesystems, the loose marker, empty import_files/."""
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


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def archive_zip(
    zip_path: Path | str, archive_dir: Path | str, *, keep_source: bool = False, marker: Path | None = None
) -> ArchivedUpload:
    """Extract a zip upload into ``ARCHIVE/<key>/`` and keep the zip as ``ARCHIVE/<key>.zip``."""
    zip_path = Path(zip_path)
    archive_dir = Path(archive_dir).resolve()
    tmp = _new_tmp_dir(archive_dir)
    try:
        extract_zip_safely(zip_path, tmp)
        manifest = gated_key(tmp, archive_dir)
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


def list_archived(archive_dir: Path | str) -> list[str]:
    """Keys of the archived uploads, sorted (= chronologically)."""
    archive_dir = Path(archive_dir)
    if not archive_dir.is_dir():
        return []
    return sorted(e.name for e in os.scandir(archive_dir) if e.is_dir() and KEY_RE.match(e.name))
