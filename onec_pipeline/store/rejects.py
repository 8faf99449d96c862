"""The rejects of one transaction: records that could not be stored, with the reason, file and line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store.connection import LoadConnection
from onec_pipeline.store.rows import MAX_ID_LENGTH

REJECT_RAW_LIMIT = 4_000
REJECT_BATCH = 1_000


class RejectLog:
    """Buffers reject rows and writes them in batches to the ``rejects`` table.

    Loading an upload again replaces (not duplicates) its rejects for the entities it loads again: the
    first write for an entity met in this transaction (:meth:`touch`) deletes the upload's older rejects
    of it.
    """

    def __init__(self, db: LoadConnection, table: sa.Table, upload_key: str, now: datetime):
        self.db = db
        self.table = table
        self.upload_key = upload_key
        self.now = now
        self.pending: list[dict[str, Any]] = []
        self._touched: set[str] = set()  # entities met in this transaction
        self._cleared: set[str] = set()  # ... whose older rejects are deleted already

    def touch(self, entity: Entity) -> None:
        self._touched.add(entity.value)

    def add(self, entity: Entity, entity_id: Any, reason: str, raw: Any, source: Any) -> None:
        self._touched.add(entity.value)
        self.pending.append(
            {
                "upload": self.upload_key,
                "entity": entity.value,
                "entity_id": None
                if entity_id is None
                else str(entity_id).replace("\x00", "")[:MAX_ID_LENGTH],
                "reason": str(reason).replace("\x00", ""),
                "raw": None if raw is None else str(raw)[:REJECT_RAW_LIMIT].replace("\x00", "\\x00"),
                "file": getattr(source, "file", None),
                "line": getattr(source, "line", None),
                "created_at": self.now,
            }
        )
        if len(self.pending) >= REJECT_BATCH:
            self.write()

    def write(self) -> None:
        """Write the buffered rejects (after deleting the replaced ones)."""
        if self.pending:
            self.clear_replaced()
            self.db.execute(self.table.insert(), self.pending)
            self.pending = []

    def clear_replaced(self) -> None:
        """Delete this upload's older rejects of the entities met so far (once per entity)."""
        todo = sorted(self._touched - self._cleared)
        if todo:
            self._cleared.update(todo)
            table = self.table
            self.db.execute(table.delete().where(table.c.upload == self.upload_key, table.c.entity.in_(todo)))
