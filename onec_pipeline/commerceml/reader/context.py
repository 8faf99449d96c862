"""What the handlers of one file share: the file, the wanted entities, lookups, counters, record builders
and the per-file caches. Also the two public result types, :class:`ReadStats` and :class:`Lookups`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..records import Entity, FileHeader, FileKind, Property, Record, Reject, Source, Unit
from ..values import BadNumber, normalise_currency, parse_decimal
from ..xmlsafe import LocalNames, raw_fragment

DECIMAL_CACHE_SIZE = 4096  # memoised number texts per file and kind (quantities and ratios repeat a lot)
CURRENCY_CACHE_SIZE = 256


@dataclass
class ReadStats:
    """What a read produced: records per entity, empty prices skipped, rejects, files, bytes, seconds."""

    counts: Counter = field(default_factory=Counter)  # Entity -> records yielded (rejects excluded)
    empty_prices: int = 0  # Цена with an empty ЦенаЗаЕдиницу (no record yielded)
    rejects: int = 0
    rejects_by_entity: Counter = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0  # time spent reading (parsing + building records), excluding the consumer's time
    fast_files: int = 0  # files read by the fast path (reader.fastpath) to their end
    fallbacks: list[str] = field(default_factory=list)  # "file: why" where the reference took over

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {
            "counts": {str(k): v for k, v in sorted(self.counts.items())},
            "empty_prices": self.empty_prices,
            "rejects": self.rejects,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class PropertyInfo:
    """What the goods and offers need of a Свойство: its name, value type and dictionary."""

    name: str | None
    value_type: str | None
    values: dict[str, str]  # ИдЗначения -> Значение


@dataclass
class Lookups:
    """Property dictionaries and units gathered from the classifier files of one upload."""

    properties: dict[str, PropertyInfo] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    def add_property(self, prop: Property) -> None:
        known = self.properties.get(prop.id)
        if known is not None and not prop.values:
            # a later mention without values (e.g. the offer classifier) keeps the dictionary we have
            known.name = prop.name or known.name
            known.value_type = prop.value_type or known.value_type
            return
        self.properties[prop.id] = PropertyInfo(prop.name, prop.value_type, dict(prop.values))


# The steps of make_source. The loops that build one record per price or stock row inline them (a Python
# call per record is measurable there): source = new_object(Source); set_source_file(source, file); ...
new_object = object.__new__
set_source_file = Source.__dict__["file"].__set__  # the slot descriptors
set_source_line = Source.__dict__["line"].__set__


def make_source(file: str, line: int | None) -> Source:
    """``Source(file, line)`` without the frozen dataclass ``__init__`` (one object.__setattr__ per field
    costs more than the rest of a price record); the slots are set once, so it stays immutable."""
    source = new_object(Source)
    set_source_file(source, file)
    set_source_line(source, line)
    return source


class Currencies(dict):
    """Raw Валюта text -> normalised code, memoised per file (bounded: only the first spellings stay)."""

    def __missing__(self, text: str) -> str | None:
        value = normalise_currency(text)
        if len(self) < CURRENCY_CACHE_SIZE:
            self[text] = value
        return value


class Ratios(dict):
    """Raw Коэффициент text -> Decimal, memoised per file (bounded); None when empty or not a number (a bad
    ratio is no reason to reject a price)."""

    def __missing__(self, text: str) -> Decimal | None:
        try:
            value = parse_decimal(text)
        except BadNumber:
            value = None
        if len(self) < DECIMAL_CACHE_SIZE:
            self[text] = value
        return value


class ParseContext:
    """The state one file's handlers share.

    The driver keeps ``section`` / ``section_element`` (the top-level section being read) up to date; the
    handlers read them, build records with :meth:`source` / :meth:`reject`, count them with
    :meth:`counted` (or straight into ``stats`` on the hot path) and feed ``lookups``.
    """

    def __init__(
        self, header: FileHeader, wanted: frozenset[Entity], lookups: Lookups, stats: ReadStats
    ) -> None:
        self.header = header
        self.file = header.path
        self.wanted = wanted
        self.lookups = lookups
        self.stats = stats
        self.names = LocalNames()
        self.currencies = Currencies()
        self.ratios = Ratios()
        self.decimals: dict[str, Decimal] = {}  # memoised quantities (see quantity)
        self.section: str | None = None
        self.section_element: Any = None
        # properties of an offers or offer-classifier file are variant axes (Property.for_offers)
        self.offers_file = header.kind in (FileKind.OFFERS, FileKind.OFFER_CLASSIFIER)

    # ---------------------------------------------------------------- placement

    def in_section(self, element: Any) -> bool:
        """Whether ``element`` is a direct child of the section being read (not nested in an entity)."""
        return element.getparent() is self.section_element

    # ---------------------------------------------------------------- records and counters

    def source(self, element: Any) -> Source:
        return make_source(self.file, element.sourceline)

    def reject(self, entity: Entity, entity_id: str | None, reason: str, element: Any) -> Reject:
        """A Reject quoting ``element`` (not counted yet: pass it through :meth:`counted`)."""
        return Reject(entity, entity_id, reason, raw_fragment(element), self.source(element))

    def counted_reject(self, entity: Entity, entity_id: str | None, reason: str, element: Any) -> Reject:
        record = self.reject(entity, entity_id, reason, element)
        self._count_reject(record)
        return record

    def counted(self, record: Record) -> Record:
        """Count a record (or a Reject) about to be yielded."""
        if type(record) is Reject:
            self._count_reject(record)
        else:
            self.stats.counts[record.entity] += 1
        return record

    def _count_reject(self, record: Reject) -> None:
        self.stats.rejects += 1
        self.stats.rejects_by_entity[record.entity] += 1

    # ---------------------------------------------------------------- memoised numbers

    def quantity(self, text: str | None) -> Decimal | None:
        """A stock quantity: None when empty, BadNumber when not a number; memoised (Decimal is immutable,
        so equal texts may share one value)."""
        if text is None:
            return None
        cache = self.decimals
        value = cache.get(text)
        if value is None:
            value = parse_decimal(text)
            if value is not None and len(cache) < DECIMAL_CACHE_SIZE:
                cache[text] = value
        return value
