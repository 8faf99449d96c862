"""Proof that one XML file is whole and decodable, before anything of its upload is written (the gate).

:func:`prove_xml` reads the file once, streaming, through libxml2 with a parser target that builds nothing
(no tree, no Python call per element: several times faster than the reader), with the reader's own safety
options. A file passes only when

* it starts with an XML declaration or an element (a UTF-8 BOM or a UTF-16 BOM first; nothing else before
  ``<``: a stray byte before ``<?xml`` is refused, not skipped);
* its encoding is one 1C writes — UTF-8 (with or without BOM), windows-1251, UTF-16 with a BOM — and what it
  declares agrees with what it is: a BOM contradicting the declaration, UTF-16 without a BOM, UTF-8 bytes in
  a file declared windows-1251 and bytes that are not UTF-8 in a UTF-8 file are refused;
* it has no DOCTYPE at all (1C never sends one: no DTD, no entity, no default attribute can change data);
* libxml2 reads it to the end without an error: every element closed, the root element's closing tag
  present, nothing after it. A file the gate accepts is one the reader can read to its end.

Every refusal is a :class:`CommerceMLError` naming the file, the line where there is one, and why.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from lxml import etree

from .errors import CommerceMLError
from .xmlsafe import Opener

CHUNK = 1 << 20
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_ALIASES = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "windows-1251": "windows-1251",
    "cp1251": "windows-1251",
    "win-1251": "windows-1251",
    "utf-16": "utf-16",
    "utf-16le": "utf-16",
    "utf-16be": "utf-16",
}
SUPPORTED = "UTF-8, windows-1251 or UTF-16 with a byte order mark"
_DECLARATION = re.compile(r"""^<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']""")


@dataclass(frozen=True)
class XmlProof:
    """What the gate learnt about a file it accepted."""

    encoding: str  # utf-8 | windows-1251 | utf-16
    bom: bool
    declared: str | None  # the declared encoding as written, None when not declared


class _Sink:
    """A parser target that keeps nothing: libxml2 still checks every byte; only a DOCTYPE is noted."""

    def __init__(self) -> None:
        self.doctype_seen = False

    def doctype(self, *_args: object) -> None:  # lxml calls it for a DOCTYPE
        self.doctype_seen = True

    def close(self) -> None:
        return None


def _bom(head: bytes) -> tuple[str | None, int]:
    for mark, name in _BOMS:
        if head.startswith(mark):
            return name, len(mark)
    return None, 0


def _head_text(head: bytes, bom: str | None, skip: int) -> str:
    if bom == "utf-16":
        return head[: len(head) - len(head) % 2].decode("utf-16", "replace")
    return head[skip:].decode("latin-1")


def _check_prolog(head: bytes, rel: str) -> XmlProof:
    """The encoding checks that need only the first bytes; returns what the file says it is."""
    if not head:
        raise CommerceMLError("empty file (no XML at all)", file=rel)
    bom, skip = _bom(head)
    if bom == "utf-32":
        raise CommerceMLError(f"encoding UTF-32 is not supported ({SUPPORTED})", file=rel, line=1)
    if bom is None and (head.startswith(b"<\x00") or head.startswith(b"\x00<")):
        raise CommerceMLError(
            f"UTF-16 without a byte order mark is not supported ({SUPPORTED})", file=rel, line=1
        )
    text = _head_text(head, bom, skip).lstrip(" \t\r\n")  # whitespace before a root is XML (libxml2 judges)
    if not text.startswith("<"):
        shown = head[skip : skip + 8]
        raise CommerceMLError(
            f"not XML: the file starts with {shown!r} where '<?xml' or an element must be "
            "(a stray byte before the XML declaration, or not an XML file)",
            file=rel,
            line=1,
        )
    match = _DECLARATION.match(text)
    declared = match.group(1).strip() if match else None
    actual = _declared_encoding(declared, rel) if declared else "utf-8"
    if bom == "utf-16" and declared is None:
        actual = "utf-16"
    if bom is not None and bom != actual:
        raise CommerceMLError(
            f"the file starts with a {bom.upper()} byte order mark but declares encoding {declared!r}",
            file=rel,
            line=1,
        )
    if actual == "utf-16" and bom is None:
        raise CommerceMLError(
            f"UTF-16 without a byte order mark is not supported ({SUPPORTED})", file=rel, line=1
        )
    return XmlProof(encoding=actual, bom=bom is not None, declared=declared)


def _declared_encoding(declared: str, rel: str) -> str:
    canonical = _ALIASES.get(declared.lower().replace("_", "-"))
    if canonical is None:
        raise CommerceMLError(
            f"declared encoding {declared!r} is not one 1C writes ({SUPPORTED})", file=rel, line=1
        )
    return canonical


class _Utf8Probe:
    """For a file declared windows-1251: whether its non-ASCII bytes are in fact all valid UTF-8."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.high = False  # saw a byte >= 0x80
        self.utf8 = True  # every byte so far is valid UTF-8

    def feed(self, chunk: bytes, final: bool) -> None:
        if not self.utf8:
            return
        if not self.high and not chunk.isascii():
            self.high = True
        try:
            self.decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.utf8 = False

    @property
    def mismatch(self) -> bool:
        return self.high and self.utf8


def _syntax_error(exc: etree.XMLSyntaxError, rel: str, *, last_line: int | None) -> CommerceMLError:
    """The parser's error as a refusal; ``last_line``: the file's last line when the parser failed at the
    end of its bytes (a truncated file), else None."""
    msg = str(exc.msg if getattr(exc, "msg", None) else exc).strip()
    msg = (msg.splitlines() or [""])[0][:200]  # libxml2 may quote the bytes it choked on, newlines and all
    line = exc.lineno or None
    at_end = last_line is not None and (line is None or line >= last_line)
    low = msg.lower()
    if "extra content" in low:
        reason = f"something follows the root element's closing tag ({msg})"
    elif "not proper utf-8" in low or "encoding" in low:
        reason = f"not decodable as its declared encoding ({msg})"
    elif at_end:
        reason = f"incomplete file: it ends before its root element is closed (truncated?) ({msg})"
    elif "amplification" in low or "entity" in low:
        reason = f"refused: entity in the document ({msg})"
    elif "depth" in low or "huge" in low or "limit exceeded" in low:
        reason = f"refused: beyond the parser's safety limits ({msg})"
    else:
        reason = f"malformed XML: {msg}"
    return CommerceMLError(reason, file=rel, line=line)


def _new_parser(sink: _Sink) -> etree.XMLParser:
    return etree.XMLParser(
        target=sink, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )


def prove_xml(opener: Opener, rel: str) -> XmlProof:
    """Read the file ``opener`` opens to its end (streaming) and raise :class:`CommerceMLError` unless it is
    whole, decodable and free of DTDs (see the module docstring). ``rel`` names it in the error."""
    sink = _Sink()
    parser = _new_parser(sink)
    proof: XmlProof | None = None
    probe: _Utf8Probe | None = None
    at_end = False
    lines = 1
    try:
        with opener() as stream:
            chunk = stream.read(CHUNK)
            if not chunk:
                raise CommerceMLError("empty file (no XML at all)", file=rel)
            proof = _check_prolog(chunk, rel)
            probe = _Utf8Probe() if proof.encoding == "windows-1251" else None
            while chunk:
                following = stream.read(CHUNK)
                at_end = not following
                lines += chunk.count(b"\n")
                if probe is not None:
                    probe.feed(chunk, final=at_end)
                parser.feed(chunk)
                if sink.doctype_seen:
                    raise CommerceMLError(_DOCTYPE_REFUSED, file=rel, line=1)
                chunk = following
        at_end = True
        parser.close()
    except etree.XMLSyntaxError as exc:
        if sink.doctype_seen:
            raise CommerceMLError(_DOCTYPE_REFUSED, file=rel, line=1) from None
        raise _syntax_error(exc, rel, last_line=lines if at_end else None) from None
    except OSError as exc:
        raise CommerceMLError(f"cannot read file: {exc}", file=rel) from None
    if sink.doctype_seen:
        raise CommerceMLError(_DOCTYPE_REFUSED, file=rel, line=1)
    if probe is not None and probe.mismatch:
        raise CommerceMLError(
            "declares encoding windows-1251 but its text is UTF-8 (every non-ASCII byte is UTF-8): "
            "the declaration is wrong, names would be stored garbled",
            file=rel,
            line=1,
        )
    return proof


_DOCTYPE_REFUSED = (
    "refused: the file has a DOCTYPE; CommerceML never needs a DTD (no DTD of any kind is read)"
)
