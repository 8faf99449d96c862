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

from onec_pipeline.commerceml.records import (
    Entity,
    Group,
    Offer,
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
from onec_pipeline.store.schema import decimal_text

MAX_ID_LENGTH = 1000
#: |value| must stay below 10**MAX_DECIMAL_EXPONENT; at most MAX_DECIMAL_SCALE fractional digits.
MAX_DECIMAL_EXPONENT = 18
MAX_DECIMAL_SCALE = 12


class RowError(ValueError):
    """A record value that cannot be stored (becomes a reject with this message as the reason)."""


@dataclass(frozen=True)
class EntitySpec:
    entity: Entity
    table: str
    keys: tuple[str, ...]
    #: data columns (after the keys) with their kind: "text" | "bool" | "dec" | "json"
    columns: tuple[tuple[str, str], ...]
    has_active: bool
    #: a full export of this entity deactivates rows it does not contain
    deactivatable: bool
    extract: Callable[[object], tuple]

    @property
    def staged_columns(self) -> tuple[tuple[str, str], ...]:
        """(name, kind) of every staged value, in ``extract`` order."""
        cols = tuple((k, "text") for k in self.keys) + self.columns
        return cols + (("deleted", "bool"),) if self.has_active else cols

    @property
    def content_columns(self) -> tuple[str, ...]:
        names = tuple(c for c, _ in self.columns)
        return names + ("deleted",) if self.has_active else names


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
_C_ENCODE = (
    json.encoder.c_make_encoder(
        None, _json_default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    if json.encoder.c_make_encoder is not None
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


def flag(value) -> bool:
    return bool(value)


# --- extractors ---------------------------------------------------------------------------------------


def _group(r: Group) -> tuple:
    return (key(r.id, "group id"), opt_key(r.parent_id, "parent id"), text(r.name, "name"), flag(r.deleted))


def _property(r: Property) -> tuple:
    return (
        key(r.id, "property id"),
        text(r.name, "name"),
        text(r.value_type, "value_type"),
        flag(r.for_offers),
        flag(r.multiple),
        js(r.values, "values"),
        flag(r.deleted),
    )


def _unit(r: Unit) -> tuple:
    return (
        key(r.id, "unit id"),
        text(r.code, "code"),
        text(r.name, "name"),
        text(r.full_name, "full_name"),
        text(r.international, "international"),
    )


def _price_type(r: PriceType) -> tuple:
    return (
        key(r.id, "price type id"),
        text(r.name, "name"),
        text(r.currency, "currency"),
        text(r.tax_name, "tax_name"),
        None if r.tax_included is None else bool(r.tax_included),
        flag(r.deleted),
    )


def _warehouse(r: Warehouse) -> tuple:
    return (key(r.id, "warehouse id"), text(r.name, "name"), text(r.address, "address"), flag(r.deleted))


def _product(r: Product) -> tuple:
    group_ids = list(r.group_ids or ())
    barcodes = list(r.barcodes or ())
    return (
        key(r.id, "product id"),
        text(r.name, "name"),
        text(r.article, "article"),
        text(barcodes[0] if barcodes else None, "barcode"),
        opt_key(group_ids[0] if group_ids else None, "group id"),
        text(r.code, "code"),
        text(r.description, "description"),
        text(r.unit, "unit"),
        text(r.unit_code, "unit_code"),
        opt_key(r.category_id, "category id"),
        js(barcodes, "barcodes"),
        js(group_ids, "group_ids"),
        js(list(r.images or ()), "images"),
        js(r.manufacturer, "manufacturer"),
        js(list(r.properties or ()), "properties"),
        js(r.requisites, "requisites"),
        js(r.tax_rates, "tax_rates"),
        js([list(c) for c in r.characteristics or ()], "characteristics"),
        flag(r.deleted),
    )


def _offer(r: Offer) -> tuple:
    offer_id = key(r.id, "offer id")
    product_id = opt_key(r.product_id, "product id") or offer_id.split("#", 1)[0].strip() or offer_id
    return (
        offer_id,
        product_id,
        opt_key(r.characteristic_id, "characteristic id"),
        text(r.name, "name"),
        text(r.article, "article"),
        text(r.barcode, "barcode"),
        text(r.unit, "unit"),
        js([list(c) for c in r.characteristics or ()], "characteristics"),
        js(list(r.properties or ()), "properties"),
        flag(r.deleted),
    )


def _price(r: Price) -> tuple:
    return (
        key(r.offer_id, "offer id"),
        key(r.price_type_id, "price type id"),
        req_dec(r.price, "price"),
        text(r.currency, "currency"),
        text(r.unit, "unit"),
        dec(r.ratio, "ratio"),
        text(r.presentation, "presentation"),
    )


def _stock(r: Stock) -> tuple:
    return (key(r.offer_id, "offer id"), key(r.warehouse_id, "warehouse id"), req_dec(r.quantity, "quantity"))


def _stock_total(r: StockTotal) -> tuple:
    return (key(r.offer_id, "offer id"), req_dec(r.quantity, "quantity"))


T, B, D, J = "text", "bool", "dec", "json"

SPECS: dict[Entity, EntitySpec] = {
    s.entity: s
    for s in (
        EntitySpec(Entity.GROUPS, "groups", ("id",), (("parent_id", T), ("name", T)), True, True, _group),
        EntitySpec(
            Entity.PROPERTIES,
            "properties",
            ("id",),
            (("name", T), ("value_type", T), ("for_offers", B), ("multiple", B), ("values", J)),
            True,
            False,
            _property,
        ),
        EntitySpec(
            Entity.UNITS,
            "units",
            ("id",),
            (("code", T), ("name", T), ("full_name", T), ("international", T)),
            False,
            False,
            _unit,
        ),
        EntitySpec(
            Entity.PRICE_TYPES,
            "price_types",
            ("id",),
            (("name", T), ("currency", T), ("tax_name", T), ("tax_included", B)),
            True,
            False,
            _price_type,
        ),
        EntitySpec(
            Entity.WAREHOUSES, "warehouses", ("id",), (("name", T), ("address", T)), True, False, _warehouse
        ),
        EntitySpec(
            Entity.GOODS,
            "goods",
            ("id",),
            (
                ("name", T),
                ("article", T),
                ("barcode", T),
                ("group_id", T),
                ("code", T),
                ("description", T),
                ("unit", T),
                ("unit_code", T),
                ("category_id", T),
                ("barcodes", J),
                ("group_ids", J),
                ("images", J),
                ("manufacturer", J),
                ("properties", J),
                ("requisites", J),
                ("tax_rates", J),
                ("characteristics", J),
            ),
            True,
            True,
            _product,
        ),
        EntitySpec(
            Entity.OFFERS,
            "offers",
            ("id",),
            (
                ("product_id", T),
                ("characteristic_id", T),
                ("name", T),
                ("article", T),
                ("barcode", T),
                ("unit", T),
                ("characteristics", J),
                ("properties", J),
            ),
            True,
            True,
            _offer,
        ),
        EntitySpec(
            Entity.PRICES,
            "prices",
            ("offer_id", "price_type_id"),
            (("price", D), ("currency", T), ("unit", T), ("ratio", D), ("presentation", T)),
            False,
            False,
            _price,
        ),
        EntitySpec(
            Entity.RESTS, "rests", ("offer_id", "warehouse_id"), (("quantity", D),), False, False, _stock
        ),
        EntitySpec(
            Entity.STOCK_TOTALS, "stock_totals", ("offer_id",), (("quantity", D),), False, False, _stock_total
        ),
    )
}

#: Order in which staged entities are applied (references first).
APPLY_ORDER: tuple[Entity, ...] = (
    Entity.GROUPS,
    Entity.PROPERTIES,
    Entity.UNITS,
    Entity.PRICE_TYPES,
    Entity.WAREHOUSES,
    Entity.GOODS,
    Entity.OFFERS,
    Entity.PRICES,
    Entity.RESTS,
    Entity.STOCK_TOTALS,
)

#: Entities a full export deactivates (never deletes) when it no longer contains a row.
DEACTIVATING_ENTITIES = frozenset(e for e, s in SPECS.items() if s.deactivatable)
