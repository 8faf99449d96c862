"""Small helpers for the hand-written CommerceML fixtures of these tests."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_upload

NS2 = 'xmlns="urn:1C.ru:commerceml_2"'
NS210 = 'xmlns="urn:1C.ru:commerceml_210"'
NS3 = 'xmlns="urn:1C.ru:commerceml_3"'


def doc(
    body: str, *, version: str = "2.08", ns: str = "", date: str = "2024-03-01T10:00:00", encoding="UTF-8"
) -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<КоммерческаяИнформация {ns} ВерсияСхемы="{version}" ДатаФормирования="{date}">\n{body}\n'
        "</КоммерческаяИнформация>\n"
    )


def write(root: Path, rel: str, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def read_all(path: Path, entities=None, stats: ReadStats | None = None) -> dict[Entity | str, list]:
    """Records of an upload grouped by entity (rejects under "rejects")."""
    out: dict = defaultdict(list)
    for record in read_upload(discover_upload(path), set(entities or Entity), stats):
        key = "rejects" if type(record).__name__ == "Reject" else record.entity
        out[key].append(record)
    return out
