"""Tiny real pictures for the media tests, written byte by byte (no imaging library): a PNG of one
colour and a 1x1 grey baseline JPEG (``file(1)`` names both: "PNG image data, 2 x 2", "JPEG image data,
baseline, precision 8, 1x1")."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png(rgb: tuple[int, int, int] = (200, 30, 30), size: int = 2) -> bytes:
    """A ``size`` x ``size`` PNG of one colour (8-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(quality_byte: int = 1) -> bytes:
    """A 1x1 greyscale baseline JPEG; ``quality_byte`` (1..255) fills its quantisation table, so different
    values give different files."""
    dqt = b"\xff\xdb\x00\x43\x00" + bytes([quality_byte]) * 64
    sof = b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"
    # one code of length 1 (symbol 0) for DC (category 0) and for AC (end of block)
    dht = b"".join(
        b"\xff\xc4\x00\x14" + bytes([cls]) + b"\x01" + b"\x00" * 15 + b"\x00" for cls in (0x00, 0x10)
    )
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    scan = b"\x3f"  # DC difference 0, end of block, padded with ones
    return b"\xff\xd8" + dqt + sof + dht + sos + scan + b"\xff\xd9"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
