"""The one loop over a file's parser events: sections tracked, each handled element sent to its handler.

One tag-filtered ``iterparse`` pass per file (namespaces ignored: local names only). Each handler turns its
element into records when it ends and frees it together with its already-processed siblings, so memory
stays flat whatever the file size.

Known limitation: libxml2 keeps an element's line in 16 bits; past line 65535 ``sourceline`` is taken from
the element's first child, so ``Source.line`` of an element whose first child starts on a later line is
one or two too high there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from lxml import etree

from ..errors import CommerceMLError
from ..header import OFFER_SECTIONS, ROOT
from ..records import Entity, FileHeader
from ..xmlsafe import check_docinfo, iterparse, syntax_error
from .context import Lookups, ParseContext, ReadStats
from .handler import CLASSIFIER, SECTIONS, Batch, Handler
from .table import HANDLERS

# what only a Классификатор holds; price types and warehouses too when the file has no offer package
_CLASSIFIER_ONLY = frozenset({Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS})
_SMALL_LISTS = frozenset({Entity.PRICE_TYPES, Entity.WAREHOUSES})


class FileReader:
    """Records of one file, in batches (the records of one element)."""

    def __init__(
        self,
        header: FileHeader,
        wanted: frozenset[Entity],
        lookups: Lookups,
        stats: ReadStats,
        *,
        lookups_only: bool = False,
    ) -> None:
        self.context = ParseContext(header, wanted, lookups, stats)
        self.lookups_only = lookups_only
        # per section: element name -> the bound end / start of its handler (one handler per class)
        self.ends: dict[str, dict[str, Callable[[Any], Batch | None]]] = {}
        self.starts: dict[str, dict[str, Callable[[Any], Batch | None]]] = {}
        instances: dict[type[Handler], Handler] = {}
        for (section, name), handler_class in HANDLERS.items():
            handler = instances.get(handler_class)
            if handler is None:
                handler = instances[handler_class] = handler_class(self.context)
            self.ends.setdefault(section, {})[name] = handler.end
            if handler.starts:
                self.starts.setdefault(section, {})[name] = handler.start
        # the parser reports only the root, the sections and the elements some handler takes
        handled = {name for _section, name in HANDLERS}
        self.reported_tags = tuple("{*}" + name for name in (ROOT, *sorted(SECTIONS), *sorted(handled)))
        self.open_element: Any = None  # the handled element being read (for error messages)
        # Stop at the end of the Классификатор when nothing wanted can come after it: the groups asset
        # then reads only the classifier part of a classic (possibly huge) import.xml.
        classifier_only = _CLASSIFIER_ONLY
        if OFFER_SECTIONS.isdisjoint(header.sections):
            classifier_only |= _SMALL_LISTS
        relevant = wanted & header.entities if header.entities else wanted
        self.stop_after_classifier = lookups_only or (bool(relevant) and relevant <= classifier_only)

    def batches(self, source: IO[bytes]) -> Iterator[Batch]:
        context = self.context
        names = context.names
        nothing: dict[str, Callable[[Any], Batch | None]] = {}
        ends = starts = nothing  # the handlers of the section being read
        section_element: Any = None
        root: Any = None
        events = iterparse(source, events=("start", "end"), tag=self.reported_tags)
        try:
            for event, element in events:
                name = names[element.tag]
                if event == "end":
                    end = ends.get(name)
                    if end is not None:
                        self.open_element = None
                        batch = end(element)
                        if batch:
                            yield batch
                    if element is section_element:
                        element.clear(keep_tail=False)
                        ends = starts = nothing
                        section_element = context.section = context.section_element = None
                        if name == CLASSIFIER and self.stop_after_classifier:
                            return
                elif name in ends:
                    self.open_element = element
                    if starts and name in starts:
                        batch = starts[name](element)
                        if batch:
                            yield batch
                elif root is None:
                    root = self._root(element, name)
                elif name in SECTIONS and element.getparent() is root:
                    section_element = context.section_element = element
                    context.section = name
                    ends = self.ends.get(name, nothing)
                    starts = self.starts.get(name, nothing)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, context.file, self._where()) from None
        finally:
            del events

    def _root(self, element: Any, name: str) -> Any:
        check_docinfo(element, self.context.file)
        if name != ROOT:
            raise CommerceMLError(
                f"not CommerceML: the root element is {name!r}",
                file=self.context.file,
                line=element.sourceline,
            )
        return element

    def _where(self) -> str:
        """The element path for an error message: root, section, and the handled element being read."""
        parts = [ROOT]
        if self.context.section:
            parts.append(self.context.section)
        if self.open_element is not None:
            parts.append(self.context.names[self.open_element.tag])
        return "/".join(parts)
