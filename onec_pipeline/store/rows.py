"""Record → row conversion for the catalog tables.

Each :class:`EntitySpec` names a table, its key and data columns and an ``extract`` function turning a
record into a tuple of wire values (``str``/``bool``/``None``; decimals as canonical text, JSON as
canonical text). A value that cannot be stored raises :class:`RowError`; the loader turns it into a reject.
Validating here (not in the database) keeps PostgreSQL and SQLite identical and lets one bad row become a
reject instead of failing a whole COPY.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from onec_pipeline.commerceml.records import (
    Entity,
    Group,
    Offer,
    Picture,
    Price,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Stock,
    StockTotal,
    Unit,
    Warehouse,
)
from onec_pipeline.store.errors import RowError
from onec_pipeline.store.tables import CATALOG_TABLES, metadata, table_in
from onec_pipeline.store.tables.columns import ExactDecimal, decimal_text

MAX_ID_LENGTH = 1000
#: |value| must stay below 10**MAX_DECIMAL_EXPONENT; at most MAX_DECIMAL_SCALE fractional digits.
MAX_DECIMAL_EXPONENT = 18
MAX_DECIMAL_SCALE = 12

#: what ``extract`` returns for a record: wire values (str | bool | None), in ``staged_columns`` order
Extractor = Callable[[Any], tuple]


@dataclass(frozen=True)
class EntitySpec:
    """How records of one entity become rows of its table; built from the table by :func:`spec_for`."""

    entity: Entity
    table: str
    #: the primary key columns (staged first)
    keys: tuple[str, ...]
    #: (name, kind) of every staged value, in ``extract`` order: the keys, then the table's other columns
    #: a record supplies, in table order. kind: "text" | "bool" | "dec" | "json"
    staged_columns: tuple[tuple[str, str], ...]
    #: the table has ``is_active`` (``NOT deleted AND upload_key = data_key``)
    has_active: bool
    #: the entity has deletion marks (``deleted`` is staged)
    has_deleted: bool
    #: a full export of this entity deactivates rows it does not contain
    deactivatable: bool
    extract: Extractor
    #: content columns the apply step derives while de-duplicating (``Column.info["derived"]``)
    derived_columns: tuple[str, ...] = ()

    @property
    def content_columns(self) -> tuple[str, ...]:
        """Staged columns after the keys, then the derived ones: what a newer upload may change."""
        return tuple(name for name, _ in self.staged_columns[len(self.keys) :]) + self.derived_columns

    @property
    def incoming_active(self) -> str:
        """SQL: whether a staged row (alias ``d``) is active by its own content (its deletion mark)."""
        return "NOT d.deleted" if self.has_deleted else "true"


def column_kind(column: sa.Column) -> str:
    """How a column's values are formatted for staging: "text" | "bool" | "dec" | "json"."""
    column_type = column.type
    if isinstance(column_type, ExactDecimal):
        return "dec"
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.JSON):
        return "json"
    if isinstance(column_type, sa.String):
        return "text"
    raise TypeError(f"{column.table.name}.{column.name}: no staging kind for {column_type!r}")


def spec_for(table: sa.Table, *, extract: Extractor) -> EntitySpec:
    """The row spec of a catalog table: keys, staged columns and flags read from the table itself."""
    keys = tuple(c.name for c in table.primary_key.columns)
    staged = [
        (c.name, column_kind(c)) for c in table.columns if not c.primary_key and c.info.get("staged", True)
    ]
    return EntitySpec(
        entity=table.info["entity"],
        table=table.name,
        keys=keys,
        staged_columns=tuple((k, column_kind(table.c[k])) for k in keys) + tuple(staged),
        has_active="is_active" in table.c,
        has_deleted="deleted" in table.c,
        deactivatable=table.info["deactivated_by_full_export"],
        extract=extract,
        derived_columns=tuple(c.name for c in table.columns if c.info.get("derived")),
    )


# --- value converters -------------------------------------------------------------------------------


def key(value, name: str) -> str:
    if value is None:
        raise RowError(f"missing {name}")
    text = value if type(value) is str else str(value)
    text = text.strip()
    if not text:
        raise RowError(f"missing {name}")
    if "\x00" in text:
        raise RowError(f"{name} contains a NUL character")
    if len(text) > MAX_ID_LENGTH:
        raise RowError(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return text


def opt_key(value, name: str) -> str | None:
    if value is None or (type(value) is str and not value.strip()):
        return None
    return key(value, name)


def text(value, name: str) -> str | None:
    if value is None:
        return None
    out = value if type(value) is str else str(value)
    if "\x00" in out:
        raise RowError(f"{name} contains a NUL character")
    return out


def dec(value, name: str) -> str | None:
    if value.__class__ is Decimal:
        # fast path: plain notation, |value| < 1e17, canonical text by stripping fractional zeros
        out = str(value)
        if len(out) < 18 and out[-1].isdigit() and "E" not in out:
            if "." in out:
                if out[-1] == "0":
                    out = out.rstrip("0")
                    if out[-1] == ".":
                        out = out[:-1]
                if "." in out and len(out) - out.index(".") - 1 > MAX_DECIMAL_SCALE:
                    return _dec(value, name)
            return "0" if out == "-0" else out
    return _dec(value, name)


def _dec(value, name: str) -> str | None:
    if value is None:
        return None
    if type(value) is not Decimal:
        try:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float):
                value = Decimal(repr(value))
            elif isinstance(value, int):
                value = Decimal(value)
            elif isinstance(value, str):
                value = Decimal(value.strip())
            else:
                raise TypeError
        except (TypeError, InvalidOperation):
            raise RowError(f"{name} is not a number: {value!r}") from None
    if not value.is_finite():
        raise RowError(f"{name} is not a finite number: {value}")
    if value != 0:
        if value.adjusted() >= MAX_DECIMAL_EXPONENT:
            raise RowError(f"{name} out of range: {value} (|value| >= 1e{MAX_DECIMAL_EXPONENT})")
        if value.normalize().as_tuple().exponent < -MAX_DECIMAL_SCALE:
            raise RowError(f"{name} has more than {MAX_DECIMAL_SCALE} fractional digits: {value}")
    return decimal_text(value)


def req_dec(value, name: str) -> str:
    out = dec(value, name)
    if out is None:
        raise RowError(f"missing {name}")
    return out


def _json_default(obj):
    if isinstance(obj, PropertyValue):
        return {
            "property_id": obj.property_id,
            "value": obj.value,
            "value_id": obj.value_id,
            "property_name": obj.property_name,
        }
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default)
# The same encoding without JSONEncoder.encode's per-call set-up (it builds a new C encoder and closures on
# every call: about half the cost of encoding a short list). No circular-reference markers: records are trees.
_MAKE_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)  # CPython's C accelerator (not typed)
_C_ENCODE = (
    _MAKE_C_ENCODER(None, _json_default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if _MAKE_C_ENCODER is not None
    else None
)
_EMPTY_JSON = {list: "[]", dict: "{}", tuple: "[]"}


def js(value, name: str) -> str | None:
    if value is None:
        return None
    if not value and value.__class__ in _EMPTY_JSON:
        return _EMPTY_JSON[value.__class__]
    try:
        out = "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise RowError(f"{name} cannot be stored as JSON: {exc}") from None
    if "\\u0000" in out:
        raise RowError(f"{name} contains a NUL character")
    return out


# JSON of the items that repeat across records (a property's value, a characteristic's name and value),
# encoded once per process and joined per record: encoding a PropertyValue goes through _json_default and
# a dict each time (1M offers: 2.7 µs a record for two values, 0.4 µs joined from fragments). Bounded.
_FRAGMENTS: dict[tuple, str] = {}
_FRAGMENTS_MAX = 1 << 16


def _encoded_fragment(item_key: tuple, item) -> str:
    out = "".join(_C_ENCODE(item, 0)) if _C_ENCODE is not None else _ENCODER.encode(item)
    # only keys of texts are kept: a hit is then exact (1 == True, but no number equals a text or None)
    if len(_FRAGMENTS) < _FRAGMENTS_MAX and all(m is None or m.__class__ is str for m in item_key):
        _FRAGMENTS[item_key] = out
    return out


def _joined(parts: list[str], name: str) -> str:
    out = "[" + ",".join(parts) + "]"
    if "\\u0000" in out:
        raise RowError(f"{name} contains a NUL character")
    return out


def js_property_values(values, name: str) -> str:
    """``js(list(values))`` of PropertyValue records (the same text), joined from per-value fragments."""
    parts = []
    fragments = _FRAGMENTS
    try:
        for value in values:
            if value.__class__ is not PropertyValue:
                return js(list(values), name) or "[]"
            item_key = (value.property_id, value.value, value.value_id, value.property_name)
            out = fragments.get(item_key)
            parts.append(out if out is not None else _encoded_fragment(item_key, _json_default(value)))
    except (TypeError, ValueError, RecursionError):  # an unhashable or unencodable field: js says why
        return js(list(values), name) or "[]"
    return _joined(parts, name)


def js_pairs(pairs, name: str) -> str:
    """``js([list(c) for c in pairs])`` of (name, value) tuples (the same text), joined from per-pair
    fragments."""
    parts = []
    fragments = _FRAGMENTS
    try:
        for pair in pairs:
            if pair.__class__ is not tuple:
                return js([list(c) for c in pairs], name) or "[]"
            out = fragments.get(pair)
            parts.append(out if out is not None else _encoded_fragment(pair, list(pair)))
    except (TypeError, ValueError, RecursionError):
        return js([list(c) for c in pairs], name) or "[]"
    return _joined(parts, name)


def flag(value) -> bool:
    return bool(value)


# --- extractors ---------------------------------------------------------------------------------------


def _group(record: Group) -> tuple:
    return (
        key(record.id, "group id"),
        opt_key(record.parent_id, "parent id"),
        text(record.name, "name"),
        flag(record.deleted),
    )


def _property(record: Property) -> tuple:
    return (
        key(record.id, "property id"),
        text(record.name, "name"),
        text(record.value_type, "value_type"),
        flag(record.for_offers),
        flag(record.multiple),
        js(record.values, "values"),
        flag(record.deleted),
    )


def _unit(record: Unit) -> tuple:
    return (
        key(record.id, "unit id"),
        text(record.code, "code"),
        text(record.name, "name"),
        text(record.full_name, "full_name"),
        text(record.international, "international"),
    )


def _price_type(record: PriceType) -> tuple:
    return (
        key(record.id, "price type id"),
        text(record.name, "name"),
        text(record.currency, "currency"),
        text(record.tax_name, "tax_name"),
        None if record.tax_included is None else bool(record.tax_included),
        flag(record.deleted),
    )


def _warehouse(record: Warehouse) -> tuple:
    return (
        key(record.id, "warehouse id"),
        text(record.name, "name"),
        text(record.address, "address"),
        flag(record.deleted),
    )


def pictures(resolved: list[Picture] | None, images: list[str] | None) -> list[dict[str, Any]]:
    """The ``images`` column: the pictures the media store resolved, else the paths 1C wrote, unresolved
    (``media``/``sha256``/``size`` null): one shape for every row (README, "Product pictures")."""
    if resolved is None:
        resolved = [Picture(source, position) for position, source in enumerate(images or ())]
    return [picture.to_dict() for picture in resolved]


def _product(record: Product) -> tuple:
    group_ids = list(record.group_ids or ())
    barcodes = list(record.barcodes or ())
    return (
        key(record.id, "product id"),
        text(record.name, "name"),
        text(record.article, "article"),
        text(barcodes[0] if barcodes else None, "barcode"),
        opt_key(group_ids[0] if group_ids else None, "group id"),
        text(record.code, "code"),
        text(record.description, "description"),
        text(record.unit, "unit"),
        text(record.unit_code, "unit_code"),
        opt_key(record.category_id, "category id"),
        js(barcodes, "barcodes"),
        js(group_ids, "group_ids"),
        js(pictures(record.pictures, record.images), "images"),
        js(record.manufacturer, "manufacturer"),
        js_property_values(record.properties or (), "properties"),
        js(record.requisites, "requisites"),
        js(record.tax_rates, "tax_rates"),
        js_pairs(record.characteristics or (), "characteristics"),
        flag(record.deleted),
    )


def _offer(record: Offer) -> tuple:
    offer_id = key(record.id, "offer id")
    product_id = opt_key(record.product_id, "product id") or offer_id.split("#", 1)[0].strip() or offer_id
    return (
        offer_id,
        product_id,
        opt_key(record.characteristic_id, "characteristic id"),
        text(record.name, "name"),
        text(record.article, "article"),
        text(record.barcode, "barcode"),
        text(record.unit, "unit"),
        js_pairs(record.characteristics or (), "characteristics"),
        js_property_values(record.properties or (), "properties"),
        js(pictures(record.pictures, record.images), "images"),
        flag(record.deleted),
    )


def _price(record: Price) -> tuple:
    return (
        key(record.offer_id, "offer id"),
        key(record.price_type_id, "price type id"),
        req_dec(record.price, "price"),
        text(record.currency, "currency"),
        text(record.unit, "unit"),
        dec(record.ratio, "ratio"),
        text(record.presentation, "presentation"),
    )


def _stock(record: Stock) -> tuple:
    return (
        key(record.offer_id, "offer id"),
        key(record.warehouse_id, "warehouse id"),
        req_dec(record.quantity, "quantity"),
    )


def _stock_total(record: StockTotal) -> tuple:
    return (key(record.offer_id, "offer id"), req_dec(record.quantity, "quantity"))


def _specs(**extractors: Extractor) -> dict[Entity, EntitySpec]:
    """One spec per catalog table, named by keyword, in the tables' (dependency) order."""
    md = metadata(None)
    missing = set(CATALOG_TABLES) ^ set(extractors)
    if missing:
        raise TypeError(f"catalog tables and extractors differ: {sorted(missing)}")
    specs = (spec_for(table_in(md, name), extract=extractors[name]) for name in CATALOG_TABLES)
    return {spec.entity: spec for spec in specs}


SPECS: dict[Entity, EntitySpec] = _specs(
    groups=_group,
    properties=_property,
    units=_unit,
    price_types=_price_type,
    warehouses=_warehouse,
    goods=_product,
    offers=_offer,
    prices=_price,
    rests=_stock,
    stock_totals=_stock_total,
)

#: Order in which staged entities are applied (references first): the catalog tables' order.
APPLY_ORDER: tuple[Entity, ...] = tuple(SPECS)

#: Entities a full export deactivates (never deletes) when it no longer contains a row.
DEACTIVATING_ENTITIES = frozenset(e for e, s in SPECS.items() if s.deactivatable)
