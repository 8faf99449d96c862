"""The fast path's grammar (``reader.fastpath``): its compiled byte patterns, and XML text as libxml2 gives it.

One :class:`Patterns` per byte encoding (UTF-8, windows-1251: both ASCII-compatible, so one grammar written
in ``str`` and encoded); :func:`xml_text` and :class:`Decoder` turn captured bytes into the text lxml's
``.text`` would be — line ends normalised, entity and character references resolved, None for no text —
or raise :class:`Fallback` where libxml2 would refuse the file (the reference then reads it and says why).
"""

from __future__ import annotations

import re
from functools import cache

from ..header import ROOT


class Fallback(Exception):
    """This file is not one the fast path reads exactly as the reference does: the reference reads it."""


_WS = r"[ \t\r\n]*"
_TEXT = r"([^<\x00-\x08\x0b\x0c\x0e-\x1f]*)"  # element text as bytes ('&' resolved when decoded)
_PLAIN_NUMBER = r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?"
_PRICE_FIELDS = ("Представление", "ИдТипаЦены", "ЦенаЗаЕдиницу", "Валюта", "Единица", "Коэффициент")


class Patterns:
    """The grammar, compiled for one byte encoding (UTF-8 or windows-1251: both ASCII-compatible)."""

    def __init__(self, codec: str) -> None:
        def compiled(pattern: str) -> re.Pattern[bytes]:
            return re.compile(pattern.encode(codec))

        self.offer_start = "<Предложение".encode(codec)
        self.offer_end = "</Предложение>".encode(codec)
        self.package_start = "<Предложения>".encode(codec)
        self.root_start = f"<{ROOT}".encode(codec)
        # leading whitespace: the end of the one before may have been cut off at the end of a buffer
        self.open = compiled(rf"{_WS}<Предложение>{_WS}<Ид>{_TEXT}</Ид>{_WS}<(Цены|Остатки)>{_WS}")
        self.prices = "Цены".encode(codec)
        fields = "".join(rf"(?:<{name}>{_TEXT}</{name}>{_WS})?" for name in _PRICE_FIELDS)
        self.price = compiled(rf"<Цена>{_WS}{fields}</Цена>{_WS}")
        # the same with a plain number (finite, well within 1e±100: Decimal takes it as it is)
        plain = "".join(
            rf"<{name}>({_PLAIN_NUMBER})</{name}>{_WS}"
            if name == "ЦенаЗаЕдиницу"
            else rf"(?:<{name}>{_TEXT}</{name}>{_WS})?"
            for name in _PRICE_FIELDS
        )
        self.plain_price = compiled(rf"<Цена>{_WS}{plain}</Цена>{_WS}")
        self.prices_end = compiled(rf"</Цены>{_WS}</Предложение>{_WS}")
        self.rest = compiled(
            rf"<Остаток>{_WS}<Склад>{_WS}<Ид>{_TEXT}</Ид>{_WS}<Количество>{_TEXT}</Количество>{_WS}"
            rf"</Склад>{_WS}</Остаток>{_WS}"
        )
        self.rests_end = compiled(rf"</Остатки>{_WS}</Предложение>{_WS}")
        self.package_end = compiled(
            rf"{_WS}</Предложения>{_WS}</(ПакетПредложений|ИзмененияПакетаПредложений)>"
        )
        self.root_end = compiled(rf"{_WS}</{ROOT}>{_WS}\Z")
        self.head_end = compiled(rf"<Предложения>{_WS}\Z")
        # what libxml2 refuses in text that the byte classes above let through
        self.refused = (b"]]>", b"\xef\xbf\xbe", b"\xef\xbf\xbf") if codec == "utf-8" else (b"]]>",)


@cache
def patterns(codec: str) -> Patterns:
    return Patterns(codec)


_REFERENCE = re.compile(r"&(?:(lt)|(gt)|(amp)|(quot)|(apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_PREDEFINED = {1: "<", 2: ">", 3: "&", 4: '"', 5: "'"}


def _xml_char(code: int) -> str:
    """A character reference's character; Fallback where XML allows none (libxml2 refuses the file)."""
    if (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ):
        return chr(code)
    raise Fallback(f"character reference to {code:#x}")


def _resolve(match: re.Match[str]) -> str:
    index = match.lastindex or 0
    if index <= 5:
        return _PREDEFINED[index]
    return _xml_char(int(match.group(index), 10 if index == 6 else 16))


def xml_text(text: str) -> str:
    """Text as libxml2 gives it: line ends normalised, then entity and character references resolved
    (Fallback for an ``&`` that starts no reference: a malformed file, which the reference reports)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        if "&" in _REFERENCE.sub("", text):
            raise Fallback("an '&' that starts no reference")
        text = _REFERENCE.sub(_resolve, text)
    return text


class Decoder:
    """Captured bytes -> the str lxml's ``.text`` would be (None for empty text, as lxml)."""

    def __init__(self, codec: str) -> None:
        self.codec = codec

    def text(self, raw: bytes) -> str | None:
        if not raw:
            return None
        try:
            text = raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            raise Fallback(f"not {self.codec}: {exc}") from None
        if "&" in text or "\r" in text:
            text = xml_text(text)
        return text
