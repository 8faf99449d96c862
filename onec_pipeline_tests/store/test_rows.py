"""JSON columns: the fast encoder writes exactly what the standard library's encoder writes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from onec_pipeline.commerceml.records import PropertyValue
from onec_pipeline.store import rows

VALUES = [
    [PropertyValue(property_id="p1", value="Красный", value_id="v1", property_name="Цвет")],
    [PropertyValue(property_id="p2", value=None, value_id=None, property_name=None)] * 3,
    {"Вид номенклатуры": "Товар", "Ставка": Decimal("20.50"), "b": 1, "a": [1.5, None, True]},
    [["Цвет", "Красный"], ["Размер", "XL"]],
    {"nested": {"z": frozenset({"b", "a"}), "tab\t": "new\nline", "quote": '"\\'}},
    ["\u2028", "emoji 🙂", "\x01"],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_js_matches_the_reference_encoder(value):
    reference = json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=rows._json_default
    )
    assert rows.js(value, "properties") == reference
    assert json.loads(rows.js(value, "properties")) == json.loads(reference)


def test_js_empty_none_and_errors():
    assert rows.js(None, "x") is None
    assert rows.js([], "x") == "[]" and rows.js({}, "x") == "{}" and rows.js((), "x") == "[]"
    with pytest.raises(rows.RowError, match="properties cannot be stored as JSON"):
        rows.js([object()], "properties")
    with pytest.raises(rows.RowError, match="NUL"):
        rows.js(["a\x00b"], "properties")
    loop: list = []
    loop.append(loop)
    with pytest.raises(rows.RowError, match="cannot be stored as JSON"):
        rows.js(loop, "properties")
