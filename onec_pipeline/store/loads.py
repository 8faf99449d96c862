"""What a load is given (:class:`UploadRef`) and what it reports (:class:`LoadResult`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from onec_pipeline.commerceml.records import Entity

#: called with (entity, records routed so far) every ``PROGRESS_EVERY`` records and at the end of a load
ProgressCallback = Callable[[Entity, int], None]


@dataclass(frozen=True)
class UploadRef:
    """Which upload a transaction writes: its key (sorts chronologically), export time, full entities."""

    key: str
    exported_at: datetime | None = None
    full: frozenset[Entity] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError("UploadRef.key must be a non-empty string")
        object.__setattr__(self, "full", frozenset(Entity(e) for e in self.full))


@dataclass
class LoadResult:
    """Counts for one entity in one transaction (cumulative over ``tx.load`` calls).

    ``unchanged`` counts rows whose content and active flag stay as they were: replays of the same
    upload, and rows a newer upload re-sent with identical content (their version is still advanced so
    that older uploads cannot overwrite them later). ``deactivated`` is filled in when the transaction
    block ends (full exports only).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    deactivated: int = 0
    rejected: int = 0
    rows: int = 0  # records received (including rejected ones and duplicates)
    duplicates: int = 0  # records superseded by a later record with the same key in the same load
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, int | float]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "deactivated": self.deactivated,
            "rejected": self.rejected,
            "rows": self.rows,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
        }


def utcnow() -> datetime:
    """Naive UTC, like every timestamp of the store's tables."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive(moment: datetime | None) -> datetime | None:
    """1C writes local wall time; an explicit offset is dropped (PostgreSQL ``timestamp`` does the same)."""
    return None if moment is None else moment.replace(tzinfo=None)
