"""The archive retention policy: uploads older than ``ONEC_RETENTION_DAYS`` go, the newest full export stays."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .archive import list_archived
from .manifest import KEY_RE, key_time, read_manifest


@dataclass(frozen=True)
class RetentionItem:
    key: str
    full: bool  # the upload exports at least one file kind in full


def select_for_retention(items: Sequence[RetentionItem], *, now: datetime, retention_days: int) -> list[str]:
    """Keys to remove: older than ``retention_days`` (by the time in the key), never the newest full export.

    Pure function. Keys that are not upload keys are never selected.
    """
    cutoff = now.replace(tzinfo=None) - timedelta(days=retention_days)
    keyed = [(t, i) for i in items if (t := key_time(i.key)) is not None]
    fulls = [i.key for _, i in keyed if i.full]
    newest_full = max(fulls) if fulls else None
    return sorted(i.key for t, i in keyed if t < cutoff and i.key != newest_full)


def retention_items(archive_dir: Path | str) -> list[RetentionItem]:
    archive_dir = Path(archive_dir)
    items = []
    for key in list_archived(archive_dir):
        manifest = read_manifest(archive_dir / key)
        items.append(RetentionItem(key, bool(manifest and manifest.full_kinds)))
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
