"""Lenient conversions of CommerceML text values: numbers, booleans, dates, currencies, ids.

1C and the programs that imitate it write the same thing in several ways; everything here accepts all the
spellings seen in real files (FORMAT.md §1, §4, §12) and returns ``None`` for "no value".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

# NBSP, narrow NBSP, figure space, thin space, ordinary space, tabs: thousands separators in the wild.
_NUMBER_JUNK = str.maketrans(
    {"\u00a0": None, "\u202f": None, "\u2007": None, "\u2009": None, " ": None, "\t": None}
)

_TRUE = frozenset({"true", "1", "да", "yes", "истина"})
_FALSE = frozenset({"false", "0", "нет", "no", "ложь"})

# Currency spellings 1C and friends write -> ISO 4217 code.
_CURRENCIES = {
    "руб": "RUB",
    "руб.": "RUB",
    "рубль": "RUB",
    "рублей": "RUB",
    "р.": "RUB",
    "rur": "RUB",
    "rub": "RUB",
    "643": "RUB",
    "₽": "RUB",
    "грн": "UAH",
    "грн.": "UAH",
    "гривна": "UAH",
    "uah": "UAH",
    "980": "UAH",
    "₴": "UAH",
    "usd": "USD",
    "$": "USD",
    "840": "USD",
    "eur": "EUR",
    "€": "EUR",
    "978": "EUR",
    "тенге": "KZT",
    "тг": "KZT",
    "kzt": "KZT",
    "398": "KZT",
    "бел. руб.": "BYN",
    "бел.руб.": "BYN",
    "byn": "BYN",
    "933": "BYN",
}


class BadNumber(ValueError):
    """A value that should be a number and is not one (the caller turns it into a Reject)."""


def clean(text: str | None) -> str | None:
    """Trimmed text, or None when empty."""
    if text is None:
        return None
    text = text.strip()
    return text or None


# A number whose magnitude is beyond 1e±100 is no price or quantity (and 1e999999 overflows PostgreSQL's
# NUMERIC, failing the load): a reject, never a row.
MAX_ADJUSTED = 100


def _in_range(value: Decimal, text: str) -> Decimal:
    if value and not -MAX_ADJUSTED <= value.adjusted() <= MAX_ADJUSTED:
        raise BadNumber(f"out of range: {text.strip()[:40]!r}")
    return value


def parse_decimal(text: str | None) -> Decimal | None:
    """``Decimal`` from 1C number text: NBSP/space thousands separators removed, decimal comma accepted.

    Empty -> None. Anything else that is not a finite number within 1e±100 raises :class:`BadNumber`.
    """
    if text is None:
        return None
    if "_" not in text:
        try:  # fast path: a plain xsd:decimal (Decimal() itself ignores surrounding whitespace)
            value = Decimal(text)
        except InvalidOperation:
            pass
        else:
            if value.is_finite():
                return _in_range(value, text)
            raise BadNumber(f"not a finite number: {text.strip()!r}")
    raw = text.translate(_NUMBER_JUNK)
    if not raw:
        return None
    if "," in raw:
        if "." not in raw:  # decimal comma: "2,635"
            raw = raw.replace(",", ".")
        elif raw.rfind(",") < raw.rfind("."):  # "1,234.50": the comma separates thousands
            raw = raw.replace(",", "")
        else:  # "1.234,50"
            raw = raw.replace(".", "").replace(",", ".")
    if "_" in raw:
        raise BadNumber(f"not a number: {text.strip()!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadNumber(f"not a number: {text.strip()!r}") from None
    if not value.is_finite():
        raise BadNumber(f"not a finite number: {text.strip()!r}")
    return _in_range(value, text)


def parse_bool(text: str | None) -> bool | None:
    """``true/false`` (also ``1/0``, ``да/нет``); None when empty or unrecognised."""
    if text is None:
        return None
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


_currency_cache: dict[str, str | None] = {}


def normalise_currency(text: str | None) -> str | None:
    """ISO code for the currency spellings seen in 1C files (``руб``/``руб.``/``RUR`` -> RUB, ``грн`` -> UAH).

    Unknown values are returned trimmed (upper-cased when they look like an ISO code).
    """
    if text is None:
        return None
    try:
        return _currency_cache[text]
    except KeyError:
        pass
    value = clean(text)
    if value is not None:
        known = _CURRENCIES.get(value.lower())
        if known:
            value = known
        elif len(value) == 3 and value.isascii() and value.isalpha():
            value = value.upper()
    if len(_currency_cache) < 1024:
        _currency_cache[text] = value
    return value


_DATE_RE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?\s*$"
)
_DMY_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*$")


def parse_datetime(text: str | None) -> datetime | None:
    """Lenient ``ДатаФормирования``: date only, one-digit hours, fractions, ``Z`` and ``+03:00`` offsets.

    Naive (local) unless the text carries an offset. Unparseable -> None (a header must never fail on it).
    """
    if not text:
        return None
    match = _DATE_RE.match(text)
    try:
        if match:
            year, month, day, hh, mm, ss, frac, tz = match.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            value = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro)
            if tz:
                if tz == "Z":
                    value = value.replace(tzinfo=UTC)
                else:
                    sign = -1 if tz[0] == "-" else 1
                    digits = tz[1:].replace(":", "")
                    hours = int(digits[:-2] or "0") if len(digits) > 2 else int(digits)
                    minutes = int(digits[-2:]) if len(digits) > 2 else 0
                    value = value.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
            return value
        match = _DMY_RE.match(text)
        if match:
            day, month, year, hh, mm, ss = match.groups()
            return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None
    return None


def composite_id_problem(offer_id: str) -> str | None:
    """Why a composite ``product#characteristic`` id is unusable (None: it is usable, or not composite).

    ``#`` and ``#abc`` name no product: a reject, never a row. ``abc#`` is 1C's "no characteristic"
    (FORMAT.md, Identifiers) and stays valid."""
    if "#" not in offer_id:
        return None
    product = offer_id.partition("#")[0]
    if not product.strip():
        return f"composite Ид {offer_id[:80]!r} names no product (nothing before '#')"
    return None


def split_offer_id(offer_id: str) -> tuple[str, str | None]:
    """``product#characteristic`` -> (product, characteristic); empty right side -> None."""
    product, sep, characteristic = offer_id.partition("#")
    if not sep:
        return offer_id, None
    return product.strip(), characteristic.strip() or None
