"""Safe zip extraction: anything hostile or unreadable is refused with an :class:`IntakeError`, never
extracted half-way into the archive and never raised as anything else.

Refused: absolute paths, ``..``, symlinks, duplicate members, nested archives (a ``.zip``/``.rar``/… member:
1C never nests them, and one more level would escape every limit below), encrypted members, compression
methods Python cannot read, bad CRCs and truncated data, member names that are not valid UTF-8 when the zip
says they are, and zip bombs: the limits look at the whole archive, so no member size slips through —
``ONEC_ZIP_MAX_BYTES`` (uncompressed total, default 8 GiB), ``ONEC_ZIP_MAX_MEMBERS`` (default 100,000) and
``ONEC_ZIP_MAX_RATIO`` (uncompressed total / zip size, default 200, judged once the total passes 16 MiB);
the bytes actually written are counted too, so a lying header changes nothing.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import IntakeError

RATIO_FLOOR_BYTES = 16 * 1024**2  # below this uncompressed total the ratio cannot hurt
NESTED_ARCHIVES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".cab", ".arj", ".zst")
_READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
# what zipfile raises for archives it cannot read: bad CRC / truncated data, encrypted members, unknown
# methods, broken compressed streams, names that are not what the zip's flags say
_UNREADABLE = (
    zipfile.BadZipFile,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    EOFError,
    UnicodeError,
    ValueError,
)


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


@dataclass(frozen=True)
class ZipLimits:
    max_bytes: int = 8 * 1024**3
    max_members: int = 100_000
    max_ratio: float = 200.0

    @classmethod
    def from_env(cls) -> ZipLimits:
        return cls(
            max_bytes=int(_env_number("ONEC_ZIP_MAX_BYTES", cls.max_bytes)),
            max_members=int(_env_number("ONEC_ZIP_MAX_MEMBERS", cls.max_members)),
            max_ratio=_env_number("ONEC_ZIP_MAX_RATIO", cls.max_ratio),
        )


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
        raise IntakeError(f"zip member with an absolute path: {name!r}", file=name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise IntakeError(f"zip member escaping the archive: {name!r}", file=name)
    if not parts:
        return None
    return PurePosixPath(*parts)


def _open_zip(zip_path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except UnicodeDecodeError as exc:
        raise IntakeError(
            f"{zip_path.name}: a member name is not valid UTF-8 though the zip says so ({exc})"
        ) from None
    except (*_UNREADABLE, OSError) as exc:
        raise IntakeError(f"{zip_path.name}: not a readable zip file ({exc})") from None


def check_zip_limits(zip_path: Path, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse an archive over the limits, judged on the whole archive before anything is extracted."""
    name = zip_path.name
    if len(infos) > limits.max_members:
        raise IntakeError(
            f"{name}: {len(infos):,} members (limit {limits.max_members:,}, ONEC_ZIP_MAX_MEMBERS)"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_bytes:
        raise IntakeError(
            f"{name}: {total:,} bytes uncompressed (limit {limits.max_bytes:,}, ONEC_ZIP_MAX_BYTES)"
        )
    size = max(1, zip_path.stat().st_size)
    if total > RATIO_FLOOR_BYTES and total > limits.max_ratio * size:
        raise IntakeError(
            f"{name}: {total:,} bytes uncompressed from {size:,} (ratio {total / size:,.0f} over "
            f"{limits.max_ratio:g}, ONEC_ZIP_MAX_RATIO): a zip bomb?"
        )


def _check_member(zip_path: Path, info: zipfile.ZipInfo, rel: PurePosixPath) -> None:
    name = zip_path.name
    member = str(rel)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise IntakeError(f"{name}: symlink member {member!r} refused", file=member)
    if rel.name.lower().endswith(NESTED_ARCHIVES):
        raise IntakeError(f"{name}: nested archive {member!r} refused (1C never nests archives)", file=member)
    if info.flag_bits & 0x1:
        raise IntakeError(f"{name}: member {member!r} is encrypted (no password is ever used)", file=member)
    if info.compress_type not in _READABLE_METHODS:
        raise IntakeError(
            f"{name}: member {member!r} uses compression method {info.compress_type}, which cannot be read "
            "(use deflate)",
            file=member,
        )


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Write one member; returns its bytes. Refuses more bytes than declared or than ``budget``."""
    written = 0
    with zf.open(info) as src, target.open("wb") as out:
        while block := src.read(1 << 20):
            written += len(block)
            if written > info.file_size or written > budget:  # lying header
                raise IntakeError(f"member {info.filename!r} larger than declared")
            out.write(block)
    return written


def extract_zip_safely(zip_path: Path, dest: Path, limits: ZipLimits | None = None) -> list[str]:
    """Extract a zip into ``dest`` (see the module docstring for what is refused). On a refusal ``dest`` may
    hold part of the members: the caller discards it."""
    limits = limits or ZipLimits.from_env()
    written: list[str] = []
    seen: set[str] = set()
    with _open_zip(zip_path) as zf:
        infos = zf.infolist()
        check_zip_limits(zip_path, infos, limits)
        budget = limits.max_bytes
        for info in infos:
            rel = safe_member_path(_member_name(info))
            if rel is None:
                continue
            key = str(rel).lower()
            if key in seen:
                raise IntakeError(f"{zip_path.name}: member {str(rel)!r} appears twice", file=str(rel))
            seen.add(key)
            _check_member(zip_path, info, rel)
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                budget -= _extract_member(zf, info, target, budget)
            except IntakeError as exc:
                raise IntakeError(f"{zip_path.name}: {exc}", file=str(rel)) from None
            except _UNREADABLE as exc:
                raise IntakeError(
                    f"{zip_path.name}: member {str(rel)!r} cannot be extracted ({type(exc).__name__}: {exc})",
                    file=str(rel),
                ) from None
            written.append(str(rel))
    return written
