"""Where the files of an exchange session are assembled, and how a session's upload is handed to the sensor.

Everything of one session lives in ``ONEC_IMPORT_DIR/.exchange/sessions/<session>-<part>/`` (hidden: the
intake's scan skips hidden names, so the sensor never sees half an upload). ``mode=file`` appends the request
body to the named file there (a file larger than ``file_limit`` arrives in several requests); the first
``mode=import`` closes the upload: a zip is extracted with the intake's guards, the ``.ready`` marker is written
and the directory is renamed into place as ``ONEC_IMPORT_DIR/1c-<time>-<session>-<part>``: one rename, so the
sensor sees the whole upload or nothing.

A file name from 1C is checked before anything is written: sub-paths (``goods/1/…``, ``import_files/…``) are
kept; ``..``, absolute paths, hidden or odd names and script extensions are refused.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from onec_pipeline import intake
from onec_pipeline.intake.scan import walk_files

EXCHANGE_DIR = ".exchange"  # hidden: the intake's scan never lists it
SESSIONS_DIR = "sessions"
MAX_NAME_PARTS = 8
MAX_PART_LENGTH = 200
_PART = re.compile(r"^[\w\-. ()\[\]+,#@=]+$")  # letters (any script), digits and a few punctuation marks
_STRIP_PREFIXES = ("tmp/", "upload/1c/webdata/")  # what some 1C versions put in front (Bitrix strips them)
SCRIPT_EXTENSIONS = frozenset(
    {
        ".php", ".php3", ".php4", ".php5", ".php7", ".phtml", ".phar", ".pht", ".htaccess", ".htpasswd",
        ".py", ".pyc", ".pl", ".cgi", ".sh", ".bash", ".exe", ".com", ".bat", ".cmd", ".ps1", ".vbs",
        ".js", ".mjs", ".asp", ".aspx", ".jsp", ".jspx", ".html", ".htm", ".shtml", ".svg", ".xhtml",
        ".so", ".dll", ".jar", ".war",
    }
)  # fmt: skip


class RefusedFile(ValueError):
    """A file name or body the endpoint does not accept (the message names it and says why)."""


def clean_filename(raw: str) -> PurePosixPath:
    """The relative path a 1C ``filename`` may be stored at; raises ``RefusedFile`` naming the reason."""
    name = raw.replace("\\", "/").strip()
    if not name:
        raise RefusedFile("no filename given")
    if "\x00" in name or any(ord(c) < 32 for c in name):
        raise RefusedFile(f"{raw!r}: control characters in the file name")
    for prefix in _STRIP_PREFIXES:
        if name.lstrip("/").lower().startswith(prefix):
            name = name.lstrip("/")[len(prefix) :]
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise RefusedFile(f"{raw!r}: absolute paths are refused")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise RefusedFile(f"{raw!r}: '..' in the file name is refused")
    if not parts or len(parts) > MAX_NAME_PARTS:
        raise RefusedFile(f"{raw!r}: empty or too deep a path")
    for part in parts:
        if part.startswith((".", "~")) or len(part) > MAX_PART_LENGTH or not _PART.match(part):
            raise RefusedFile(f"{raw!r}: odd file name {part!r} refused")
    suffixes = {s.lower() for s in PurePosixPath(parts[-1]).suffixes}
    if suffixes & SCRIPT_EXTENSIONS:
        raise RefusedFile(f"{raw!r}: script extensions are refused")
    return PurePosixPath(*parts)


@dataclass(frozen=True)
class ClosedUpload:
    """A session's upload handed to the sensor: its incoming name and the content digest its upload key ends
    with (``intake.content_hash``), by which the endpoint finds it in the archive and its run."""

    name: str  # ONEC_IMPORT_DIR/<name>
    digest: str
    closed_at: float  # time.time()
    files: int
    size: int


def digest_of(root: Path) -> tuple[str, int, int]:
    """The upload key's hash part of a directory, as archiving will compute it; (digest, files, bytes)."""
    files = [
        intake.ManifestFile(rel, st.st_size, intake.sha256_file(path)) for rel, path, st in walk_files(root)
    ]
    return intake.content_hash(files), len(files), sum(f.size for f in files)


def remove_stale_sessions(import_dir: Path, older_than: float, *, now: float | None = None) -> list[str]:
    """Remove session directories nothing was written to for ``older_than`` seconds (a session 1C abandoned,
    or one of a previous run of the endpoint: its token is gone, so nobody can close it). Returns their
    names."""
    now = time.time() if now is None else now
    root = import_dir / EXCHANGE_DIR / SESSIONS_DIR
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for entry in os.scandir(root):
        path = Path(entry.path)
        newest = max([entry.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")])
        if now - newest > older_than:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(entry.name)
    return removed


class SessionFiles:
    """The files of one session's current upload, under ``.exchange/sessions/<session>-<part>/``."""

    def __init__(self, import_dir: Path, session_id: str, part: int) -> None:
        self.import_dir = import_dir
        self.session_id = session_id
        self.part = part
        self.root = import_dir / EXCHANGE_DIR / SESSIONS_DIR / f"{session_id}-{part}"

    def exists(self) -> bool:
        return self.root.is_dir()

    def names(self) -> list[str]:
        return [rel for rel, _path, _st in walk_files(self.root)]

    async def append(self, rel: PurePosixPath, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Append a request body to ``rel`` (created with its sub-directories); more than ``limit`` bytes in
        one request is refused and the file is cut back to where it was (a refused request changes
        nothing). Returns the bytes written."""
        target = self.root.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise RefusedFile(f"{rel}: not a regular file")
        written = 0
        with target.open("ab") as out:
            start = out.tell()
            try:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > limit:
                        raise RefusedFile(f"{rel}: more than file_limit={limit} bytes in one request")
                    out.write(chunk)
            except BaseException:
                out.truncate(start)
                if start == 0:
                    out.close()
                    target.unlink(missing_ok=True)
                raise
        return written

    def extract_zips(self) -> list[str]:
        """Replace each zip of the upload by its content (``intake.extract_zip_safely``: no absolute paths,
        ``..``, symlinks or bombs). Returns the extracted names; raises ``intake.IntakeError``."""
        extracted: list[str] = []
        for rel, path, _st in list(walk_files(self.root)):
            if rel.lower().endswith(".zip"):
                extracted += intake.extract_zip_safely(path, path.parent)
                path.unlink()
        return extracted

    def close(self, *, now: datetime | None = None) -> ClosedUpload:
        """Write the ``.ready`` marker and rename the upload into the incoming directory (one rename)."""
        digest, files, size = digest_of(self.root)
        (self.root / intake.READY_MARKER).touch()
        when = now or datetime.now()
        name = f"1c-{when:%Y%m%dT%H%M%S}-{self.session_id}-{self.part}"
        os.rename(self.root, self.import_dir / name)
        return ClosedUpload(name, digest, when.timestamp(), files, size)

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
