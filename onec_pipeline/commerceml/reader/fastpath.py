"""The fast path: prices and stock rows of the UT 11 prices and rests files, read by byte patterns.

Those two files are most of an upload's bytes (at a million offers: 3M prices, 5M stock rows) and are
written by 1C in one rigid shape. The tree reader (:mod:`.driver` + :mod:`.offers`, *the reference*) spends
most of its time there building an lxml element, a proxy and a ``tag`` string per child; this path matches
each ``Предложение`` with compiled byte patterns and builds the same records straight from the captures.

It is exact by construction, not by approximation:

* The file's head — the XML declaration, the root, the offer package's own children (``ТипыЦен``,
  ``Склады``…) up to the first ``Предложение`` — is read by the reference itself (libxml2), closed with
  the end tags it is known to need; so are its records and its errors.
* From there every byte must match the strict grammar below: one ``Предложение`` after the other, each
  either ``Ид`` + ``Цены`` (``Цена``: ``Представление``, ``ИдТипаЦены``, ``ЦенаЗаЕдиницу``, ``Валюта``,
  ``Единица``, ``Коэффициент`` in this order, each optional) or ``Ид`` + ``Остатки`` (``Остаток/Склад{Ид,
  Количество}``), no attribute, no prefix, no comment, CDATA or processing instruction, only XML whitespace
  between elements and no control character, ``]]>`` or non-character in text; then the section's and the
  root's end tags and the end of the file. Text is decoded strictly in the file's encoding, entity and
  character references are resolved, line ends normalised, as libxml2 does.
* Only the clean case is built here: a reject (no ``ИдТипаЦены``, a number that is no number, an unusable
  composite id…), a file in UTF-16 or with another section, an element longer than ``MAX_PENDING``, a
  byte the grammar does not allow — anything else raises :class:`Fallback`, and the caller reads the whole
  file again with the reference, skipping the batches this path already yielded (they are the reference's
  own first batches: one per ``Предложение`` that has records) and counting afresh.

So the fast path never decides anything the reference would decide differently; what it reads, the
reference reads the same (``test_reader_fastpath.py`` compares both record by record over generated
uploads, messy ones included), and memory stays bounded by the buffer (``CHUNK`` + one element).

Line numbers follow libxml2's, quirk included: an element past line 65,534 has its line stored as 65,535,
and ``sourceline`` then reports the line of its first descendant text (the driver's docstring); this path
reports the same line (and falls back where that text is empty or spans lines).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from ..errors import CommerceMLError
from ..header import ROOT
from ..records import Entity, FileHeader, Price, Source, Stock
from ..values import MAX_ADJUSTED, BadNumber, composite_id_problem, parse_decimal
from ..xmlsafe import PROLOG_BYTES, Opener
from .context import ParseContext, new_object, set_source_file, set_source_line
from .fastgrammar import Decoder, Fallback, patterns
from .handler import CHANGES, PACKAGE, Batch

CHUNK = 1 << 20  # bytes read at a time
MAX_HEAD = 16 << 20  # the package's head (before the first Предложение) the fast path looks through
MAX_PENDING = 32 << 20  # one Предложение longer than this: the reference reads the file
BIG_LINE = 65535  # libxml2 keeps an element's line in 16 bits (see the module docstring)

_CODECS = {"utf-8": "utf-8", "utf8": "utf-8", "windows-1251": "cp1251", "cp1251": "cp1251"}
_WANTED = frozenset({Entity.PRICES, Entity.RESTS})


_MISSING: Any = object()
_LONE_CR = re.compile(rb"\r(?!\n)")


def scanner_for(
    header: FileHeader, context: ParseContext, *, lookups_only: bool = False
) -> FastScanner | None:
    """The fast path for this file, or None when it can only be a waste (not an offer package file, not
    a wanted family, not UTF-8/windows-1251)."""
    if lookups_only or context.wanted.isdisjoint(_WANTED):
        return None
    if len(header.sections) != 1 or header.sections[0] not in (PACKAGE, CHANGES):
        return None
    codec = _CODECS.get((header.encoding or "utf-8").lower())
    if codec is None:
        return None
    return FastScanner(header, context, codec)


class FastScanner:
    """The batches of one prices or rests file (see the module docstring); raises :class:`Fallback`."""

    def __init__(self, header: FileHeader, context: ParseContext, codec: str) -> None:
        self.header = header
        self.context = context
        self.codec = codec
        self.p = patterns(codec)
        self.decode = Decoder(codec).text
        wanted = context.wanted
        self.want_prices = Entity.PRICES in wanted
        self.want_stock = Entity.RESTS in wanted
        # raw bytes -> value, per file (bounded); None stands for an absent element
        self.type_ids: dict[bytes | None, str] = {}
        self.currencies: dict[bytes | None, str | None] = {None: None}
        self.units: dict[bytes | None, str | None] = {None: None}
        self.ratios: dict[bytes | None, Decimal | None] = {None: None}
        self.warehouses: dict[bytes, str | None] = {}
        self.quantities: dict[bytes, Decimal] = {}

    def batches(self, opener: Opener, head_reader: Callable[[IO[bytes]], Iterator[Batch]]) -> Iterator[Batch]:
        """``head_reader`` reads a stream with the reference (the file's head, closed)."""
        p = self.p
        with opener() as stream:
            buf = stream.read(PROLOG_BYTES)  # its encoding: the header's (scanner_for)
            start = buf.find(p.offer_start)
            while start < 0:
                more = stream.read(CHUNK)
                if not more or len(buf) > MAX_HEAD:
                    raise Fallback("no Предложение in the head")
                keep = len(buf) - len(p.offer_start)
                buf += more
                start = buf.find(p.offer_start, max(0, keep))
            head = buf[:start]
            if p.head_end.search(head) is None or p.root_start not in head:
                raise Fallback("head")
            section = self.header.sections[0]
            closing = f"</Предложения></{section}></{ROOT}>".encode(self.codec)
            if _LONE_CR.search(head):
                raise Fallback("a lone carriage return")  # libxml2 counts it as a line end
            try:  # the head as the reference reads it; an error there is the reference's to report
                yield from head_reader(io.BytesIO(head + closing))
            except CommerceMLError as exc:
                raise Fallback(f"the head: {exc}") from None
            yield from self._offers(stream, buf, start, head.count(b"\n") + 1, section)

    def _offers(self, stream: IO[bytes], buf: bytes, pos: int, line: int, section: str) -> Iterator[Batch]:
        p = self.p
        offer_end = p.offer_end
        line_pos = pos  # ``line`` is the line of buf[line_pos]
        checked = pos  # buf[:checked] has been searched for what libxml2 refuses
        eof = False
        while True:
            limit = buf.rfind(offer_end, pos)  # the Предложение elements before it are complete
            if limit < 0:
                if eof:
                    break
                more = stream.read(CHUNK)
                if not more:
                    eof = True
                    continue
                if len(buf) - pos > MAX_PENDING:
                    raise Fallback("an element longer than MAX_PENDING")
                line += buf.count(b"\n", line_pos, pos)
                checked = max(checked - pos, 0)
                buf = buf[pos:] + more
                pos = line_pos = 0
                continue
            self._check(buf, checked, eof)
            checked = len(buf) - 1  # a CR at the end is looked at again with what follows
            limit += len(offer_end)
            while pos < limit:
                match = p.open.match(buf, pos)
                if match is None:
                    self._end(buf, pos, section, stream, eof)
                    return
                line += buf.count(b"\n", line_pos, pos)
                line_pos = pos
                if match.group(2) == p.prices:
                    pos, line, line_pos, batch = self._prices(buf, match, line, line_pos)
                else:
                    pos, line, line_pos, batch = self._rests(buf, match, line, line_pos)
                if batch:
                    yield batch
        self._end(buf, pos, section, stream, eof)

    def _check(self, buf: bytes, checked: int, eof: bool) -> None:
        """Fallback when buf[checked - 2:] holds what the grammar's byte classes let through but libxml2
        refuses or counts differently: ``]]>``, the non-characters U+FFFE/U+FFFF, a carriage return that
        ends a line alone (libxml2 counts it as a line)."""
        start = max(checked - 2, 0)
        for needle in self.p.refused:
            # its first byte first: a one-byte find is a memchr, ~50 times faster than a find of the whole
            # needle, and the first bytes (']', 0xEF) are rare in these files (reading the 200K prices and
            # rests files: 3.36 → 2.83 s and 2.87 → 2.48 s)
            at = buf.find(needle[:1], start)
            if at >= 0 and buf.find(needle, at) >= 0:
                raise Fallback("text libxml2 refuses")
        cr = buf.find(b"\r", start)
        while cr >= 0:
            if cr + 1 == len(buf):
                if eof:
                    raise Fallback("a lone carriage return")
                return  # maybe the first half of a CR LF split between two reads: checked again
            if buf[cr + 1] != 10:
                raise Fallback("a lone carriage return")
            cr = buf.find(b"\r", cr + 2)

    def _end(self, buf: bytes, pos: int, section: str, stream: IO[bytes], eof: bool) -> None:
        """The rest of the file: the package's, section's and root's end tags, nothing else."""
        p = self.p
        if not eof:
            rest = stream.read(MAX_PENDING + 1)
            if len(rest) > MAX_PENDING:
                raise Fallback("more after the offers")
            buf = buf[pos:] + rest
            pos = 0
        match = p.package_end.match(buf, pos)
        if match is None or match.group(1).decode(self.codec) != section:
            if buf[pos : pos + 256].lstrip(b" \t\r\n").startswith(p.offer_start):
                raise Fallback("a Предложение other than Ид + Цены or Ид + Остатки")
            raise Fallback("not the end of the package")
        if p.root_end.match(buf, match.end()) is None:
            raise Fallback("not the end of the file")

    def _offer_id(self, raw: bytes) -> str:
        text = self.decode(raw)
        offer_id = text.strip() if text else None
        if not offer_id or composite_id_problem(offer_id):
            raise Fallback("an offer the reference rejects")
        return offer_id

    def _big_line(self, buf: bytes, match: re.Match[bytes], line: int, line_pos: int) -> int:
        """libxml2's line of an element past line 65,534: its first descendant text's (see the module
        docstring); ``match`` captured the element's first child text as its first matched group."""
        for index in range(1, (match.lastindex or 0) + 1):
            start = match.start(index)
            if start < 0:
                continue
            end = match.end(index)
            if start == end or buf.find(b"\n", start, end) >= 0 or buf.find(b"\r", start, end) >= 0:
                raise Fallback("a big line libxml2 takes from elsewhere")
            return line + buf.count(b"\n", line_pos, start)
        raise Fallback("an element without text past line 65,534")

    def _prices(  # noqa: C901, PLR0912, PLR0915 - the hot loop, inlined on purpose (a call per price is measurable)
        self, buf: bytes, match: re.Match[bytes], line: int, line_pos: int
    ) -> tuple[int, int, int, list]:
        """The Price records of one ``Ид`` + ``Цены`` Предложение (the reference's ``_prices``)."""
        offer_id = self._offer_id(match.group(1))
        p = self.p
        plain_price, price = p.plain_price.match, p.price.match
        count = buf.count
        context = self.context
        file = context.file
        codec = self.codec
        want = self.want_prices
        type_ids, currencies, units, ratios = self.type_ids, self.currencies, self.units, self.ratios
        out: list = []
        pos = match.end()
        try:
            while True:
                m = plain_price(buf, pos)
                plain = m is not None
                if m is None:
                    m = price(buf, pos)
                    if m is None:
                        break
                start = pos
                pos = m.end()
                if not want:
                    continue
                raw_presentation, raw_type, raw_value, raw_currency, raw_unit, raw_ratio = m.groups()
                value: Decimal | None
                if plain:
                    value = Decimal(raw_value.decode("ascii"))
                else:
                    value = self._value(raw_value)
                    if value is None:
                        continue
                type_id = type_ids.get(raw_type, _MISSING)
                if type_id is _MISSING:
                    type_id = self._type_id(raw_type)
                currency = currencies.get(raw_currency, _MISSING)
                if currency is _MISSING:
                    currency = self._memo(currencies, raw_currency, context.currencies.__getitem__)
                unit = units.get(raw_unit, _MISSING)
                if unit is _MISSING:
                    unit = self._memo(units, raw_unit, _stripped)
                ratio = ratios.get(raw_ratio, _MISSING)
                if ratio is _MISSING:
                    ratio = self._memo(ratios, raw_ratio, context.ratios.__getitem__)
                if not raw_presentation:
                    presentation = None
                elif b"&" in raw_presentation or b"\r" in raw_presentation:
                    presentation = _stripped(self.decode(raw_presentation) or "")
                else:
                    presentation = raw_presentation.decode(codec).strip() or None
                line += count(b"\n", line_pos, start)
                line_pos = start
                if line < BIG_LINE:
                    here = line
                elif raw_presentation and b"\n" not in raw_presentation and b"\r" not in raw_presentation:
                    here = line + count(b"\n", start, m.start(1))  # its first child's text: Представление
                else:
                    here = self._big_line(buf, m, line, line_pos)
                source = new_object(Source)
                set_source_file(source, file)
                set_source_line(source, here)
                out.append(Price(offer_id, type_id, value, currency, unit, ratio, presentation, source))
        except UnicodeDecodeError as exc:
            raise Fallback(f"not {codec}: {exc}") from None
        return self._closed(p.prices_end, buf, pos, Entity.PRICES, out), line, line_pos, out

    def _value(self, raw: bytes | None) -> Decimal | None:
        """A ЦенаЗаЕдиницу that is not a plain number: the reference's Decimal, else parse_decimal's."""
        text = self.decode(raw) if raw else None
        try:
            value = Decimal(text) if text is not None else None
        except InvalidOperation:
            value = None
        if value is not None and "_" not in text and value.is_finite():  # type: ignore[operator]
            if -MAX_ADJUSTED <= value.adjusted() <= MAX_ADJUSTED:
                return value
        return self._slow_value(text)

    def _slow_value(self, text: str | None) -> Decimal | None:
        """A ЦенаЗаЕдиницу the plain Decimal does not take: parse_decimal's (an empty one is counted)."""
        try:
            value = parse_decimal(text)
        except BadNumber:
            raise Fallback("a price the reference rejects") from None
        if value is None:
            self.context.stats.empty_prices += 1
        return value

    def _type_id(self, raw: bytes | None) -> str:
        text = self.decode(raw) if raw is not None else None
        type_id = text.strip() if text else None
        if not type_id:
            raise Fallback("a price without ИдТипаЦены")
        if raw is not None and len(self.type_ids) < 256:
            self.type_ids[raw] = type_id
        return type_id

    def _memo(self, memo: dict, raw: bytes | None, convert: Callable[[str], Any]) -> Any:
        """``convert`` of the text of ``raw`` (None for no element or no text), memoised by the raw bytes."""
        text = self.decode(raw) if raw is not None else None
        value = convert(text) if text is not None else None
        if len(memo) < 4096:
            memo[raw] = value
        return value

    def _rests(
        self, buf: bytes, match: re.Match[bytes], line: int, line_pos: int
    ) -> tuple[int, int, int, list]:
        offer_id = self._offer_id(match.group(1))
        p = self.p
        rest = p.rest.match
        count = buf.count
        context = self.context
        file = context.file
        want = self.want_stock
        warehouses, quantities = self.warehouses, self.quantities
        out: list = []
        pos = match.end()
        while (m := rest(buf, pos)) is not None:
            start = pos
            pos = m.end()
            if not want:
                continue
            raw_warehouse, raw_quantity = m.groups()
            line += count(b"\n", line_pos, start)
            line_pos = start
            warehouse_id = warehouses.get(raw_warehouse)
            if warehouse_id is None:
                warehouse_id = self._warehouse(raw_warehouse)
            quantity = quantities.get(raw_quantity)
            if quantity is None:
                quantity = self._quantity(raw_quantity)
            if line < BIG_LINE:
                here = line
            elif b"\n" not in raw_warehouse and b"\r" not in raw_warehouse and raw_warehouse:
                here = line + count(b"\n", start, m.start(1))  # its first text: Склад/Ид
            else:
                here = self._big_line(buf, m, line, line_pos)
            source = new_object(Source)
            set_source_file(source, file)
            set_source_line(source, here)
            out.append(Stock(offer_id, warehouse_id, quantity, source))
        return self._closed(p.rests_end, buf, pos, Entity.RESTS, out), line, line_pos, out

    def _closed(self, end: re.Pattern[bytes], buf: bytes, pos: int, entity: Entity, out: list) -> int:
        """Where the Предложение ends (its box's and its own end tags must follow the last row); counts
        its records."""
        found = end.match(buf, pos)
        if found is None:
            raise Fallback(f"not a {entity} Предложение")
        if out:
            self.context.stats.counts[entity] += len(out)
        return found.end()

    def _warehouse(self, raw: bytes) -> str:
        text = self.decode(raw)
        warehouse_id = text.strip() if text else None
        if not warehouse_id:
            raise Fallback("stock without a warehouse Ид")
        if len(self.warehouses) < 4096:
            self.warehouses[raw] = warehouse_id
        return warehouse_id

    def _quantity(self, raw: bytes) -> Decimal:
        try:
            quantity = self.context.quantity(self.decode(raw))
        except BadNumber:
            raise Fallback("a quantity the reference rejects") from None
        if quantity is None:
            raise Fallback("stock without a quantity")
        if len(self.quantities) < 4096:
            self.quantities[raw] = quantity
        return quantity


def _stripped(text: str) -> str | None:
    return text.strip() or None
