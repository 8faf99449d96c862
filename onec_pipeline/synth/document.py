"""Writing one XML file of an upload: a buffered text writer and the parts every file shares (the
КоммерческаяИнформация root, the ПакетПредложений head)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .spec import SynthSpec
from .values import SeedIds, guid

CHUNK = 2000  # items per write() call


class XmlWriter:
    """Buffered text writer: collect strings, hand them to the file in chunks."""

    def __init__(self, path: Path, spec: SynthSpec) -> None:
        requested = spec.encoding.lower()
        encoding = "cp1251" if requested in ("windows-1251", "cp1251") else requested
        if encoding in ("utf-8", "utf8") and spec.bom:
            encoding = "utf-8-sig"
        self.declared = "windows-1251" if encoding == "cp1251" else spec.encoding.upper()
        self.file = open(path, "w", encoding=encoding, newline="\n", errors="xmlcharrefreplace")  # noqa: SIM115
        self.buffer: list[str] = []

    def add(self, text: str) -> None:
        self.buffer.append(text)

    def flush(self) -> None:
        if self.buffer:
            self.file.write("".join(self.buffer))
            self.buffer.clear()

    def flush_every_chunk(self, written: int) -> None:
        """Flush after every ``CHUNK`` items (``written`` counts from 0)."""
        if written % CHUNK == CHUNK - 1:
            self.flush()

    def close(self) -> None:
        self.flush()
        self.file.close()


def open_root(out: XmlWriter, version: str, when: datetime) -> None:
    """The XML declaration and the opening КоммерческаяИнформация (``Ид=""`` in 2.09)."""
    out.add(
        f'<?xml version="1.0" encoding="{out.declared}"?>\n'
        '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ВерсияСхемы="{version}" '
        f'ДатаФормирования="{when.strftime("%Y-%m-%dT%H:%M:%S")}"{" Ид=" + chr(34) * 2 if version == "2.09" else ""}>\n'
    )


def only_changes(spec: SynthSpec) -> str:
    """The value of СодержитТолькоИзменения."""
    return "true" if spec.only_changes else "false"


def catalog_name(spec: SynthSpec) -> str:
    return f"Каталог товаров (синтетический, seed {spec.seed})"


def open_catalog(out: XmlWriter, spec: SynthSpec, ids: SeedIds) -> None:
    """The opening Каталог with its id, classifier id and name (goods follow)."""
    catalog = guid(ids.catalog, 0)
    out.add(
        f'\t<Каталог СодержитТолькоИзменения="{only_changes(spec)}">\n\t\t<Ид>{catalog}</Ид>\n'
        f"\t\t<ИдКлассификатора>{catalog}</ИдКлассификатора>\n"
        f"\t\t<Наименование>{catalog_name(spec)}</Наименование>\n"
    )


def package_head(out: XmlWriter, spec: SynthSpec, ids: SeedIds, close: bool = False) -> None:
    """The opening ПакетПредложений with its ids (closed at once with ``close``)."""
    catalog = guid(ids.catalog, 0)
    out.add(
        f'\t<ПакетПредложений СодержитТолькоИзменения="{only_changes(spec)}">\n'
        f"\t\t<Ид>{catalog}#</Ид>\n"
        f"\t\t<Наименование>Пакет предложений ({catalog_name(spec)})</Наименование>\n"
        f"\t\t<ИдКаталога>{catalog}</ИдКаталога>\n"
        f"\t\t<ИдКлассификатора>{catalog}</ИдКлассификатора>\n"
    )
    if close:
        out.add("\t</ПакетПредложений>\n")
