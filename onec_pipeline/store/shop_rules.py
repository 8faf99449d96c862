"""The shop's rules applied by the store (``settings.ShopRules``; README, "The shop's rules"), set-based.

* **Sellable quantity.** ``offers.quantity`` is what the shop can sell: 1C's active total when it sends one
  (``stock_totals``), else the sum over the offer's active per-warehouse rows (``rests``; only the warehouses
  of ``stock_warehouses`` when it names some, by Ид or name); negative stock counts as 0 (``rests`` and
  ``stock_totals`` keep 1C's values); 0 once a newer full stock export dropped what there was; NULL when 1C
  never sent stock for the offer. Recomputed for the offers a load touches (offers, rests, totals, their
  full-export deactivation), so the order offers and stock arrive in does not matter.
* **Brand.** ``goods.brand`` / ``goods.brand_id``: the Изготовитель's name and Ид when it has a name, else the
  first value of the first property named in ``brand_properties`` (names from the ``properties`` table,
  compared case-insensitively; a Справочник value resolved through the property's values, ``brand_id`` its
  ИдЗначения). Recomputed for goods whose content changed, and for every product when properties change.
* **Root admission.** ``goods.admitted``: the product belongs (any of its groups) to the subtree of one of
  ``catalog_roots`` (1C Ид, or a name path from a top-level group, ``/``-separated, names compared
  case-insensitively); else ``admission_reason`` says why not. ``offers.admitted`` follows its product
  (an offer of an unknown product is not admitted while roots are configured). Independent of
  ``is_active`` (deletion marks, full exports): the storefront shows a product when both are true.
  Re-evaluated over the whole catalog by every load that writes groups, goods or offers, and by
  :meth:`RuleApplier.everything` (``CatalogStore.reevaluate_rules``, the ``shop_rules`` asset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Entity
from onec_pipeline.settings import ShopRules
from onec_pipeline.store.apply import InsertExtras
from onec_pipeline.store.connection import LoadConnection

OUTSIDE_ROOTS = "outside ONEC_CATALOG_ROOTS"
NO_GROUP = "no group"
UNKNOWN_PRODUCT = "product not in the catalog"

#: entities whose writes re-evaluate root admission
ADMISSION_ENTITIES = frozenset({Entity.GROUPS, Entity.GOODS, Entity.OFFERS})


#: a statement and its bind parameters (ids and names from uploads or settings are always bound, never
#: spliced into the SQL)
Statement = tuple[str, dict[str, object]]


def _binds(prefix: str, values: Iterable[str]) -> tuple[str, dict[str, object]]:
    """``:prefix0, :prefix1, …`` and their values (``NULL`` when there are none)."""
    params: dict[str, object] = {f"{prefix}{n}": value for n, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params) or "NULL", params


def literal(value: str) -> str:
    """A SQL string literal of one of this module's constants (reasons)."""
    return "'" + value.replace("'", "''") + "'"


def _distinct(pg: bool) -> str:
    return "IS DISTINCT FROM" if pg else "IS NOT"


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


# --- sellable quantity -----------------------------------------------------------------------------------


def _per_warehouse(
    q: Callable[[str], str], warehouses: tuple[str, ...], *, pg: bool, active: str = "r.is_active AND "
) -> Statement:
    """SQL summing a group of warehouse rows (alias ``r``): their positive counted quantities."""
    counted, params = "", dict[str, object]()
    if warehouses:
        names, params = _binds("warehouse", warehouses)
        counted = f" AND r.warehouse_id IN (SELECT id FROM {q('warehouses')} WHERE id IN ({names}) OR name IN ({names}))"
    per_warehouse = f"sum(CASE WHEN {active}r.quantity > 0{counted} THEN r.quantity ELSE 0 END)"
    if not pg:  # SQLite sums NUMERIC as floating point: back to at most 12 fractional digits
        per_warehouse = f"round({per_warehouse}, 12)"
    return per_warehouse, params


def quantity_statement(
    offer_ids: str | None, q: Callable[[str], str], warehouses: tuple[str, ...], *, pg: bool
) -> Statement:
    """Recompute ``offers.quantity`` for the offers of ``offer_ids`` (a query of one column named ``id``,
    duplicates allowed; None: every offer).

    Set-based: the ids in scope (``sc``), the warehouse rows of those offers summed in one grouped pass
    (an offer with any warehouse row, active or not, gets the sum of its positive active counted rows), the
    offers joined once, as the UPDATE's target; no correlated subquery per offer. ``offer_ids`` is inlined
    twice rather than taken once in a CTE: the planner sees the statistics of the table it reads (a CTE's
    rows are an unknown 200 distinct ids to it, so every first stock load probed the rests index once per
    offer: 200K offers 4.3–4.8 s that way, 2.9–3.7 s with hash joins; a small delta still probes).
    """
    per_warehouse, params = _per_warehouse(q, warehouses, pg=pg)
    quantity = """CASE
              WHEN s.is_active THEN CASE WHEN s.quantity > 0 THEN s.quantity ELSE 0 END
              WHEN w.offer_id IS NOT NULL THEN coalesce(w.quantity, 0)
              WHEN s.offer_id IS NOT NULL THEN 0
              ELSE NULL END"""
    if offer_ids is None:
        scope, in_scope = f"SELECT id FROM {q('offers')}", ""
    else:
        scope = f"SELECT DISTINCT sc_ids.id FROM ({offer_ids}) sc_ids"
        in_scope = f" WHERE r.offer_id IN ({offer_ids})"
    sql = f"""UPDATE {q("offers")} AS t SET quantity = n.quantity
            FROM (SELECT sc.id, {quantity} AS quantity
                  FROM ({scope}) sc LEFT JOIN {q("stock_totals")} s ON s.offer_id = sc.id
                  LEFT JOIN (SELECT r.offer_id, {per_warehouse} AS quantity FROM {q("rests")} r{in_scope}
                             GROUP BY r.offer_id) w ON w.offer_id = sc.id) n
            WHERE n.id = t.id AND t.quantity {_distinct(pg)} n.quantity"""
    return sql, params


def first_stock_quantity_statement(
    rests: str, q: Callable[[str], str], warehouses: tuple[str, ...], *, pg: bool
) -> Statement:
    """:func:`quantity_statement` for the offers of ``rests`` when ``rests`` holds every row of the
    ``rests`` table, all active: the de-duplicated rows of a first stock load into an empty table
    (``offer_id``, ``warehouse_id``, ``quantity``). The same quantities, summed from those rows in one
    grouped pass that is also the scope (every offer in scope has warehouse rows), instead of reading back
    the rows the load just wrote and grouping the scope apart (200K offers, 1M rows: 2.6 → 1.8 s)."""
    per_warehouse, params = _per_warehouse(q, warehouses, pg=pg, active="")
    sql = f"""UPDATE {q("offers")} AS t SET quantity = n.quantity
            FROM (SELECT w.id, CASE
                    WHEN s.is_active THEN CASE WHEN s.quantity > 0 THEN s.quantity ELSE 0 END
                    ELSE coalesce(w.quantity, 0) END AS quantity
                  FROM (SELECT r.offer_id AS id, {per_warehouse} AS quantity FROM {rests} r
                        GROUP BY r.offer_id) w
                  LEFT JOIN {q("stock_totals")} s ON s.offer_id = w.id) n
            WHERE n.id = t.id AND t.quantity {_distinct(pg)} n.quantity"""
    return sql, params


# --- brand ---------------------------------------------------------------------------------------------


def brand_property_ranks(
    db: LoadConnection | sa.Connection, q: Callable[[str], str], rules: ShopRules
) -> dict[str, int]:
    """Property Ид -> rank (1 first) of the properties whose names ``rules.brand_properties`` lists."""
    if not rules.brand_properties:
        return {}
    found = db.execute(sa.text(f"SELECT id, name FROM {q('properties')}"))
    ranks = {}
    for prop_id, name in found:
        rank = rules.brand_rank(name)
        if rank is not None:
            ranks[str(prop_id)] = rank
    return ranks


#: the Изготовитель's fields as the reader keeps them (a Контрагент shape), then the names tests and older
#: rows may use; the first non-empty one is the brand's name / Ид
MAKER_NAMES = ("Наименование", "ОфициальноеНаименование", "ПолноеНаименование", "name")
MAKER_IDS = ("Ид", "id")


def _maker(field: Callable[[str], str]) -> tuple[str, str]:
    """SQL of the Изготовитель's name and Ид (``field``: the SQL reading one key of ``g.manufacturer``)."""
    name = "coalesce(" + ", ".join(f"nullif(trim({field(k)}), '')" for k in MAKER_NAMES) + ")"
    ident = "coalesce(" + ", ".join(field(k) for k in MAKER_IDS) + ")"
    return name, ident


def brand_candidates(
    source: str, scope: str, q: Callable[[str], str], ranks: dict[str, int], *, pg: bool
) -> Statement:
    """A query of ``(goods_id, brand, brand_id)``, one row per product of ``source`` (the goods table or a
    staged copy of its rows, aliased ``g``; ``scope`` a WHERE clause over it) that has a brand: its
    Изготовитель, else the first ranked brand property among its values."""
    if pg:
        maker_name, maker_id = _maker(lambda key: f"g.manufacturer->>'{key}'")
        elements = "jsonb_array_elements(CASE WHEN jsonb_typeof(g.properties) = 'array' THEN g.properties ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, pos)"
        prop_id, value, value_id = "e.v->>'property_id'", "e.v->>'value'", "e.v->>'value_id'"
        lookup = 'p."values"->>coalesce({vid}, {val})'
    else:
        maker_name, maker_id = _maker(lambda key: f"json_extract(g.manufacturer, '$.\"{key}\"')")
        elements = (
            "json_each(CASE WHEN json_type(g.properties) = 'array' THEN g.properties ELSE '[]' END) AS e"
        )
        prop_id = "json_extract(e.value, '$.property_id')"
        value, value_id = "json_extract(e.value, '$.value')", "json_extract(e.value, '$.value_id')"
        lookup = '(SELECT j.value FROM json_each(p."values") j WHERE j.key = coalesce({vid}, {val}))'
    pos = "e.pos" if pg else "e.key"
    resolved = lookup.format(vid=value_id, val=value)
    candidates = [
        f"SELECT g.id AS goods_id, 0 AS rank, 0 AS pos, {maker_name} AS brand, "
        f"{maker_id} AS brand_id FROM {source} g {scope}"
    ]
    ordered = sorted(ranks.items())
    names, params = _binds("property", (prop for prop, _ in ordered))
    if ranks:
        ranked = " UNION ALL ".join(
            f"SELECT {name} AS id, {rank} AS rank"
            for name, (_, rank) in zip(names.split(", "), ordered, strict=True)
        )
        candidates.append(
            f"""SELECT g.id, rk.rank, {pos}, nullif(trim(coalesce({resolved}, {value})), ''),
                       CASE WHEN {resolved} IS NOT NULL THEN coalesce({value_id}, {value}) ELSE {value_id} END
                FROM {source} g CROSS JOIN {elements}
                JOIN ({ranked}) rk ON rk.id = {prop_id}
                LEFT JOIN {q("properties")} p ON p.id = rk.id
                {scope}"""
        )
    union = " UNION ALL ".join(candidates)
    sql = f"""SELECT goods_id, brand, brand_id
              FROM (SELECT goods_id, brand, brand_id,
                           row_number() OVER (PARTITION BY goods_id ORDER BY rank, pos) AS rn
                    FROM ({union}) c WHERE brand IS NOT NULL) ranked
              WHERE rn = 1"""
    return sql, params


def brand_statement(
    goods_ids: str | None, q: Callable[[str], str], ranks: dict[str, int], *, pg: bool
) -> Statement:
    """Recompute ``goods.brand`` / ``brand_id`` for the goods of ``goods_ids`` (a query; None: every one)."""
    scope = f"WHERE g.id IN ({goods_ids})" if goods_ids is not None else ""
    brands, params = brand_candidates(q("goods"), scope, q, ranks, pg=pg)
    sql = f"""UPDATE {q("goods")} AS t SET brand = n.brand, brand_id = n.brand_id
            FROM (SELECT g.id, b.brand, b.brand_id FROM {q("goods")} g
                  LEFT JOIN ({brands}) b ON b.goods_id = g.id
                  {scope}) n
            WHERE n.id = t.id AND (t.brand {_distinct(pg)} n.brand OR t.brand_id {_distinct(pg)} n.brand_id)"""
    return sql, params


# --- root admission ------------------------------------------------------------------------------------


@dataclass
class Roots:
    """The configured catalog roots resolved against the stored groups."""

    configured: tuple[str, ...]
    group_ids: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def resolve_roots(db: LoadConnection | sa.Connection, q: Callable[[str], str], roots: Iterable[str]) -> Roots:
    """Each root: a group Ид, else a ``/``-separated name path from a top-level group (every match)."""
    out = Roots(tuple(roots))
    if not out.configured:
        return out
    groups = [tuple(r) for r in db.execute(sa.text(f"SELECT id, parent_id, name FROM {q('groups')}"))]
    ids = {g[0] for g in groups}
    children: dict[str | None, list[tuple[str, str]]] = {}
    for gid, parent, name in groups:
        top = parent is None or parent not in ids
        children.setdefault(None if top else parent, []).append((gid, _fold(name)))
    for root in out.configured:
        if root in ids:
            out.group_ids.append(root)
            continue
        level: list[str | None] = [None]
        for part in (_fold(p) for p in root.split("/") if p.strip()):
            level = [gid for parent in level for gid, name in children.get(parent, []) if name == part]
        matched = [g for g in level if g is not None]
        if matched:
            out.group_ids.extend(matched)
        else:
            out.not_found.append(root)
    return out


def admission_statements(roots: Roots | None, q: Callable[[str], str], *, pg: bool) -> list[Statement]:
    """Re-evaluate ``admitted`` / ``admission_reason`` of every product, then of every offer."""
    d = _distinct(pg)
    goods, offers = q("goods"), q("offers")
    if roots is None or not roots.configured:
        everything = (
            "SET admitted = true, admission_reason = NULL WHERE NOT admitted OR admission_reason IS NOT NULL"
        )
        return [(f"UPDATE {goods} {everything}", {}), (f"UPDATE {offers} {everything}", {})]
    ids, params = _binds("root", dict.fromkeys(roots.group_ids))
    if pg:
        member = "SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.group_ids) = 'array' THEN g.group_ids ELSE '[]'::jsonb END) x(v) WHERE x.v IN (SELECT id FROM sub)"
        grouped = (
            "coalesce(jsonb_typeof(g.group_ids) = 'array' AND jsonb_array_length(g.group_ids) > 0, false)"
        )
    else:
        member = "SELECT 1 FROM json_each(CASE WHEN json_type(g.group_ids) = 'array' THEN g.group_ids ELSE '[]' END) x WHERE x.value IN (SELECT id FROM sub)"
        grouped = "coalesce(json_type(g.group_ids) = 'array' AND json_array_length(g.group_ids) > 0, false)"
    reason = (
        f"CASE WHEN n.ok THEN NULL WHEN n.grouped THEN {literal(OUTSIDE_ROOTS)} ELSE {literal(NO_GROUP)} END"
    )
    goods_sql = f"""WITH RECURSIVE sub(id) AS (
                SELECT id FROM {q("groups")} WHERE id IN ({ids})
                UNION SELECT c.id FROM {q("groups")} c JOIN sub ON c.parent_id = sub.id)
            UPDATE {goods} AS t SET admitted = n.ok, admission_reason = {reason}
            FROM (SELECT g.id, EXISTS ({member}) AS ok, {grouped} AS grouped FROM {goods} g) n
            WHERE n.id = t.id AND (t.admitted {d} n.ok OR t.admission_reason {d} {reason})"""
    offers_sql = f"""UPDATE {offers} AS t SET admitted = n.ok, admission_reason = n.reason
            FROM (SELECT o.id, coalesce(g.admitted, false) AS ok,
                         CASE WHEN g.id IS NULL THEN {literal(UNKNOWN_PRODUCT)} ELSE g.admission_reason END AS reason
                  FROM {offers} o LEFT JOIN {goods} g ON g.id = o.product_id) n
            WHERE n.id = t.id AND (t.admitted {d} n.ok OR t.admission_reason {d} n.reason)"""
    return [(goods_sql, params), (offers_sql, {})]


# --- what a transaction and the re-evaluation job run ----------------------------------------------------


@dataclass
class RulesReport:
    """What the rules did in one transaction or re-evaluation (asset metadata)."""

    rules: ShopRules
    roots: Roots | None = None
    quantities: int = 0  # offers whose quantity changed
    brands: int = 0  # goods whose brand changed
    admission_changed: int = 0  # goods and offers whose admission changed
    #: after root admission: "goods admitted" / "goods not admitted: <reason>" / the same of offers -> rows
    admission: dict[str, int] = field(default_factory=dict)

    @property
    def goods_not_admitted(self) -> int:
        return sum(n for label, n in self.admission.items() if label.startswith("goods not admitted"))

    def as_metadata(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.rules.describe())
        out["quantities_changed"] = self.quantities
        out["brands_changed"] = self.brands
        if self.roots is not None:
            out["admission_changed"] = self.admission_changed
            out["roots_not_found"] = list(self.roots.not_found)
            out["admission"] = dict(self.admission)
        return out


class RuleApplier:
    """The rules inside one loading transaction: called after each entity is applied and at its end."""

    def __init__(self, db: LoadConnection, q: Callable[[str], str], rules: ShopRules, upload: str) -> None:
        self.db = db
        self.q = q
        self.rules = rules
        self.upload = upload
        self.report = RulesReport(rules)
        self._admission_due = False

    def _run(self, statement: Statement, **params: object) -> int:
        sql, bound = statement
        return int(self.db.execute_sql(sql, **bound, **params).rowcount or 0)

    def insert_extras(self, entity: Entity, dedup: str) -> tuple[InsertExtras | None, dict[str, object]]:
        """What new rows of ``entity`` (de-duplicated in ``dedup``) get from the rules in their INSERT, and
        its bind parameters: new goods their brand, so that :meth:`after_apply` finds nothing to rewrite
        (a first load writes each product once, not twice)."""
        if entity is not Entity.GOODS:
            return None, {}
        ranks = brand_property_ranks(self.db, self.q, self.rules)
        brands, params = brand_candidates(dedup, "", self.q, ranks, pg=self.db.pg)
        join = f"LEFT JOIN ({brands}) rule_brand ON rule_brand.goods_id = d.id"
        return InsertExtras(("brand", "brand_id"), ("rule_brand.brand", "rule_brand.brand_id"), join), params

    def after_apply(
        self, entity: Entity, dedup: str, changed: bool, *, all_new: bool = False, only_rows: bool = False
    ) -> None:
        """``entity``'s staged rows (``dedup``) were applied; ``changed``: some were inserted or updated;
        ``all_new``: every one was inserted (a first load); ``only_rows``: the table was empty before, so
        these rows, all active, are every row it holds now."""
        pg, q = self.db.pg, self.q
        if entity is Entity.OFFERS and all_new and not self._any_stock():
            pass  # new offers without any stock row anywhere: their quantity is NULL as inserted
        elif entity in (Entity.OFFERS, Entity.STOCK_TOTALS, Entity.RESTS):
            warehouses = self.rules.stock_warehouses
            if entity is Entity.RESTS and only_rows:
                statement = first_stock_quantity_statement(dedup, q, warehouses, pg=pg)
            else:
                ids = f"SELECT {'id' if entity is Entity.OFFERS else 'offer_id AS id'} FROM {dedup}"
                statement = quantity_statement(ids, q, warehouses, pg=pg)
            self.report.quantities += self._run(statement)
        # new goods got their brand in their INSERT (``insert_extras``): only a load that updated some needs it
        if (entity is Entity.GOODS and changed and not all_new) or (entity is Entity.PROPERTIES and changed):
            scope = f"SELECT id FROM {dedup}" if entity is Entity.GOODS else None
            ranks = brand_property_ranks(self.db, q, self.rules)
            self.report.brands += self._run(brand_statement(scope, q, ranks, pg=pg))
        if entity in ADMISSION_ENTITIES:
            self._admission_due = True

    def _any_stock(self) -> bool:
        """Whether any warehouse row or total is stored (two index probes)."""
        q = self.q
        found = self.db.execute_sql(
            f"SELECT EXISTS (SELECT 1 FROM {q('rests')}) OR EXISTS (SELECT 1 FROM {q('stock_totals')})"
        ).scalar()
        return bool(found)

    def after_full_exports(self, deactivated: dict[Entity, int]) -> None:
        """Stock a full export deactivated no longer counts (offers whose rows it just deactivated)."""
        for entity in (Entity.RESTS, Entity.STOCK_TOTALS):
            if deactivated.get(entity):
                ids = f"""SELECT offer_id AS id FROM {self.q(entity.value)}
                          WHERE upload_key = :upload AND data_key < :upload"""
                sql = quantity_statement(ids, self.q, self.rules.stock_warehouses, pg=self.db.pg)
                self.report.quantities += self._run(sql, upload=self.upload)
        if any(deactivated.get(e) for e in ADMISSION_ENTITIES):
            self._admission_due = True

    def finish(self) -> None:
        if self._admission_due:
            self.admit()

    def admit(self) -> None:
        roots = resolve_roots(self.db, self.q, self.rules.catalog_roots)
        self.report.roots = roots
        for statement in admission_statements(roots, self.q, pg=self.db.pg):
            self.report.admission_changed += self._run(statement)
        self.report.admission = admission_counts(self.db.wait(), self.q)

    def everything(self) -> RulesReport:
        """Re-evaluate every rule over the whole catalog (the operator's job, a changed setting)."""
        pg, q = self.db.pg, self.q
        self.report.quantities += self._run(quantity_statement(None, q, self.rules.stock_warehouses, pg=pg))
        ranks = brand_property_ranks(self.db, q, self.rules)
        self.report.brands += self._run(brand_statement(None, q, ranks, pg=pg))
        self.admit()
        return self.report


def admission_counts(conn: sa.Connection, q: Callable[[str], str]) -> dict[str, int]:
    """Goods and offers not admitted, per reason (``goods: outside …`` -> n), and those admitted."""
    out: dict[str, int] = {}
    for table in ("goods", "offers"):
        found = conn.execute(
            sa.text(
                f"SELECT admitted, admission_reason, count(*) FROM {q(table)} GROUP BY admitted, admission_reason"
            )
        )
        for admitted, reason, n in found:
            label = f"{table} admitted" if admitted else f"{table} not admitted: {reason}"
            out[label] = out.get(label, 0) + int(n)
    return out
