"""The JSON columns joined from per-item fragments (``rows.js_property_values``, ``rows.js_pairs``) are the
very text the general encoder (``rows.js``) writes, for any values, cached or not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onec_pipeline.commerceml.records import PropertyValue
from onec_pipeline.store import rows
from onec_pipeline.store.errors import RowError

TEXTS = st.one_of(st.none(), st.sampled_from(["Цвет", "Красный", 'a "q"\\', "40", "", "\u2028"]), st.text())
PAIR_TEXTS = st.one_of(st.sampled_from(["Цвет", "Размер", "", "x\ty"]), st.text())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(PropertyValue, TEXTS, TEXTS, TEXTS, TEXTS), max_size=5))
def test_property_values_are_what_the_general_encoder_writes(values: list[PropertyValue]):
    for _ in range(2):  # the second time from the cached fragments
        try:
            expected = rows.js(list(values), "properties")
        except RowError as exc:
            with pytest.raises(RowError, match=str(exc)):
                rows.js_property_values(values, "properties")
            continue
        assert rows.js_property_values(values, "properties") == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(PAIR_TEXTS, PAIR_TEXTS), max_size=5))
def test_characteristics_are_what_the_general_encoder_writes(pairs: list[tuple[str, str]]):
    for _ in range(2):
        try:
            expected = rows.js([list(c) for c in pairs], "characteristics")
        except RowError as exc:
            with pytest.raises(RowError, match=str(exc)):
                rows.js_pairs(pairs, "characteristics")
            continue
        assert rows.js_pairs(pairs, "characteristics") == expected


def test_a_number_never_hits_the_fragment_of_an_equal_text_or_flag():
    assert rows.js_pairs([("1", "x")], "c") == '[["1","x"]]'
    assert rows.js_pairs([(1, "x")], "c") == '[[1,"x"]]'
    assert rows.js_pairs([(True, "x")], "c") == '[[true,"x"]]'  # 1 == True: not served from (1, "x")
    assert rows.js_property_values([PropertyValue("p", 1)], "p") == rows.js([PropertyValue("p", 1)], "p")
    assert '"value":true' in rows.js_property_values([PropertyValue("p", True)], "p")


def test_a_nul_character_is_refused_as_before():
    with pytest.raises(RowError, match="NUL"):
        rows.js_pairs([("a\x00", "b")], "characteristics")
    with pytest.raises(RowError, match="NUL"):
        rows.js_property_values([PropertyValue("p", "v\x00")], "properties")
    with pytest.raises(RowError, match="NUL"):  # from the cache as well
        rows.js_pairs([("a\x00", "b")], "characteristics")


def test_other_shapes_go_through_the_general_encoder():
    assert rows.js_pairs([["a", "b"]], "c") == '[["a","b"]]'
    assert rows.js_pairs([("a", "b", "c")], "c") == '[["a","b","c"]]'
    assert rows.js_property_values([{"property_id": "p"}], "p") == '[{"property_id":"p"}]'
    with pytest.raises(RowError, match="cannot be stored as JSON"):
        rows.js_property_values([PropertyValue("p", object())], "properties")
