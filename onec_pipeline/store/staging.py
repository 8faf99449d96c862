"""Staging: the TEMP table that receives one entity's rows during one ``Transaction.load`` call.

PostgreSQL: rows become COPY text lines (:mod:`onec_pipeline.store.pgcopy`), sent in batches of
``COPY_BATCH`` lines or ``COPY_BATCH_CHARS`` characters by the background sender. SQLite: batched
``executemany`` of ``SQLITE_BATCH`` rows. Prices and stock have hand-written COPY lines (the bulk of big
uploads); everything else goes through the spec's ``extract`` and :func:`~onec_pipeline.store.pgcopy.copy_line`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
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
        fast = fast_push(self) if db.pg else None
        self.push: Callable[[Any], None] = fast if fast is not None else self._push

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
MEMO_SIZE = 4096  # validated ids and number texts remembered per staging table (they repeat a lot)


class _FastLines:
    """Hand-written COPY lines of prices and stock (the bulk of big uploads), without the generic tuple and
    escaping path: the same lines (tested), with what repeats checked once — the offer of consecutive rows
    (a Предложение's prices or warehouses), warehouse and price type ids, currencies, units, quantities
    and ratios (memoised; equal decimals have one canonical text). A record the memo cannot vouch for (an
    id to escape or refuse, a value that is no Decimal) takes the generic path, which says why."""

    def __init__(self, stage: StagingTable) -> None:
        self.stage = stage
        self.last_offer: Any = None
        self.last_clean: str | None = None
        self.ids: dict[str, str] = {}  # raw id / text -> as staged (stripped for ids)
        self.texts: dict[str, str] = {}
        self.numbers: dict[Decimal, str] = {}

    def offer(self, offer_id: Any) -> str | None:
        if offer_id is self.last_offer:
            return self.last_clean
        clean = _clean_id(offer_id)
        self.last_offer, self.last_clean = offer_id, clean
        return clean

    def id(self, value: Any) -> str | None:
        clean = self.ids.get(value) if value.__class__ is str else None
        if clean is None:
            clean = _clean_id(value)
            if clean is not None and len(self.ids) < MEMO_SIZE:
                self.ids[value] = clean
        return clean

    def text(self, value: Any) -> str | None:
        """``value`` as a COPY field (NULL for None); None when it needs escaping or is no str."""
        if value is None:
            return NULL
        found = self.texts.get(value) if value.__class__ is str else None
        if found is None:
            if value.__class__ is not str or SPECIAL.search(value):
                return None
            found = value
            if len(self.texts) < MEMO_SIZE:
                self.texts[value] = value
        return found

    def number(self, value: Any, name: str) -> str:
        """``rows.req_dec``'s text of a decimal (raises RowError as it does), memoised by value."""
        if value.__class__ is Decimal and value.is_finite():
            found = self.numbers.get(value)
            if found is None:
                found = rows.req_dec(value, name)
                if len(self.numbers) < MEMO_SIZE:
                    self.numbers[value] = found
            return found
        return rows.req_dec(value, name)

    def stock(self, rec: Any) -> None:
        offer_id, warehouse_id = self.offer(rec.offer_id), self.id(rec.warehouse_id)
        if offer_id is None or warehouse_id is None:
            self.stage.add(self.stage.extract(rec))
            return
        quantity = self.number(rec.quantity, "quantity")
        stage = self.stage
        stage.seq += 1
        pending = stage.pending
        pending.append(f"{stage.seq}\t{offer_id}\t{warehouse_id}\t{quantity}\n")
        if len(pending) >= COPY_BATCH:
            stage.flush()

    def price(self, rec: Any) -> None:
        offer_id, price_type_id = self.offer(rec.offer_id), self.id(rec.price_type_id)
        currency, unit, presentation = (
            self.text(rec.currency),
            self.text(rec.unit),
            self.text(rec.presentation),
        )
        if (
            offer_id is None
            or price_type_id is None
            or currency is None
            or unit is None
            or presentation is None
        ):
            self.stage.add(self.stage.extract(rec))
            return
        price = rows.req_dec(rec.price, "price")
        ratio = NULL if rec.ratio is None else self.number(rec.ratio, "ratio")
        stage = self.stage
        stage.seq += 1
        pending = stage.pending
        pending.append(
            f"{stage.seq}\t{offer_id}\t{price_type_id}\t{price}\t{currency}\t{unit}\t{ratio}\t{presentation}\n"
        )
        if len(pending) >= COPY_BATCH:
            stage.flush()


def _clean_id(value: Any) -> str | None:
    """A key as ``rows.key`` stages it, when it needs no escaping; None: let the generic path decide."""
    if value.__class__ is not str:
        return None
    text = value.strip()
    if not text or len(text) > _MAX_ID or SPECIAL.search(text):
        return None
    return text


#: hand-written COPY lines per entity (PostgreSQL); their column order is the table's (tested)
FAST_PUSH: dict[Entity, Callable[[_FastLines], Callable[[Any], None]]] = {
    Entity.RESTS: lambda lines: lines.stock,
    Entity.PRICES: lambda lines: lines.price,
}


def fast_push(stage: StagingTable) -> Callable[[Any], None] | None:
    """The hand-written COPY line maker of ``stage``'s entity (None: the generic path)."""
    make = FAST_PUSH.get(stage.spec.entity)
    return make(_FastLines(stage)) if make is not None else None
