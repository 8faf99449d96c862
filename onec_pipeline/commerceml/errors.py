"""The one exception the reader raises for document-level problems."""

from __future__ import annotations


class CommerceMLError(Exception):
    """A file that cannot be read as CommerceML: malformed or hostile XML, unreadable file, bad upload.

    ``str()`` names the file, line, element path and entity id when known, e.g.
    ``import.xml:120: КоммерческаяИнформация/Каталог/Товары/Товар [id 7d2d...]: mismatched tag``.
    Entity-level problems (a missing Ид, a price that is not a number) are not errors: the reader
    yields :class:`~onec_pipeline.commerceml.records.Reject` records for them.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        entity_id: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.entity_id = entity_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        parts = []
        if where:
            parts.append(where)
        if self.path:
            parts.append(self.path)
        if self.entity_id:
            parts.append(f"[id {self.entity_id}]")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __reduce__(self):  # picklable across processes (Dagster, multiprocessing)
        return (_rebuild, (self.message, self.file, self.line, self.path, self.entity_id))


def _rebuild(message, file, line, path, entity_id) -> CommerceMLError:
    return CommerceMLError(message, file=file, line=line, path=path, entity_id=entity_id)
