"""Safe, streaming access to one XML file: prolog sniffing, hostile-input refusal, iterparse setup.

* The parser never resolves entities, never loads a DTD and never touches the network.
* Any DOCTYPE is refused with a :class:`CommerceMLError` before any element is read (entity declarations:
  billion laughs; external DTD/entity: XXE; a default attribute that would change data; 1C never sends a
  DTD): first by looking at the raw prolog bytes, then by asking libxml2 what it saw (``docinfo``) when the
  root element starts. (The intake gate, ``integrity.prove_xml``, refuses them before an upload is taken.)
* ``huge_tree`` stays off, so libxml2 keeps its safety limits: nesting deeper than 256 levels, text nodes
  over 10 MB and entity amplification all stop the parse; the error is re-raised as CommerceMLError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import IO

from lxml import etree

from .errors import CommerceMLError

MAX_DEPTH = 256  # libxml2's own limit without XML_PARSE_HUGE; documented here, enforced by the parser
PROLOG_BYTES = 64 * 1024
RAW_FRAGMENT_LIMIT = 4096

_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BOM_UTF8 = b"\xef\xbb\xbf"


def sniff_prolog(head: bytes) -> tuple[str, bool]:
    """(encoding, has_bom) from the first bytes of a file. Encoding as declared, else UTF-8."""
    bom = head.startswith(_BOM_UTF8)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16", True
    declared = _DECL_ENCODING.search(head[:512])
    encoding = declared.group(1).decode("ascii") if declared else "UTF-8"
    return encoding, bom


DOCTYPE_REFUSED = "refused: the file has a DOCTYPE; CommerceML never needs a DTD (no DTD of any kind is read)"


def _prolog_text(head: bytes) -> bytes:
    """The prolog as bytes a DOCTYPE can be found in (UTF-16 decoded and re-encoded as UTF-8)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) - len(head) % 2].decode("utf-16", "replace").encode("utf-8")
    return head


def check_prolog(head: bytes, file: str | None) -> None:
    """Refuse any DOCTYPE (raw-bytes check): entity declarations (billion laughs), external identifiers
    (XXE) and default attributes (``<!ATTLIST Товар Статус CDATA "Удален">`` would mark goods deleted) alike."""
    head = _prolog_text(head)
    pos = head.find(b"<!DOCTYPE")
    if pos < 0:
        return
    decl = head[pos:]
    line = _line_of(head, pos)
    if b"<!ENTITY" in decl:
        raise CommerceMLError(
            "refused: the DOCTYPE declares entities (possible billion-laughs / XXE attack); "
            "CommerceML never needs a DTD",
            file=file,
            line=line,
        )
    end = decl.find(b">")
    first = decl[: end if end >= 0 else 512]
    bracket = first.find(b"[")
    if bracket >= 0:
        first = first[:bracket]
    if re.search(rb"\b(SYSTEM|PUBLIC)\b", first):
        raise CommerceMLError(
            "refused: the DOCTYPE references an external DTD (no DTD loading, no network)",
            file=file,
            line=line,
        )
    raise CommerceMLError(DOCTYPE_REFUSED, file=file, line=line)


def check_docinfo(root: etree._Element, file: str | None) -> None:
    """Second line of defence, once libxml2 has read the prolog: any DOCTYPE (external DTD, declared
    entities or anything else)."""
    docinfo = root.getroottree().docinfo
    if docinfo.system_url or docinfo.public_id:
        raise CommerceMLError(
            "refused: the DOCTYPE references an external DTD (no DTD loading, no network)",
            file=file,
            line=1,
        )
    dtd = docinfo.internalDTD
    if dtd is not None:
        for _entity in dtd.iterentities():
            raise CommerceMLError(
                "refused: the DOCTYPE declares entities (possible billion-laughs / XXE attack); "
                "CommerceML never needs a DTD",
                file=file,
                line=1,
            )
    if dtd is not None or docinfo.doctype:
        raise CommerceMLError(DOCTYPE_REFUSED, file=file, line=1)


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def iterparse(source: IO[bytes], events: Iterable[str], tag: Iterable[str] | None = None):
    """lxml iterparse with every safety option set (see module docstring)."""
    kwargs = {
        "events": tuple(events),
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "huge_tree": False,
        "remove_comments": True,
        "remove_pis": True,
        "remove_blank_text": True,  # whitespace between elements: fewer nodes to build and skip
    }
    if tag is not None:
        kwargs["tag"] = list(tag)
    return etree.iterparse(source, **kwargs)


def syntax_error(exc: Exception, file: str | None, path: str | None = None) -> CommerceMLError:
    """Turn an lxml/libxml2 error into a CommerceMLError with a clear message."""
    msg = str(exc)
    line = getattr(exc, "lineno", None)
    position = getattr(exc, "position", None)
    if line is None and position:
        line = position[0]
    low = msg.lower()
    if (
        "amplification" in low
        or "entity" in low
        and ("loop" in low or "declared" in low or "exceeded" in low)
    ):
        msg = f"refused: entity expansion in the document ({msg})"
    elif "excessive depth" in low or "depth" in low and "huge" in low:
        msg = f"refused: elements nested deeper than {MAX_DEPTH} levels ({msg})"
    elif not msg:
        msg = type(exc).__name__
    else:
        msg = f"malformed XML: {msg}"
    return CommerceMLError(msg, file=file, line=line, path=path)


def raw_fragment(el: etree._Element) -> str:
    """The element as XML text, truncated to a few KB (for Reject.raw)."""
    try:
        text = etree.tostring(el, encoding="unicode", with_tail=False)
    except Exception:  # noqa: BLE001 - a reject must never fail to be built
        return f"<{el.tag}>"
    if len(text) > RAW_FRAGMENT_LIMIT:
        text = text[:RAW_FRAGMENT_LIMIT] + "…[truncated]"
    return text


class LocalNames(dict):
    """``{namespace}local`` -> ``local``, memoised (tags repeat millions of times)."""

    def __missing__(self, tag):
        if not isinstance(tag, str):  # comments / PIs / entities
            self[tag] = ""
            return ""
        local = tag.rpartition("}")[2]
        self[tag] = local
        return local


def free_element(element: etree._Element) -> None:
    """Free an element we are done with, and the already-processed siblings before it (bounded memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


Opener = Callable[[], IO[bytes]]  # opens one file of an upload (a path or a zip member) for reading
