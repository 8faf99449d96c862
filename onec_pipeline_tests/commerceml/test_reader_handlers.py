"""The (section, element) -> handler table: it covers what the reader documents, and a new record family
(orders: Документ in 2.x, Контейнер/Документ in 3.1) is one handler plus table entries."""

from __future__ import annotations

import re
from typing import Any

import onec_pipeline.commerceml.reader as reader_package
from onec_pipeline.commerceml import Entity, iter_file_records
from onec_pipeline.commerceml.elements import element_text
from onec_pipeline.commerceml.reader.handler import CONTAINER, DOCUMENT, SECTIONS, Handler
from onec_pipeline.commerceml.reader.table import HANDLERS
from onec_pipeline.commerceml.records import (
    Customer,
    Group,
    Offer,
    Order,
    Price,
    PriceType,
    Product,
    Property,
    Stock,
    StockTotal,
    Unit,
    Warehouse,
)
from onec_pipeline.commerceml.xmlsafe import free_element

from .helpers import NS3, doc, write

_RECORD_ENTITIES = {
    cls.__name__: cls.entity
    for cls in (
        Group,
        Property,
        PriceType,
        Warehouse,
        Unit,
        Product,
        Offer,
        Price,
        Stock,
        StockTotal,
        Customer,
        Order,
    )
}


def _documented() -> dict[tuple[str, str], set[Entity]]:
    """The rows of the "Where records come from" table in the reader package's docstring."""
    rows = {}
    for line in (reader_package.__doc__ or "").splitlines():
        match = re.fullmatch(r"(\w+)\s{2,}(\w+)\s{2,}(.+)", line.strip())
        if match and match.group(1) != "section":
            records = re.findall(r"\b[A-Z]\w+\b", match.group(3).split("(")[0])
            rows[(match.group(1), match.group(2))] = {_RECORD_ENTITIES[name] for name in records}
    return rows


def test_the_table_covers_every_documented_section_and_element():
    documented = _documented()
    assert len(documented) >= 16
    assert set(documented) == set(HANDLERS), "the reader's docstring table and HANDLERS disagree"
    for key, entities in documented.items():
        assert HANDLERS[key].entities == entities, key


def test_every_entity_has_a_handler_and_every_handler_a_section():
    assert {entity for handler in HANDLERS.values() for entity in handler.entities} == set(Entity)
    assert {section for section, _element in HANDLERS} <= SECTIONS


class _DocumentProbe(Handler):
    """A stand-in for the orders handler of the next issue: one (kind, Ид) per Документ."""

    def end(self, element: Any) -> list:
        number = next((element_text(child) for child in element if self.names[child.tag] == "Ид"), None)
        free_element(element)
        return [("document", number)]


def test_a_new_record_family_is_a_handler_plus_table_entries(tmp_path, monkeypatch):
    monkeypatch.setitem(HANDLERS, (DOCUMENT, "Документ"), _DocumentProbe)  # 2.03-2.10: a top-level section
    monkeypatch.setitem(HANDLERS, (CONTAINER, "Документ"), _DocumentProbe)  # 3.1: Контейнер/Документ
    lines = "<Товары><Товар><Ид>line</Ид></Товар></Товары><Контрагенты><Контрагент><Ид>buyer</Ид></Контрагент></Контрагенты>"
    classic = write(
        tmp_path,
        "classic/orders.xml",
        doc(f"<Документ><Ид>d1</Ид>{lines}</Документ><Документ><Ид>d2</Ид></Документ>", version="2.05"),
    )
    container = write(
        tmp_path,
        "31/documents.xml",
        doc(
            f"<Контейнер><Документ><Ид>d3</Ид>{lines}</Документ><Документ><Ид>d4</Ид></Документ></Контейнер>",
            version="3.1",
            ns=NS3,
        ),
    )
    assert list(iter_file_records(classic)) == [("document", "d1"), ("document", "d2")]
    # the document's lines and parties are not goods or customers
    assert list(iter_file_records(container)) == [("document", "d3"), ("document", "d4")]
    monkeypatch.undo()
    # the real handler: the same documents as orders, their lines and parties inside them
    for path, ids in ((classic, ["d1", "d2"]), (container, ["d3", "d4"])):
        orders = list(iter_file_records(path))
        assert [(type(o).__name__, o.id) for o in orders] == [("Order", i) for i in ids]
        assert [i.offer_id for i in orders[0].items] == ["line"] and orders[0].customer.id == "buyer"
