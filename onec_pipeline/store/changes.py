"""What one upload changes in the catalog: prices up / down with the largest changes, offers that went out
of stock or came back, goods and offers added or deactivated — captured inside the loading transaction, so
a dry run reports what an upload *would* change.

A :class:`ChangeCapture` is attached to a transaction (``capture = ChangeCapture.attach(tx)``); the
transaction calls :meth:`ChangeCapture.before_upsert` for every staged entity right after classifying it
and before writing it (the old values are still in the table, the incoming ones in the de-duplicated
staging table), then the caller calls :meth:`ChangeCapture.finish` once the loads and the transaction's own
``finish`` (full-export deactivation) are done, still inside the transaction, and gets a
:class:`ChangeReport`.

Cost: nothing for an entity whose staged rows are all new (a first load) or all unchanged (a replay); else
one join of the staged rows with the table per entity (prices, deletion marks), and for stock a snapshot of
the touched offers' stock. Samples are capped at ``SAMPLE`` rows.

An offer's stock is its total (``offers.quantity``) or else the sum over warehouses, as in the catalog
summary; "went out of stock": > 0 before, ≤ 0 after; "came back": ≤ 0 before, > 0 after (offers without
stock data before or after are neither).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.store.apply import NEWER, Classified
from onec_pipeline.store.rows import EntitySpec
from onec_pipeline.store.staging import temp_table_name
from onec_pipeline.store.transaction import Transaction

SAMPLE = 5
STOCK_ENTITIES = (Entity.RESTS, Entity.STOCK_TOTALS)
LISTED_ENTITIES = (Entity.GOODS, Entity.OFFERS)


@dataclass
class ChangeReport:
    """What an upload changed. Prices: ``(offer_id, offer, price_type, old, new)``; names: ``(id, name)``."""

    prices_up: int = 0
    prices_down: int = 0
    largest_increases: list[tuple[str, str | None, str | None, Decimal, Decimal]] = field(
        default_factory=list
    )
    largest_decreases: list[tuple[str, str | None, str | None, Decimal, Decimal]] = field(
        default_factory=list
    )
    went_out_of_stock: int = 0
    back_in_stock: int = 0
    out_of_stock_sample: list[tuple[str, str | None]] = field(default_factory=list)
    back_in_stock_sample: list[tuple[str, str | None]] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=dict)  # entity -> rows new in the table
    added_sample: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)  # entity -> active rows marked deleted by 1C
    deleted_sample: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)  # entity -> rows a full export left out
    deactivated_sample: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    stock_tracked: bool = False  # the stock of existing offers was followed (not a first load)

    def is_empty(self) -> bool:
        return not any(
            (
                self.prices_up,
                self.prices_down,
                self.went_out_of_stock,
                self.back_in_stock,
                *self.added.values(),
                *self.deleted.values(),
                *self.deactivated.values(),
            )
        )


class ChangeCapture:
    """Follows one transaction's entities (see the module docstring)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.report = ChangeReport()
        self.stock_snapshot: str | None = None

    @classmethod
    def attach(cls, tx: Transaction) -> ChangeCapture:
        capture = cls(tx)
        tx.changes = capture
        return capture

    # --- inside the transaction's apply step ---------------------------------------------------------

    def _rows(self, sql: str) -> list[Any]:
        tx = self.tx
        return list(tx.db.execute_sql(sql, upload=tx.key, now=tx.db.bind_time(tx.now)).tuples())

    def _table(self, name: str) -> str:
        return self.tx.store.qualified(name)

    def before_upsert(self, spec: EntitySpec, dedup: str, target: str, found: Classified) -> None:
        """Called by the transaction after classifying ``dedup`` against ``target``, before writing it."""
        if found.inserted == 0 and found.updated == 0:
            return  # a replay or identical content: nothing changes
        if spec.entity is Entity.PRICES and found.updated:
            self._prices(dedup, target)
        elif spec.entity in STOCK_ENTITIES and found.inserted < found.distinct:
            self._snapshot_stock(dedup)
        elif spec.entity in LISTED_ENTITIES:
            self._listed(spec, dedup, target, found)

    def _prices(self, dedup: str, target: str) -> None:
        joined = (
            f"FROM {dedup} d JOIN {target} t ON t.offer_id = d.offer_id AND t.price_type_id = d.price_type_id "
            f"WHERE {NEWER} AND d.price <> t.price"
        )
        [(up, down)] = self._rows(
            "SELECT coalesce(sum(CASE WHEN d.price > t.price THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN d.price < t.price THEN 1 ELSE 0 END), 0) {joined}"
        )
        report = self.report
        report.prices_up += int(up)
        report.prices_down += int(down)
        relative = "(d.price - t.price) / (CASE WHEN t.price = 0 THEN 1 ELSE abs(t.price) END)"
        names = (
            f"LEFT JOIN {self._table('offers')} o ON o.id = d.offer_id "
            f"LEFT JOIN {self._table('price_types')} pt ON pt.id = d.price_type_id"
        )
        select = f"SELECT d.offer_id, o.name, pt.name, t.price, d.price FROM {dedup} d JOIN {target} t "
        select += f"ON t.offer_id = d.offer_id AND t.price_type_id = d.price_type_id {names} "
        select += f"WHERE {NEWER} AND "
        if up:
            rows = self._rows(
                f"{select} d.price > t.price ORDER BY {relative} DESC, d.offer_id LIMIT {SAMPLE}"
            )
            report.largest_increases = _top(report.largest_increases + rows, reverse=True)
        if down:
            rows = self._rows(
                f"{select} d.price < t.price ORDER BY {relative} ASC, d.offer_id LIMIT {SAMPLE}"
            )
            report.largest_decreases = _top(report.largest_decreases + rows, reverse=False)

    def _stock_expression(self, offer: str) -> str:
        rests = self.tx.store.tables["rests"]
        active = " AND r.is_active" if "is_active" in rests.c else ""
        per_warehouse = (
            f"(SELECT sum(r.quantity) FROM {self._table('rests')} r WHERE r.offer_id = {offer}{active})"
        )
        return f"coalesce(o.quantity, {per_warehouse})"

    def _snapshot_stock(self, dedup: str) -> None:
        """The stock of the offers this entity touches, before it is written (each offer once)."""
        pg = self.tx.pg
        if self.stock_snapshot is None:
            self.stock_snapshot = temp_table_name("stock_before", "offers")
            self.tx.db.execute_sql(
                f"CREATE TEMP TABLE {self.stock_snapshot} (offer_id text PRIMARY KEY, before numeric)"
                + (" ON COMMIT DROP" if pg else "")
            )
        self.report.stock_tracked = True
        self.tx.db.execute_sql(
            f"""INSERT INTO {self.stock_snapshot} (offer_id, before)
                SELECT o.id, {self._stock_expression("o.id")} FROM {self._table("offers")} o
                WHERE o.id IN (SELECT offer_id FROM {dedup})
                ON CONFLICT (offer_id) DO NOTHING"""
        )

    def _listed(self, spec: EntitySpec, dedup: str, target: str, found: Classified) -> None:
        entity, report = str(spec.entity), self.report
        if found.inserted:
            report.added[entity] = report.added.get(entity, 0) + found.inserted
            if found.inserted == found.distinct:  # every staged row is new
                new = f"SELECT d.id, d.name FROM {dedup} d ORDER BY d.id LIMIT {SAMPLE}"
            else:
                new = (
                    f"SELECT d.id, d.name FROM {dedup} d WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {target} t WHERE t.id = d.id) ORDER BY d.id LIMIT {SAMPLE}"
                )
            report.added_sample[entity] = _cap(report.added_sample.get(entity, []) + self._rows(new))
        if found.updated and spec.has_active:
            marked = (
                f"FROM {dedup} d JOIN {target} t ON t.id = d.id WHERE {NEWER} AND d.deleted AND t.is_active"
            )
            [(count,)] = self._rows(f"SELECT count(*) {marked}")
            if count:
                report.deleted[entity] = report.deleted.get(entity, 0) + int(count)
                sample = self._rows(f"SELECT d.id, d.name {marked} ORDER BY d.id LIMIT {SAMPLE}")
                report.deleted_sample[entity] = _cap(report.deleted_sample.get(entity, []) + sample)

    # --- after the loads, still inside the transaction -----------------------------------------------

    def finish(self) -> ChangeReport:
        """Complete the report: stock after the load, rows full exports deactivated. Call it after the
        transaction's ``finish()`` (deactivation) and before the block ends."""
        tx, report = self.tx, self.report
        for entity in LISTED_ENTITIES:
            result = tx.results.get(entity)
            if result is None or not result.deactivated:
                continue
            report.deactivated[str(entity)] = result.deactivated
            report.deactivated_sample[str(entity)] = self._rows(
                f"SELECT id, name FROM {self._table(str(entity))} WHERE upload_key = :upload "
                f"AND data_key <> :upload AND NOT is_active AND updated_at = :now ORDER BY id LIMIT {SAMPLE}"
            )
        if self.stock_snapshot is not None:
            self._stock_after(self.stock_snapshot)
            if not tx.pg:
                tx.db.execute_sql(f"DROP TABLE IF EXISTS {self.stock_snapshot}")
            self.stock_snapshot = None
        return report

    def _stock_after(self, snapshot: str) -> None:
        states = (
            f"SELECT s.offer_id, o.name, s.before, {self._stock_expression('s.offer_id')} AS after "
            f"FROM {snapshot} s JOIN {self._table('offers')} o ON o.id = s.offer_id"
        )
        went_out = "x.before > 0 AND x.after <= 0"
        came_back = "x.before <= 0 AND x.after > 0"
        [(out, back)] = self._rows(
            f"SELECT coalesce(sum(CASE WHEN {went_out} THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN {came_back} THEN 1 ELSE 0 END), 0) FROM ({states}) x"
        )
        report = self.report
        report.went_out_of_stock, report.back_in_stock = int(out), int(back)
        if out:
            sql = f"SELECT x.offer_id, x.name FROM ({states}) x WHERE {went_out} ORDER BY x.offer_id LIMIT {SAMPLE}"
            report.out_of_stock_sample = self._rows(sql)
        if back:
            sql = f"SELECT x.offer_id, x.name FROM ({states}) x WHERE {came_back} ORDER BY x.offer_id LIMIT {SAMPLE}"
            report.back_in_stock_sample = self._rows(sql)


def _relative(row: tuple[Any, ...]) -> float:
    old, new = Decimal(str(row[3])), Decimal(str(row[4]))
    return float((new - old) / (abs(old) if old else 1))


def _top(rows: list[Any], *, reverse: bool) -> list[Any]:
    """The ``SAMPLE`` largest relative changes (several ``load`` calls each add their own)."""
    ordered = sorted((tuple(r) for r in rows), key=_relative, reverse=reverse)
    return ordered[:SAMPLE]


def _cap(rows: list[Any]) -> list[Any]:
    return [tuple(r) for r in rows][:SAMPLE]
