"""Safe zip extraction: absolute paths, ``..``, symlinks and zip bombs are refused, never extracted."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .errors import IntakeError

# zip extraction limits (a zip bomb or a hostile archive is refused, not extracted)
ZIP_MAX_TOTAL_BYTES = int(os.environ.get("ONEC_ZIP_MAX_BYTES", str(8 * 1024**3)))
ZIP_MAX_MEMBERS = 100_000
ZIP_MAX_RATIO = 200  # uncompressed / compressed, per member larger than 1 MiB


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
