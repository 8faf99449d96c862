"""Staging: the TEMP table that receives one entity's rows during one ``Transaction.load`` call.

PostgreSQL: rows become COPY text lines (:mod:`onec_pipeline.store.pgcopy`), sent in batches of
``COPY_BATCH`` lines or ``COPY_BATCH_CHARS`` characters by the background sender. SQLite: batched
``executemany`` of ``SQLITE_BATCH`` rows. Prices and stock have hand-written COPY lines (the bulk of big
uploads); everything else goes through the spec's ``extract`` and :func:`~onec_pipeline.store.pgcopy.copy_line`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store import rows
from onec_pipeline.store.connection import LoadConnection
from onec_pipeline.store.pgcopy import NULL, SPECIAL, copy_line

COPY_BATCH = 50_000
# ... or this many characters, whichever comes first: goods/offers lines with JSON properties run to a few KB,
# and 50,000 of them held as text (plus the joined copy) cost hundreds of MB
COPY_BATCH_CHARS = 4_000_000
SQLITE_BATCH = 5_000

_temp_numbers = itertools.count()


def temp_table_name(prefix: str, table: str) -> str:
    """A TEMP table name unique in this process (``onec_<prefix>_<table>_<n>``)."""
    return f"onec_{prefix}_{table}_{next(_temp_numbers)}"


def quote(name: str) -> str:
    return f'"{name}"'


_PG_TYPES = {"text": "text", "bool": "boolean", "dec": "numeric", "json": "jsonb"}
_SQLITE_TYPES = {"text": "text", "bool": "INTEGER", "dec": "NUMERIC", "json": "TEXT"}


class StagingTable:
    """A TEMP staging table receiving the rows of one entity during one ``load`` call.

    ``push(record)`` stages a record (raises :class:`~onec_pipeline.store.errors.RowError` for a value that
    cannot be stored); ``seq`` numbers the staged rows (the last occurrence of a key wins), ``count`` the
    records routed here including rejected ones. The de-duplicated copy the apply step builds is
    ``dedup_name``.
    """

    def __init__(self, db: LoadConnection, spec: rows.EntitySpec):
        self.db = db
        self.spec = spec
        number = next(_temp_numbers)
        self.name = f"onec_stg_{spec.table}_{number}"
        self.dedup_name = f"onec_dd_{spec.table}_{number}"
        self.seq = 0
        self.count = 0  # records routed to this entity (including rejected ones)
        self.extract = spec.extract
        self.pending: list[Any] = []
        self.chars = 0  # characters pending (generic PostgreSQL path)
        self.columns = ["seq"] + [name for name, _ in spec.staged_columns]
        # PostgreSQL drops the staging tables at commit/rollback; SQLite ones are dropped after use.
        db.execute_sql(f"CREATE TEMP TABLE {self.name} ({self._ddl()}){' ON COMMIT DROP' if db.pg else ''}")
        self.add: Callable[[tuple], None] = self._add_pg if db.pg else self._add_sqlite
        fast = FAST_PUSH.get(spec.entity) if db.pg else None
        self.push: Callable[[Any], None] = (lambda rec: fast(self, rec)) if fast is not None else self._push

    def _push(self, rec: Any) -> None:
        self.add(self.extract(rec))

    def _ddl(self) -> str:
        types = _PG_TYPES if self.db.pg else _SQLITE_TYPES
        parts = ["seq bigint" if self.db.pg else "seq INTEGER"]
        parts += [f"{quote(name)} {types[kind]}" for name, kind in self.spec.staged_columns]
        return ", ".join(parts)

    def _add_pg(self, row: tuple) -> None:
        self.seq += 1
        line = copy_line(self.seq, row)
        self.pending.append(line)
        self.chars += len(line)
        if len(self.pending) >= COPY_BATCH or self.chars >= COPY_BATCH_CHARS:
            self.flush()

    def _add_sqlite(self, row: tuple) -> None:
        self.seq += 1
        pending = self.pending
        pending.append((self.seq, *row))
        if len(pending) >= SQLITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.db.pg:
            text = "".join(self.pending)
            self.pending, self.chars = [], 0
            # psycopg2 sends bytes as they are (no second copy re-encoded): encode in the connection's encoding
            data = text.encode(self.db.codec)
            del text
            columns = ", ".join(quote(c) for c in self.columns)
            self.db.send_copy(f"COPY {self.name} ({columns}) FROM STDIN", data)
        else:
            marks = ", ".join("?" for _ in self.columns)
            self.db.insert_many(f"INSERT INTO {self.name} VALUES ({marks})", self.pending)
        self.pending = []

    def drop(self) -> None:
        if self.db.pg:
            return
        self.db.execute_sql(f"DROP TABLE IF EXISTS {self.name}")
        self.db.execute_sql(f"DROP TABLE IF EXISTS {self.dedup_name}")


_MAX_ID = rows.MAX_ID_LENGTH


def _fast_stock(stage: StagingTable, rec: Any) -> None:
    """COPY line of a Stock without the generic tuple/escaping path (the bulk of big uploads)."""
    offer_id, warehouse_id = rec.offer_id, rec.warehouse_id
    if offer_id.__class__ is str and warehouse_id.__class__ is str:
        offer_id, warehouse_id = offer_id.strip(), warehouse_id.strip()
        if (
            offer_id
            and warehouse_id
            and len(offer_id) <= _MAX_ID
            and len(warehouse_id) <= _MAX_ID
            and not SPECIAL.search(offer_id + warehouse_id)
        ):
            quantity = rows.req_dec(rec.quantity, "quantity")
            stage.seq += 1
            pending = stage.pending
            pending.append(f"{stage.seq}\t{offer_id}\t{warehouse_id}\t{quantity}\n")
            if len(pending) >= COPY_BATCH:
                stage.flush()
            return
    stage.add(stage.extract(rec))


def _fast_price(stage: StagingTable, rec: Any) -> None:
    """COPY line of a Price without the generic path (see :func:`_fast_stock`)."""
    offer_id, price_type_id = rec.offer_id, rec.price_type_id
    currency, unit, presentation = rec.currency, rec.unit, rec.presentation
    if (
        offer_id.__class__ is str
        and price_type_id.__class__ is str
        and (currency is None or currency.__class__ is str)
        and (unit is None or unit.__class__ is str)
        and (presentation is None or presentation.__class__ is str)
    ):
        offer_id, price_type_id = offer_id.strip(), price_type_id.strip()
        if (
            offer_id
            and price_type_id
            and len(offer_id) <= _MAX_ID
            and len(price_type_id) <= _MAX_ID
            and not SPECIAL.search(
                f"{offer_id}{price_type_id}{currency or ''}{unit or ''}{presentation or ''}"
            )
        ):
            price = rows.req_dec(rec.price, "price")
            ratio = rows.dec(rec.ratio, "ratio") if rec.ratio is not None else None
            stage.seq += 1
            pending = stage.pending
            pending.append(
                f"{stage.seq}\t{offer_id}\t{price_type_id}\t{price}\t{NULL if currency is None else currency}\t"
                f"{NULL if unit is None else unit}\t{NULL if ratio is None else ratio}\t"
                f"{NULL if presentation is None else presentation}\n"
            )
            if len(pending) >= COPY_BATCH:
                stage.flush()
            return
    stage.add(stage.extract(rec))


#: hand-written COPY lines per entity (PostgreSQL); their column order is the table's (tested)
FAST_PUSH: dict[Entity, Callable[[StagingTable, Any], None]] = {
    Entity.RESTS: _fast_stock,
    Entity.PRICES: _fast_price,
}
