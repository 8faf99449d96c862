"""What one synthetic upload holds: ``SynthSpec`` (every parameter, with derived sizes) and
``GeneratedUpload`` (the written files with their counts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ALL_SECTIONS = frozenset(
    {"classifier", "goods", "offer_classifier", "offers", "prices", "rests", "customers"}
)
DEFAULT_EXPORTED_AT = datetime(2026, 11, 20, 10, 15, 0)


@dataclass(frozen=True)
class SynthSpec:
    """Every parameter of one synthetic upload, with derived sizes."""

    offers: int = 1000
    goods: int | None = None
    groups: int | None = None
    price_types: int = 3
    warehouses: int = 5
    customers: int = 0
    layout: str = "package"
    seed: int = 0
    version: int = 0
    changed_share: float = 0.1
    exported_at: datetime = DEFAULT_EXPORTED_AT
    only_changes: bool = True
    deleted_share: float = 0.0
    sections: frozenset[str] = ALL_SECTIONS
    encoding: str = "utf-8"
    bom: bool = True
    files_per_kind: int = 1
    subfolders: bool = False

    def __post_init__(self) -> None:
        if self.layout not in ("package", "classic"):
            raise ValueError(f"layout must be 'package' or 'classic', not {self.layout!r}")
        if self.offers < 0 or self.price_types < 0 or self.warehouses < 0 or self.customers < 0:
            raise ValueError("sizes must be >= 0")
        if self.files_per_kind < 1:
            raise ValueError("files_per_kind must be >= 1")
        unknown = set(self.sections) - ALL_SECTIONS
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; known: {sorted(ALL_SECTIONS)}")

    @property
    def goods_count(self) -> int:
        """Products in the catalog: ``goods``, or one per four offers."""
        if self.goods is not None:
            return self.goods
        return max(1, self.offers // 4) if self.offers else 0

    @property
    def group_count(self) -> int:
        """Product groups: ``groups``, or one per 50 products (8..2000)."""
        if self.groups is not None:
            return self.groups
        return min(2000, max(8, self.goods_count // 50))

    def has(self, section: str) -> bool:
        if section == "customers":
            return "customers" in self.sections and self.customers > 0
        return section in self.sections


def make_spec(
    *,
    sections: Iterable[str] | str | None = None,
    exported_at: datetime | None = None,
    **sizes: Any,
) -> SynthSpec:
    """A ``SynthSpec`` from ``generate_upload``'s keyword arguments (``sections`` may be one name)."""
    if sections is None:
        sections = ALL_SECTIONS
    elif isinstance(sections, str):
        sections = {sections}
    return SynthSpec(sections=frozenset(sections), exported_at=exported_at or DEFAULT_EXPORTED_AT, **sizes)


class GeneratedUpload(list[Path]):
    """``list[Path]`` of the written files, with ``.counts`` (what was written) and ``.spec``."""

    counts: dict[str, int]
    spec: SynthSpec
