"""Segmented exports: one export that 1C sends as many files, one file per exchange session.

Modern 1C exchange modules (CommerceML 3.1, per-entity layout) send a catalog as files named
``<entity>_<n>_<m>_<guid>.xml`` (``priceLists``, ``storages``, ``propertiesGoods``, ``units``, ``groups``,
``goods``, ``offers``, ``prices``, ``rests``…), each in its own session (checkauth, init, file, import),
a new session every few seconds: a full export of 10,000 goods is ~113 sessions. Imported one by one, every
segment of a *full* export would deactivate what the other segments carry.

So the endpoint gathers the segments of one 1C user's export into one upload: each session's files go to
their own sub-directory ``<nnnn>/`` (isolated: segments never overwrite each other) of the user's open export
``ONEC_IMPORT_DIR/.exchange/exports/<user>/``, and ``import`` answers ``success`` at once (the segment is
safely stored). The export is closed — renamed into the incoming directory with its ``.ready`` marker, one
upload, one run, deactivation once for the whole export — when 1C sends ``mode=complete`` or
``mode=deactivate``, when a session brings a file that is not a segment, or when no segment arrived for
``ONEC_EXCHANGE_EXPORT_IDLE_SECONDS`` (600 s: a full export's next segment may take 1C a while to write). 1C
sends ``complete`` after a full export; an export of changes only (every segment says
``СодержитТолькоИзменения="true"``), which 1C does not complete and which deactivates nothing, is closed after
``ONEC_EXCHANGE_DELTA_IDLE_SECONDS`` (30 s) without a segment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from onec_pipeline import intake
from onec_pipeline.commerceml import CommerceMLError, read_header
from onec_pipeline.intake.scan import walk_files

from .files import EXCHANGE_DIR, ClosedUpload, SessionFiles, digest_of

EXPORTS_DIR = "exports"
STATE_NAME = ".export.json"
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
SEGMENT_NAME = re.compile(rf"^[A-Za-z]+(?:_\d+)+_{_GUID}\.xml$")


def is_segment(names: list[str]) -> bool:
    """Whether a session's files are one segment of a per-entity export (XML files named like
    ``goods_1_3_<guid>.xml``, pictures beside them allowed)."""
    xml = [n for n in names if n.lower().endswith(".xml")]
    return bool(xml) and all(SEGMENT_NAME.match(n.rsplit("/", 1)[-1]) for n in xml)


def carries_full_export(root: Path) -> bool:
    """Whether a segment's XML files say they are (part of) a full export; an unreadable header counts as
    full (the safe side: it waits for ``complete``)."""
    for rel, path, _st in walk_files(root):
        if rel.lower().endswith(".xml"):
            try:
                if read_header(path, rel).only_changes is not True:
                    return True
            except (CommerceMLError, OSError):
                return True
    return False


@dataclass
class OpenExport:
    root: Path
    segments: int
    opened_at: float
    last_at: float
    full: bool = False  # some segment is part of a full export: closed by complete or the long idle time


class Exports:
    """The open segmented export of each 1C user, on disk (survives a restart of the endpoint)."""

    def __init__(
        self, import_dir: Path, idle_seconds: float, delta_idle_seconds: float | None = None
    ) -> None:
        self.import_dir = import_dir
        self.idle_seconds = idle_seconds
        self.delta_idle_seconds = idle_seconds if delta_idle_seconds is None else delta_idle_seconds
        self.base = import_dir / EXCHANGE_DIR / EXPORTS_DIR
        self._lock = threading.Lock()

    def _root(self, user: str) -> Path:
        return self.base / hashlib.sha256(user.encode()).hexdigest()[:16]

    @staticmethod
    def _read(root: Path) -> OpenExport | None:
        try:
            state = json.loads((root / STATE_NAME).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return OpenExport(
            root,
            int(state["segments"]),
            float(state["opened_at"]),
            float(state["last_at"]),
            bool(state.get("full", True)),
        )

    @staticmethod
    def _write(export: OpenExport) -> None:
        state = {
            "segments": export.segments,
            "opened_at": export.opened_at,
            "last_at": export.last_at,
            "full": export.full,
        }
        tmp = export.root / f"{STATE_NAME}.tmp"
        tmp.write_text(json.dumps(state), "utf-8")
        os.replace(tmp, export.root / STATE_NAME)

    def add(self, user: str, files: SessionFiles, *, now: float | None = None) -> OpenExport:
        """Move a closed session's segment into the user's open export (opened when none is)."""
        now = time.time() if now is None else now
        full = carries_full_export(files.root)
        with self._lock:
            root = self._root(user)
            export = self._read(root)
            if export is None:
                root.mkdir(parents=True, exist_ok=True)
                export = OpenExport(root, 0, now, now)
            export.segments += 1
            export.last_at = now
            export.full = export.full or full
            os.rename(files.root, root / f"{export.segments:04d}")
            self._write(export)
            return export

    def close(self, user: str, *, now: datetime | None = None) -> ClosedUpload | None:
        """Hand the user's open export to the sensor as one upload (None: no export open)."""
        with self._lock:
            return self._close(self._root(user), now=now)

    def _close(self, root: Path, *, now: datetime | None = None) -> ClosedUpload | None:
        export = self._read(root)
        if export is None:
            return None
        (root / STATE_NAME).unlink()
        digest, files, size = digest_of(root)
        (root / intake.READY_MARKER).touch()
        when = now or datetime.now()
        name = f"1c-export-{when:%Y%m%dT%H%M%S}-{root.name[:8]}-{export.segments}-{secrets.token_hex(3)}"
        os.rename(root, self.import_dir / name)
        return ClosedUpload(name, digest, when.timestamp(), files, size)

    def close_idle(self, *, now: float | None = None) -> list[ClosedUpload]:
        """Close every open export no segment reached for ``idle_seconds`` (``delta_idle_seconds`` for an
        export of changes only)."""
        now = time.time() if now is None else now
        closed: list[ClosedUpload] = []
        if not self.base.is_dir():
            return closed
        with self._lock:
            for entry in sorted(os.scandir(self.base), key=lambda e: e.name):
                export = self._read(Path(entry.path))
                idle = self.idle_seconds if export is None or export.full else self.delta_idle_seconds
                if export is not None and now - export.last_at >= idle:
                    upload = self._close(Path(entry.path))
                    if upload is not None:
                        closed.append(upload)
        return closed

    def open_export(self, user: str) -> OpenExport | None:
        return self._read(self._root(user))
