"""deleted_mark: 1C's three deletion forms, their negatives, and the rule applied to every entity."""

from __future__ import annotations

import pytest
from lxml import etree

from onec_pipeline.commerceml import Entity, read_header
from onec_pipeline.commerceml.elements import deleted_mark, element_text

from .helpers import NS2, doc, read_all, write


def _marked(xml: str) -> bool:
    """deleted_mark of the root of ``xml``, given its ПометкаУдаления and Статус children as a handler does."""
    element = etree.fromstring(xml)
    children = {etree.QName(child).localname: child for child in element}
    return deleted_mark(element, children.get("ПометкаУдаления"), children.get("Статус"))


@pytest.mark.parametrize(
    "xml",
    [
        '<Товар Статус="Удален"><Ид>1</Ид></Товар>',
        '<Товар Статус=" Удален "><Ид>1</Ид></Товар>',
        "<Товар><Ид>1</Ид><ПометкаУдаления>true</ПометкаУдаления></Товар>",
        "<Товар><Ид>1</Ид><ПометкаУдаления> TRUE </ПометкаУдаления></Товар>",
        "<Товар><Ид>1</Ид><ПометкаУдаления>1</ПометкаУдаления></Товар>",
        "<Товар><Ид>1</Ид><ПометкаУдаления>да</ПометкаУдаления></Товар>",
        "<Товар><Ид>1</Ид><Статус>Удален</Статус></Товар>",
        "<Товар><Ид>1</Ид><Статус>\n\tУдален </Статус></Товар>",
        '<ns:Товар xmlns:ns="urn:1C.ru:commerceml_2"><ns:Статус>Удален</ns:Статус></ns:Товар>',
        # one form is enough, whatever the others say
        '<Товар Статус="Удален"><ПометкаУдаления>false</ПометкаУдаления><Статус>Изменен</Статус></Товар>',
        '<Товар Статус="Новый"><ПометкаУдаления>false</ПометкаУдаления><Статус>Удален</Статус></Товар>',
        '<Товар Статус="Изменен"><ПометкаУдаления>true</ПометкаУдаления></Товар>',
    ],
)
def test_deleted_in_each_form(xml):
    assert _marked(xml) is True


@pytest.mark.parametrize(
    "xml",
    [
        "<Товар><Ид>1</Ид></Товар>",
        '<Товар Статус="Новый"><Ид>1</Ид></Товар>',
        '<Товар Статус="Изменен"><Ид>1</Ид></Товар>',
        '<Товар Статус=""><Ид>1</Ид></Товар>',
        '<Товар Статус="Удалён"><Ид>1</Ид></Товар>',  # not 1C's spelling
        "<Товар><ПометкаУдаления>false</ПометкаУдаления></Товар>",
        "<Товар><ПометкаУдаления>0</ПометкаУдаления></Товар>",
        "<Товар><ПометкаУдаления/></Товар>",
        "<Товар><ПометкаУдаления>Удален</ПометкаУдаления></Товар>",
        "<Товар><Статус>Изменен</Статус></Товар>",
        "<Товар><Статус/></Товар>",
        "<Товар><Статус>true</Статус></Товар>",
        # a mark on a grandchild (e.g. a nested group) is not the element's own
        "<Группа><Ид>g</Ид><Группы><Группа><ПометкаУдаления>true</ПометкаУдаления></Группа></Группы></Группа>",
    ],
)
def test_not_deleted(xml):
    assert _marked(xml) is False


def test_only_the_children_given_count():
    """The rule reads the attribute itself and the two children a handler found in its own pass."""
    element = etree.fromstring(
        "<Товар><ПометкаУдаления>true</ПометкаУдаления><Статус>Удален</Статус></Товар>"
    )
    assert deleted_mark(element) is False
    assert deleted_mark(element, mark=element[0]) is True
    assert deleted_mark(element, status=element[1]) is True


def test_element_text():
    element = etree.fromstring("<a><b> x </b><c/><d>  \n\t</d><e>y<f/>z</e></a>")
    assert [element_text(child) for child in element] == ["x", None, None, "y"]


# every record family that carries ``deleted``, in each of the three forms and unmarked
_ENTITY_BODIES = {
    Entity.GROUPS: "<Классификатор><Ид>c</Ид><Группы><Группа{attr}><Ид>x</Ид>{child}</Группа></Группы></Классификатор>",
    Entity.PROPERTIES: "<Классификатор><Ид>c</Ид><Свойства><Свойство{attr}><Ид>x</Ид>{child}</Свойство></Свойства></Классификатор>",
    Entity.PRICE_TYPES: "<Классификатор><Ид>c</Ид><ТипыЦен><ТипЦены{attr}><Ид>x</Ид>{child}</ТипЦены></ТипыЦен></Классификатор>",
    Entity.WAREHOUSES: "<Классификатор><Ид>c</Ид><Склады><Склад{attr}><Ид>x</Ид>{child}</Склад></Склады></Классификатор>",
    Entity.GOODS: "<Каталог><Ид>c</Ид><Товары><Товар{attr}><Ид>x</Ид>{child}</Товар></Товары></Каталог>",
    Entity.OFFERS: (
        "<ПакетПредложений><Ид>c#</Ид><Предложения><Предложение{attr}><Ид>x</Ид><Наименование>n</Наименование>"
        "{child}</Предложение></Предложения></ПакетПредложений>"
    ),
    Entity.CUSTOMERS: "<Контрагенты><Контрагент{attr}><Ид>x</Ид>{child}</Контрагент></Контрагенты>",
}
_FORMS = {
    "attribute": (' Статус="Удален"', ""),
    "mark": ("", "<ПометкаУдаления>true</ПометкаУдаления>"),
    "bitrix-status": ("", "<Статус>Удален</Статус>"),
    "unmarked": (' Статус="Изменен"', "<ПометкаУдаления>false</ПометкаУдаления><Статус>Новый</Статус>"),
}


@pytest.mark.parametrize("form", list(_FORMS))
@pytest.mark.parametrize("entity", list(_ENTITY_BODIES), ids=str)
def test_every_entity_reads_every_form(tmp_path, entity, form):
    attr, child = _FORMS[form]
    write(
        tmp_path,
        "file.xml",
        doc(_ENTITY_BODIES[entity].format(attr=attr, child=child), version="2.09", ns=NS2),
    )
    out = read_all(tmp_path, {entity})
    assert out["rejects"] == []
    (record,) = out[entity]
    assert record.id == "x" and record.deleted is (form != "unmarked")


@pytest.mark.parametrize("form", list(_FORMS))
def test_the_header_counts_a_deleted_bare_offer_as_an_offer(tmp_path, form):
    """A Предложение with only an Ид and a deletion mark is an Offer (deleted): the header peek says so too."""
    attr, child = _FORMS[form]
    body = f"<ПакетПредложений><Ид>c#</Ид><Предложения><Предложение{attr}><Ид>x</Ид>{child}</Предложение>"
    write(tmp_path, "offers.xml", doc(body + "</Предложения></ПакетПредложений>", version="2.09", ns=NS2))
    assert (Entity.OFFERS in read_header(tmp_path / "offers.xml").entities) is (form != "unmarked")
    offers = read_all(tmp_path, {Entity.OFFERS})[Entity.OFFERS]
    assert [(o.id, o.deleted) for o in offers] == ([] if form == "unmarked" else [("x", True)])
