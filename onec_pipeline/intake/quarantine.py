"""Quarantine: an upload that cannot be scanned, extracted, decoded or keyed is moved whole out of the
incoming directory into ``ONEC_QUARANTINE_DIR/<when>-<name>/`` with a reason record, so that one bad upload
never blocks the others and nothing is deleted.

The record ``.onec-quarantine.json`` says which incoming name it was, why it was refused (the message, and
the file and line where there is one) and when. :func:`find_quarantined` answers "was upload NAME
quarantined, and why" (the sensor's tick log, the CLI and the 1C exchange endpoint ask it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .scan import LOOSE_UPLOAD_NAME, READY_MARKER, IncomingUpload

RECORD_NAME = ".onec-quarantine.json"
_UNSAFE = re.compile(r"[^\w.\-]+")
_TIME_FORMAT = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class QuarantineRecord:
    """Why and when an incoming upload was quarantined, and where its files are now."""

    name: str  # the upload's name in the incoming directory (printable: undecodable bytes replaced)
    source: str  # where it was
    reason: str  # the refusal, one line
    file: str | None  # the file of the upload the refusal names, if any
    line: int | None  # the line in that file, if known
    quarantined_at: str  # ISO UTC
    path: str  # the quarantine directory holding the files and this record

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        return f"{self.name}: {self.reason}" + (f" ({where})" if where and where not in self.reason else "")


def printable(name: str) -> str:
    """A file name as text: bytes that were not valid UTF-8 (kept by Python as surrogates) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _directory_name(name: str, when: datetime) -> str:
    base = "loose" if name == LOOSE_UPLOAD_NAME else _UNSAFE.sub("_", printable(name)).strip("._")
    return f"{when.strftime(_TIME_FORMAT)}-{(base or 'upload')[:80]}"


def _unique(parent: Path, name: str) -> Path:
    candidate = parent / name
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = parent / f"{name}-{counter}"
    return candidate


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dst)
    except OSError:  # another filesystem
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
            shutil.rmtree(src)
        else:
            shutil.copy2(src, dst)
            src.unlink()


def quarantine_upload(
    upload: IncomingUpload,
    quarantine_dir: Path | str,
    reason: str,
    *,
    file: str | None = None,
    line: int | None = None,
    now: datetime | None = None,
) -> QuarantineRecord:
    """Move every file of ``upload`` (and its ``.ready`` marker) into a new quarantine directory and write
    the reason record there. Returns the record. Raises ``OSError`` only when nothing could be moved."""
    when = now or datetime.now(UTC)
    target = _unique(Path(quarantine_dir), _directory_name(upload.name, when))
    target.parent.mkdir(parents=True, exist_ok=True)
    if upload.kind == "dir":
        _move(upload.root, target)
    else:
        target.mkdir()
        items = [(f.rel, p) for f, p in zip(upload.files, upload.paths, strict=True)]
        if upload.marker is not None and upload.marker.exists():
            items.append((upload.marker.name if upload.kind == "zip" else READY_MARKER, upload.marker))
        for rel, path in items:
            if path.exists() or path.is_symlink():
                _move(path, target / rel)
    record = QuarantineRecord(
        name=printable(upload.name),
        source=printable(str(upload.root)),
        reason=" ".join(printable(reason).split()),
        file=printable(file) if file else None,
        line=line,
        quarantined_at=when.astimezone(UTC).isoformat(timespec="seconds"),
        path=str(target),
    )
    (target / RECORD_NAME).write_text(json.dumps(asdict(record), ensure_ascii=False, indent=1), "utf-8")
    return record


def read_record(directory: Path | str) -> QuarantineRecord | None:
    """The record of one quarantine directory (None when missing or unreadable)."""
    try:
        data = json.loads((Path(directory) / RECORD_NAME).read_text("utf-8"))
        return QuarantineRecord(**{**data, "path": str(directory)})
    except (OSError, ValueError, TypeError):
        return None


def list_quarantined(quarantine_dir: Path | str) -> list[QuarantineRecord]:
    """Every quarantined upload, oldest first."""
    root = Path(quarantine_dir)
    if not root.is_dir():
        return []
    records = [read_record(entry.path) for entry in os.scandir(root) if entry.is_dir()]
    return sorted((r for r in records if r is not None), key=lambda r: (r.quarantined_at, r.path))


def find_quarantined(quarantine_dir: Path | str, name: str) -> QuarantineRecord | None:
    """The newest quarantine record of the incoming upload ``name`` (None: it was never quarantined)."""
    wanted = printable(name)
    matches = [r for r in list_quarantined(quarantine_dir) if r.name == wanted]
    return matches[-1] if matches else None
