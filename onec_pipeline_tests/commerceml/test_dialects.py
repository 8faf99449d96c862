"""Hand-written fixtures for each dialect shape of FORMAT.md §3–8 and the pitfalls list (§12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from onec_pipeline.commerceml import (
    CommerceMLError,
    Entity,
    FileKind,
    ReadStats,
    discover_upload,
    iter_file_records,
    read_header,
    read_upload,
)
from onec_pipeline.commerceml.header import PEEK_ENTITIES
from onec_pipeline.commerceml.values import normalise_currency, parse_datetime, parse_decimal

from .helpers import NS2, NS3, NS210, doc, read_all, write

# --------------------------------------------------------------------------- classic 2.07 pair


CLASSIC_IMPORT = """
<Классификатор>
  <Ид>cls-1</Ид><Наименование>Классификатор</Наименование>
  <Группы>
    <Группа><Ид>g-root</Ид><Наименование>Обувь </Наименование>
      <Группы>
        <Группа><Ид>g-child</Ид><Наименование>Ботинки</Наименование>
          <Группы><Группа><Ид>g-leaf</Ид><Наименование>Зимние</Наименование></Группа></Группы>
        </Группа>
        <Группа><Ид>g-child2</Ид><Наименование>Туфли</Наименование></Группа>
      </Группы>
    </Группа>
    <Группа><Ид>g-other</Ид><Наименование>Прочее</Наименование></Группа>
  </Группы>
  <Свойства>
    <Свойство><Ид>p-color</Ид><Наименование>Цвет</Наименование><ТипЗначений>Справочник</ТипЗначений>
      <ВариантыЗначений>
        <Справочник><ИдЗначения>v-red</ИдЗначения><Значение>Красный</Значение></Справочник>
        <Справочник><ИдЗначения>v-blue</ИдЗначения><Значение>Синий</Значение></Справочник>
      </ВариантыЗначений>
    </Свойство>
    <Свойство><Ид>p-mat</Ид><Наименование>Материал</Наименование><ТипЗначений>Строка</ТипЗначений></Свойство>
  </Свойства>
</Классификатор>
<Каталог СодержитТолькоИзменения="false">
  <Ид>cls-1</Ид><ИдКлассификатора>cls-1</ИдКлассификатора><Наименование>Каталог</Наименование>
  <Товары>
    <Товар>
      <Ид> prod-1 </Ид><Штрихкод>4600000000017</Штрихкод><Артикул>Б- 130005</Артикул>
      <Наименование>Ботинки женские </Наименование>
      <БазоваяЕдиница Код="796 " НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>
      <Группы><Ид>g-leaf</Ид><Ид>g-other</Ид></Группы>
      <Описание>&lt;li&gt;кожа&lt;/li&gt;</Описание>
      <Картинка>import_files/ab/prod-1.jpg</Картинка><Картинка/>
      <Изготовитель><Ид>m-1</Ид><Наименование>Фабрика</Наименование></Изготовитель>
      <ЗначенияСвойств>
        <ЗначенияСвойства><Ид>p-color</Ид><Значение>v-red</Значение><Значение>v-blue</Значение></ЗначенияСвойства>
        <ЗначенияСвойства><Ид>p-mat</Ид><Значение>Кожа</Значение></ЗначенияСвойства>
        <ЗначенияСвойства><Ид>p-mat</Ид><Значение/></ЗначенияСвойства>
        <ЗначенияСвойства><Ид>p-unknown</Ид><Значение>x</Значение></ЗначенияСвойства>
      </ЗначенияСвойств>
      <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>
      <ЗначенияРеквизитов>
        <ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>
      </ЗначенияРеквизитов>
    </Товар>
    <Товар Статус="Удален"><Ид>prod-2</Ид><Наименование>Снят с продажи</Наименование></Товар>
    <Товар><Ид>prod-3</Ид><ПометкаУдаления>true</ПометкаУдаления><Наименование>Помечен</Наименование>
      <БазоваяЕдиница><Пересчет><Единица>796</Единица><Коэффициент>1</Коэффициент></Пересчет></БазоваяЕдиница>
    </Товар>
  </Товары>
</Каталог>
"""

CLASSIC_OFFERS = """
<Классификатор><Ид>cls-1</Ид><Наименование>Классификатор</Наименование></Классификатор>
<ПакетПредложений СодержитТолькоИзменения="false">
  <Ид>cls-1#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cls-1</ИдКаталога><ИдКлассификатора>cls-1</ИдКлассификатора>
  <ТипыЦен>
    <ТипЦены><Ид>pt-retail</Ид><Наименование>Розничная</Наименование><Валюта>руб.</Валюта>
      <Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме></Налог></ТипЦены>
  </ТипыЦен>
  <Склады>
    <Склад><Ид>w-1</Ид><Наименование>Основной</Наименование>
      <Адрес><Представление>Москва, Дмитровское шоссе, д.9</Представление></Адрес>
      <Контакты><Контакт><Тип>Почта</Тип><Значение>Москва</Значение></Контакт></Контакты></Склад>
    <Склад><Ид>w-2</Ид><Наименование>Второй</Наименование></Склад>
  </Склады>
  <Предложения>
    <Предложение>
      <Ид>prod-1#char-38</Ид><Артикул>Б- 130005</Артикул><Наименование>Ботинки женские (38)</Наименование>
      <БазоваяЕдиница Код="796">шт</БазоваяЕдиница>
      <Цены><Цена><Представление> 1 719 руб. за шт</Представление><ИдТипаЦены>pt-retail</ИдТипаЦены>
        <ЦенаЗаЕдиницу>1719.00</ЦенаЗаЕдиницу><Валюта>руб</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена></Цены>
      <Количество>-70.687</Количество>
      <Склад ИдСклада="w-1" КоличествоНаСкладе="30.5"/>
      <Склад ИдСклада="w-2" КоличествоНаСкладе="-1"/>
    </Предложение>
    <Предложение>
      <Ид>prod-1</Ид><Наименование>Ботинки женские</Наименование>
      <Цены><Цена><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу/><Валюта>RUR</Валюта></Цена></Цены>
      <Количество>0</Количество>
    </Предложение>
  </Предложения>
</ПакетПредложений>
"""


@pytest.fixture
def classic(tmp_path):
    write(tmp_path, "import0_1.xml", doc(CLASSIC_IMPORT, version="2.07", ns=NS2), bom=True)
    write(tmp_path, "offers0_1.xml", doc(CLASSIC_OFFERS, version="2.07", ns=NS2), bom=True)
    write(tmp_path, "import_files/ab/prod-1.jpg", "\xff")
    return tmp_path


def test_classic_headers(classic):
    upload = discover_upload(classic)
    assert [(h.path, h.kind) for h in upload.files] == [
        ("import0_1.xml", FileKind.GOODS),
        ("offers0_1.xml", FileKind.OFFERS),
    ]
    imp, off = upload.files
    assert imp.schema_version == "2.07" and imp.namespace == "urn:1C.ru:commerceml_2"
    assert imp.encoding == "UTF-8" and imp.only_changes is False
    assert imp.sections == ("Классификатор", "Каталог")
    assert imp.classifier_id == "cls-1" and imp.catalog_id == "cls-1"
    assert imp.entities == {Entity.GROUPS, Entity.PROPERTIES, Entity.GOODS}
    assert off.entities == {
        Entity.PRICE_TYPES,
        Entity.WAREHOUSES,
        Entity.OFFERS,
        Entity.PRICES,
        Entity.RESTS,
        Entity.STOCK_TOTALS,
    }
    assert upload.other_files == 1
    assert upload.is_full(Entity.GOODS) and upload.is_full(Entity.RESTS)
    assert not upload.has(Entity.CUSTOMERS) and not upload.is_full(Entity.CUSTOMERS)


def test_classic_groups_nested_parents_first(classic):
    groups = read_all(classic, {Entity.GROUPS})[Entity.GROUPS]
    assert [(g.id, g.parent_id) for g in groups] == [
        ("g-root", None),
        ("g-child", "g-root"),
        ("g-leaf", "g-child"),
        ("g-child2", "g-root"),
        ("g-other", None),
    ]
    assert groups[0].name == "Обувь"  # trailing space trimmed
    assert groups[0].source.file == "import0_1.xml" and groups[0].source.line == 7


def test_classic_goods(classic):
    goods = read_all(classic, {Entity.GOODS})[Entity.GOODS]
    assert [g.id for g in goods] == ["prod-1", "prod-2", "prod-3"]
    p = goods[0]
    assert p.name == "Ботинки женские" and p.article == "Б- 130005" and p.barcodes == ["4600000000017"]
    assert p.unit == "шт" and p.unit_code == "796"
    assert p.group_ids == ["g-leaf", "g-other"]
    assert p.description == "<li>кожа</li>"
    assert p.images == ["import_files/ab/prod-1.jpg"]
    assert p.manufacturer == {"Ид": "m-1", "Наименование": "Фабрика"}
    assert p.tax_rates == {"НДС": "20"} and p.requisites == {"ВидНоменклатуры": "Товар"}
    assert [(v.property_id, v.value, v.value_id, v.property_name) for v in p.properties] == [
        ("p-color", "Красный", "v-red", "Цвет"),
        ("p-color", "Синий", "v-blue", "Цвет"),
        ("p-mat", "Кожа", None, "Материал"),
        ("p-unknown", "x", None, None),
    ]
    assert not p.deleted
    assert goods[1].deleted  # @Статус="Удален"
    assert goods[2].deleted  # <ПометкаУдаления>true
    assert goods[2].unit == "796"  # only Пересчет/Единица given


def test_classic_offers_prices_stock(classic):
    stats = ReadStats()
    out = read_all(classic, stats=stats)
    offers = out[Entity.OFFERS]
    assert [(o.id, o.product_id, o.characteristic_id) for o in offers] == [
        ("prod-1#char-38", "prod-1", "char-38"),
        ("prod-1", "prod-1", None),
    ]
    assert offers[0].name == "Ботинки женские (38)" and offers[0].unit == "шт"
    (price,) = out[Entity.PRICES]
    assert price.offer_id == "prod-1#char-38" and price.price_type_id == "pt-retail"
    assert price.price == Decimal("1719.00") and price.currency == "RUB"
    assert price.unit == "шт" and price.ratio == Decimal(1) and price.presentation == "1 719 руб. за шт"
    assert stats.empty_prices == 1
    assert [(s.offer_id, s.warehouse_id, s.quantity) for s in out[Entity.RESTS]] == [
        ("prod-1#char-38", "w-1", Decimal("30.5")),
        ("prod-1#char-38", "w-2", Decimal("-1")),
    ]
    assert [(t.offer_id, t.quantity) for t in out[Entity.STOCK_TOTALS]] == [
        ("prod-1#char-38", Decimal("-70.687")),
        ("prod-1", Decimal("0")),
    ]
    (pt,) = out[Entity.PRICE_TYPES]
    assert (pt.id, pt.currency, pt.tax_name, pt.tax_included) == ("pt-retail", "RUB", "НДС", True)
    assert [(w.id, w.address) for w in out[Entity.WAREHOUSES]] == [
        ("w-1", "Москва, Дмитровское шоссе, д.9"),
        ("w-2", None),
    ]
    assert out["rejects"] == []
    assert stats.counts[Entity.PRICES] == 1 and stats.files == 2


def test_only_wanted_entities_are_built(classic):
    out = read_all(classic, {Entity.PRICES})
    assert set(out) == {Entity.PRICES}
    upload = discover_upload(classic)
    stats = ReadStats()
    list(read_upload(upload, {Entity.PRICES}, stats))
    assert stats.files == 1  # import0_1.xml holds no prices: not opened


# --------------------------------------------------------------------------- 2.03


CML203_IMPORT = """
<Классификатор><Ид>c</Ид><Наименование>К</Наименование>
  <Свойства>
    <СвойствоНоменклатуры><Ид>brand</Ид><Наименование>Бренд</Наименование><Обязательное>false</Обязательное>
      <Множественное>false</Множественное><ИспользованиеСвойства>true</ИспользованиеСвойства></СвойствоНоменклатуры>
  </Свойства>
</Классификатор>
<Каталог><Ид>c</Ид><ИдКлассификатора>c</ИдКлассификатора><Наименование>К</Наименование>
  <Товары>
    <Товар><Ид>p1#c1</Ид><ШтрихКод>123</ШтрихКод><Артикул/><Наименование>Футболка (S)</Наименование>
      <ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование><Ид>x</Ид><Значение>S</Значение>
      </ХарактеристикаТовара></ХарактеристикиТовара>
      <ЗначенияСвойств><ЗначенияСвойства><Ид>brand</Ид><Значение>Agio</Значение></ЗначенияСвойства></ЗначенияСвойств>
    </Товар>
  </Товары>
  <СодержитТолькоИзменения>true</СодержитТолькоИзменения>
</Каталог>
"""


def test_203_element_flag_legacy_property_and_composite_goods(tmp_path):
    write(tmp_path, "import.xml", doc(CML203_IMPORT, version="2.03", date="2015-04-21"))
    header = read_header(tmp_path / "import.xml")
    assert header.only_changes is True  # the element form, after the goods
    assert header.exported_at == datetime(2015, 4, 21)
    out = read_all(tmp_path)
    (prop,) = out[Entity.PROPERTIES]
    assert (prop.id, prop.name, prop.value_type) == ("brand", "Бренд", None)
    (good,) = out[Entity.GOODS]
    assert good.id == "p1#c1" and good.barcodes == ["123"] and good.article is None
    assert good.characteristics == [("Размер", "S")]
    assert [(v.property_id, v.value, v.property_name) for v in good.properties] == [
        ("brand", "Agio", "Бренд")
    ]


def test_203_flag_found_when_the_peek_stops_early(tmp_path):
    goods = "".join(
        f"<Товар><Ид>p{i}</Ид><Наименование>n</Наименование></Товар>" for i in range(PEEK_ENTITIES + 50)
    )
    body = f"<Каталог><Ид>c</Ид><Товары>{goods}</Товары><СодержитТолькоИзменения>false</СодержитТолькоИзменения></Каталог>"
    write(tmp_path, "import.xml", doc(body, version="2.03"))
    assert read_header(tmp_path / "import.xml").only_changes is False


# --------------------------------------------------------------------------- 3.1 package in sub-folders

PKG_CLASSIFIER = """
<Классификатор СодержитТолькоИзменения="true"><Ид>cat</Ид><Наименование>Каталог</Наименование>
  <Группы><Группа><Ид>g1</Ид><НомерВерсии>AAA=</НомерВерсии><ПометкаУдаления>true</ПометкаУдаления>
    <Наименование>Старая</Наименование></Группа></Группы>
  <ТипыЦен><ТипЦены><Ид>pt</Ид><Наименование>Опт</Наименование><Валюта>грн</Валюта></ТипЦены></ТипыЦен>
  <Склады><Склад><Ид>w1</Ид><Наименование>Склад 1</Наименование><ПометкаУдаления>false</ПометкаУдаления></Склад></Склады>
  <ЕдиницыИзмерения><ЕдиницаИзмерения><Ид>796 </Ид><НаименованиеКраткое>шт</НаименованиеКраткое><Код>796</Код>
    <НаименованиеПолное>Штука                </НаименованиеПолное><МеждународноеСокращение>PCE</МеждународноеСокращение>
  </ЕдиницаИзмерения></ЕдиницыИзмерения>
</Классификатор>
<Каталог СодержитТолькоИзменения="true"><Ид>cat</Ид><ИдКлассификатора>cat</ИдКлассификатора><Наименование>К</Наименование></Каталог>
"""
PKG_GOODS = """
<Каталог СодержитТолькоИзменения="true"><Ид>cat</Ид><ИдКлассификатора>cat</ИдКлассификатора><Наименование>К</Наименование>
  <Товары><Товар><Ид>p1</Ид><НомерВерсии>A</НомерВерсии><ПометкаУдаления>false</ПометкаУдаления>
    <Наименование>Платье</Наименование><БазоваяЕдиница>796 </БазоваяЕдиница><Группы><Ид>g1</Ид></Группы></Товар></Товары>
</Каталог>
"""
PKG_OFFER_CLASSIFIER = """
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование><ИдКаталога>cat</ИдКаталога>
  <ИдКлассификатора>cat</ИдКлассификатора></ПакетПредложений>
<Классификатор СодержитТолькоИзменения="true"><Ид>cat</Ид><Наименование>К</Наименование>
  <Свойства><Свойство><Ид>size</Ид><Наименование>Размер</Наименование><ТипЗначений>Справочник</ТипЗначений>
    <ВариантыЗначений><Справочник><ИдЗначения>s-42</ИдЗначения><Значение>42</Значение></Справочник></ВариантыЗначений>
  </Свойство></Свойства>
</Классификатор>
"""
PKG_OFFERS = """
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование>
  <Предложения>
    <Предложение><Ид>p1#v42</Ид><НомерВерсии>A</НомерВерсии><ПометкаУдаления>false</ПометкаУдаления>
      <Наименование>Платье (42)</Наименование><ХарактеристикиТовара/>
      <ЗначенияСвойств><ЗначенияСвойства><Ид>size</Ид><Значение>s-42</Значение></ЗначенияСвойства></ЗначенияСвойств>
    </Предложение>
    <Предложение><Ид>p1#gone</Ид><ПометкаУдаления>true</ПометкаУдаления></Предложение>
  </Предложения>
</ПакетПредложений>
"""
PKG_PRICES = """
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование>
  <Предложения><Предложение><Ид>p1#v42</Ид><Цены><Цена><Представление>100 грн за шт</Представление>
    <ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>100</ЦенаЗаЕдиницу><Валюта>грн</Валюта>
    <Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме></Налог></Цена></Цены></Предложение>
  </Предложения>
</ПакетПредложений>
"""
PKG_RESTS = """
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>cat#</Ид><Наименование>П</Наименование>
  <Предложения><Предложение><Ид>p1#v42</Ид><Остатки>
    <Остаток><Склад><Ид>w1</Ид><Количество>5</Количество></Склад></Остаток>
    <Остаток><Склад><Ид>w2</Ид><Количество>0</Количество></Склад></Остаток>
  </Остатки></Предложение></Предложения>
</ПакетПредложений>
"""


@pytest.fixture
def package(tmp_path):
    kw = {"version": "3.1", "ns": NS3}
    # names chosen so that name order differs from dependency order: content decides
    write(tmp_path, "z_import.xml", doc(PKG_CLASSIFIER, **kw), bom=True)
    write(tmp_path, "goods/1/import.xml", doc(PKG_GOODS, **kw), bom=True)
    write(tmp_path, "properties/1/offers.xml", doc(PKG_OFFER_CLASSIFIER, **kw), bom=True)
    write(tmp_path, "goods/1/offers.xml", doc(PKG_OFFERS, **kw), bom=True)
    write(tmp_path, "a/prices.xml", doc(PKG_PRICES, **kw), bom=True)
    write(tmp_path, "a/rests.xml", doc(PKG_RESTS, **kw), bom=True)
    write(tmp_path, ".hidden/offers.xml", doc(PKG_OFFERS, **kw))
    write(tmp_path, ".ready", "")
    return tmp_path


def test_package_order_by_content(package):
    upload = discover_upload(package)
    assert [(h.path, h.kind) for h in upload.files] == [
        ("z_import.xml", FileKind.CLASSIFIER),
        ("goods/1/import.xml", FileKind.GOODS),
        ("properties/1/offers.xml", FileKind.OFFER_CLASSIFIER),
        ("goods/1/offers.xml", FileKind.OFFERS),
        ("a/prices.xml", FileKind.PRICES),
        ("a/rests.xml", FileKind.RESTS),
    ]
    assert upload.files[2].sections == ("ПакетПредложений", "Классификатор")
    assert not upload.is_full(Entity.OFFERS)


def test_package_records(package):
    out = read_all(package)
    (group,) = out[Entity.GROUPS]
    assert group.deleted
    (unit,) = out[Entity.UNITS]
    assert (unit.id, unit.code, unit.name, unit.full_name, unit.international) == (
        "796",
        "796",
        "шт",
        "Штука",
        "PCE",
    )
    (pt,) = out[Entity.PRICE_TYPES]
    assert pt.currency == "UAH"
    (good,) = out[Entity.GOODS]
    assert good.unit == "шт" and good.unit_code == "796"  # 3.1: the text is the unit's Ид
    (prop,) = out[Entity.PROPERTIES]
    assert prop.for_offers and prop.values == {"s-42": "42"}
    offer, gone = out[Entity.OFFERS]
    assert offer.characteristics == [("Размер", "42")]
    assert [(v.value, v.value_id) for v in offer.properties] == [("42", "s-42")]
    assert gone.deleted and gone.name is None
    (price,) = out[Entity.PRICES]
    assert price.currency == "UAH" and price.price == Decimal(100)
    assert [(s.warehouse_id, s.quantity) for s in out[Entity.RESTS]] == [
        ("w1", Decimal(5)),
        ("w2", Decimal(0)),
    ]
    assert Entity.STOCK_TOTALS not in out


def test_prices_only_offer_is_not_an_offer(package):
    upload = discover_upload(package)
    prices_header = next(h for h in upload.files if h.kind == FileKind.PRICES)
    records = list(iter_file_records(upload, prices_header, set(Entity)))
    assert [r.entity for r in records] == [Entity.PRICES]


# --------------------------------------------------------------------------- 2.08 ns 210, ИзмененияПакетаПредложений


def test_unf_namespace_210_category_and_code(tmp_path):
    body = """
<Классификатор><Ид>c</Ид><Наименование>К</Наименование>
  <Категории><Категория><Ид>cat-1</Ид><Наименование>Одежда</Наименование></Категория></Категории>
</Классификатор>
<Каталог СодержитТолькоИзменения="false"><Ид>c</Ид><Товары>
  <Товар><Ид>p</Ид><Код>НФ-00002981</Код><Наименование>Куртка</Наименование><Категория>cat-1</Категория>
    <Вес>1.5</Вес></Товар></Товары></Каталог>"""
    write(tmp_path, "import.xml", doc(body, ns=NS210))
    header = read_header(tmp_path / "import.xml")
    assert header.namespace == "urn:1C.ru:commerceml_210" and header.kind == FileKind.GOODS
    (good,) = read_all(tmp_path)[Entity.GOODS]
    assert good.code == "НФ-00002981" and good.category_id == "cat-1" and good.requisites == {"Вес": "1.5"}


def test_changes_package_with_characteristic_id(tmp_path):
    body = """
<ИзмененияПакетаПредложений СодержитТолькоИзменения="true"><Ид>c#</Ид><ИдКаталога>c</ИдКаталога>
  <Предложения>
    <Предложение><Ид>p1</Ид><ИдХарактеристики>ch1</ИдХарактеристики><Артикул>A-1</Артикул>
      <Склады ИдСклада="w1" КоличествоНаСкладе="3"/>
      <Цены><Цена><ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>10,5</ЦенаЗаЕдиницу><Валюта>USD</Валюта></Цена></Цены>
      <Количество>3</Количество></Предложение>
    <Предложение><Ид>p2#ch2</Ид><Наименование>Новое имя</Наименование></Предложение>
  </Предложения>
</ИзмененияПакетаПредложений>"""
    write(tmp_path, "changes.xml", doc(body, version="2.08", ns=NS2))
    upload = discover_upload(tmp_path)
    (header,) = upload.files
    assert header.kind == FileKind.OFFERS
    out = read_all(tmp_path)
    # Артикул only identifies the offer in ИзмененияПакетаПредложений: no Offer for p1#ch1
    assert [o.id for o in out[Entity.OFFERS]] == ["p2#ch2"]
    (price,) = out[Entity.PRICES]
    assert (price.offer_id, price.price, price.currency) == ("p1#ch1", Decimal("10.5"), "USD")
    assert [(s.offer_id, s.warehouse_id, s.quantity) for s in out[Entity.RESTS]] == [
        ("p1#ch1", "w1", Decimal(3))
    ]
    assert [(t.offer_id, t.quantity) for t in out[Entity.STOCK_TOTALS]] == [("p1#ch1", Decimal(3))]


# --------------------------------------------------------------------------- stock encodings


def test_four_stock_encodings(tmp_path):
    body = """
<ПакетПредложений><Ид>c#</Ид><Предложения>
  <Предложение><Ид>a</Ид><Количество>7</Количество></Предложение>
  <Предложение><Ид>b</Ид><Количество>2</Количество><Склад ИдСклада="w1" КоличествоНаСкладе="1"/>
    <Склад ИдСклада="w2" КоличествоНаСкладе="1"/></Предложение>
  <Предложение><Ид>c</Ид><Остатки><Остаток><Склад><Ид>w1</Ид><Количество>4</Количество></Склад></Остаток></Остатки></Предложение>
  <Предложение><Ид>d</Ид><Остатки><Остаток><Количество>9</Количество></Остаток></Остатки></Предложение>
  <Предложение><Ид>e</Ид><КоличествоНаСкладах><КоличествоНаСкладе><ИдСклада>w3</ИдСклада><Количество>2.635</Количество>
    </КоличествоНаСкладе></КоличествоНаСкладах></Предложение>
</Предложения></ПакетПредложений>"""
    write(tmp_path, "rests.xml", doc(body))
    header = read_header(tmp_path / "rests.xml")
    assert header.kind == FileKind.RESTS and header.entities == {Entity.RESTS, Entity.STOCK_TOTALS}
    out = read_all(tmp_path)
    assert Entity.OFFERS not in out
    assert [(s.offer_id, s.warehouse_id, s.quantity) for s in out[Entity.RESTS]] == [
        ("b", "w1", Decimal(1)),
        ("b", "w2", Decimal(1)),
        ("c", "w1", Decimal(4)),
        ("e", "w3", Decimal("2.635")),
    ]
    assert [(t.offer_id, t.quantity) for t in out[Entity.STOCK_TOTALS]] == [
        ("a", Decimal(7)),
        ("b", Decimal(2)),
        ("d", Decimal(9)),
    ]


# --------------------------------------------------------------------------- numbers, currencies, rejects


def test_numbers_and_rejects(tmp_path):
    body = """
<ПакетПредложений><Ид>c#</Ид><Предложения>
  <Предложение><Ид>n1</Ид><Цены>
    <Цена><ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>1\u00a0234,50</ЦенаЗаЕдиницу><Валюта>RUR</Валюта></Цена>
    <Цена><ИдТипаЦены>pt2</ИдТипаЦены><ЦенаЗаЕдиницу> 231.7400 </ЦенаЗаЕдиницу><Валюта>грн.</Валюта></Цена>
    <Цена><ИдТипаЦены>pt3</ИдТипаЦены><ЦенаЗаЕдиницу>Уточните</ЦенаЗаЕдиницу></Цена>
    <Цена><ИдТипаЦены>pt4</ИдТипаЦены><ЦенаЗаЕдиницу>   </ЦенаЗаЕдиницу></Цена>
    <Цена><ЦенаЗаЕдиницу>5</ЦенаЗаЕдиницу></Цена>
  </Цены><Количество>1 000</Количество></Предложение>
  <Предложение><Цены><Цена><ИдТипаЦены>pt</ИдТипаЦены><ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу></Цена></Цены></Предложение>
  <Предложение><Ид>n2</Ид><Количество>много</Количество><Склад ИдСклада="w" КоличествоНаСкладе="x"/>
    <Склад КоличествоНаСкладе="1"/></Предложение>
</Предложения></ПакетПредложений>"""
    write(tmp_path, "prices.xml", doc(body))
    stats = ReadStats()
    out = read_all(tmp_path, stats=stats)
    assert [(p.price_type_id, p.price, p.currency) for p in out[Entity.PRICES]] == [
        ("pt", Decimal("1234.50"), "RUB"),
        ("pt2", Decimal("231.7400"), "UAH"),
    ]
    assert stats.empty_prices == 1
    assert [(t.offer_id, t.quantity) for t in out[Entity.STOCK_TOTALS]] == [("n1", Decimal(1000))]
    rejects = out["rejects"]
    assert [(r.entity, r.entity_id) for r in rejects] == [
        (Entity.PRICES, "n1"),
        (Entity.PRICES, "n1"),
        (Entity.PRICES, None),
        (Entity.RESTS, "n2"),
        (Entity.RESTS, "n2"),
        (Entity.STOCK_TOTALS, "n2"),
    ]
    assert "Уточните" in rejects[0].reason and "<ЦенаЗаЕдиницу>Уточните" in rejects[0].raw
    assert "ИдТипаЦены" in rejects[1].reason
    assert "without Ид" in rejects[2].reason and rejects[2].source.file == "prices.xml"
    assert rejects[2].source.line == 12
    assert stats.rejects == 6


def test_reject_raw_is_truncated(tmp_path):
    long_name = "я" * 10000
    body = f"<Каталог><Ид>c</Ид><Товары><Товар><Наименование>{long_name}</Наименование></Товар></Товары></Каталог>"
    write(tmp_path, "import.xml", doc(body))
    (reject,) = read_all(tmp_path)["rejects"]
    assert reject.entity == Entity.GOODS and reject.entity_id is None
    assert reject.raw.startswith("<Товар") and len(reject.raw) < 4200


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1620", Decimal(1620)),
        ("3159.00", Decimal("3159.00")),
        ("-70.687", Decimal("-70.687")),
        ("2,635", Decimal("2.635")),
        ("1\u00a0719", Decimal(1719)),
        ("1 234 567,5", Decimal("1234567.5")),
        ("1,234.50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("", None),
        (None, None),
    ],
)
def test_parse_decimal(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["abc", "1.2.3", "NaN", "Infinity", "1,2,3"])
def test_parse_decimal_rejects(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("руб", "RUB"),
        ("руб.", "RUB"),
        ("RUR", "RUB"),
        ("RUB", "RUB"),
        ("грн", "UAH"),
        ("грн.", "UAH"),
        ("usd", "USD"),
    ],
)
def test_currency_normalisation(raw, iso):
    assert normalise_currency(raw) == iso


def test_currency_unknown_kept():
    assert normalise_currency(" у.е. ") == "у.е." and normalise_currency("") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2015-04-21", datetime(2015, 4, 21)),
        ("2014-06-01T0:36:33", datetime(2014, 6, 1, 0, 36, 33)),
        ("2026-02-24T16:51:51+03:00", datetime(2026, 2, 24, 16, 51, 51, tzinfo=timezone(timedelta(hours=3)))),
        ("2018-02-24T20:40:50", datetime(2018, 2, 24, 20, 40, 50)),
        ("2018-02-24T20:40:50.123Z", datetime(2018, 2, 24, 20, 40, 50, 123000, tzinfo=UTC)),
        ("24.02.2018 20:40:50", datetime(2018, 2, 24, 20, 40, 50)),
        ("garbage", None),
        ("2018-13-45", None),
    ],
)
def test_lenient_dates(text, value):
    assert parse_datetime(text) == value


# --------------------------------------------------------------------------- deletion marks, Bitrix shapes


def test_deletion_marks_three_forms_on_every_entity(tmp_path):
    body = """
<Классификатор><Ид>c</Ид>
  <Группы><Группа Статус="Удален"><Ид>g1</Ид></Группа><Группа><Ид>g2</Ид><Статус>Удален</Статус></Группа></Группы>
  <Свойства><Свойство><Ид>p1</Ид><ПометкаУдаления>true</ПометкаУдаления></Свойство></Свойства>
  <ТипыЦен><ТипЦены><Ид>t1</Ид><ПометкаУдаления>true</ПометкаУдаления></ТипЦены></ТипыЦен>
  <Склады><Склад Статус="Удален"><Ид>w1</Ид></Склад></Склады>
</Классификатор>
<ПакетПредложений><Ид>c#</Ид><Предложения>
  <Предложение><Ид>o1</Ид><Наименование>x</Наименование><Статус>Удален</Статус></Предложение>
  <Предложение Статус="Удален"><Ид>o2</Ид></Предложение>
  <Предложение><Ид>o3</Ид><Наименование>живой</Наименование><ПометкаУдаления>false</ПометкаУдаления></Предложение>
</Предложения></ПакетПредложений>"""
    write(tmp_path, "all.xml", doc(body, version="2.05"))
    out = read_all(tmp_path)
    for entity in (Entity.GROUPS, Entity.PROPERTIES, Entity.PRICE_TYPES, Entity.WAREHOUSES):
        assert out[entity] and all(r.deleted for r in out[entity]), entity
    assert [(o.id, o.deleted) for o in out[Entity.OFFERS]] == [("o1", True), ("o2", True), ("o3", False)]


def test_bitrix_offers_file_with_its_own_property_classifier(tmp_path):
    body = """
<Классификатор><Ид>pp_c</Ид><Наименование>Пакет</Наименование><Свойства>
  <Свойство><Ид>COLOR</Ид><Наименование>Цвет</Наименование><ТипЗначений>Справочник</ТипЗначений>
    <ВариантыЗначений><Справочник><ИдЗначения>c1</ИдЗначения><Значение>Белый</Значение></Справочник></ВариантыЗначений>
  </Свойство></Свойства></Классификатор>
<ПакетПредложений><Ид>pp_c</Ид><ТипыЦен><ТипЦены><Ид>Отпускная цена</Ид><Наименование>Отпускная цена</Наименование>
  <Валюта>руб</Валюта></ТипЦены></ТипыЦен>
  <Предложения><Предложение><Ид>x#1</Ид><Наименование>Стол</Наименование>
    <ЗначенияСвойств><ЗначенияСвойства><Ид>COLOR</Ид><Значение>c1</Значение></ЗначенияСвойства>
      <ЗначенияСвойства><Ид>COLOR</Ид></ЗначенияСвойства></ЗначенияСвойств>
  </Предложение></Предложения></ПакетПредложений>"""
    write(tmp_path, "offers.xml", doc(body, version="2.05"))
    out = read_all(tmp_path)
    (prop,) = out[Entity.PROPERTIES]
    assert prop.for_offers  # a classifier inside an offers file describes offers
    (offer,) = out[Entity.OFFERS]
    assert [(v.property_id, v.value) for v in offer.properties] == [("COLOR", "Белый")]
    assert offer.characteristics == [("Цвет", "Белый")]
    (pt,) = out[Entity.PRICE_TYPES]
    assert pt.id == "Отпускная цена" and pt.currency == "RUB"


def test_dictionary_value_missing_from_upload_keeps_the_id(tmp_path):
    body = """
<Классификатор><Ид>c</Ид><Свойства><Свойство><Ид>p</Ид><Наименование>Цвет</Наименование>
  <ТипЗначений>Справочник</ТипЗначений></Свойство></Свойства></Классификатор>
<Каталог><Ид>c</Ид><Товары><Товар><Ид>g</Ид><ЗначенияСвойств><ЗначенияСвойства><Ид>p</Ид>
  <Значение>guid-not-here</Значение></ЗначенияСвойства></ЗначенияСвойств></Товар></Товары></Каталог>"""
    write(tmp_path, "import.xml", doc(body))
    (good,) = read_all(tmp_path)[Entity.GOODS]
    assert [(v.value, v.value_id) for v in good.properties] == [(None, "guid-not-here")]


# --------------------------------------------------------------------------- customers


CUSTOMERS = """
<Контрагенты СодержитТолькоИзменения="false">
  <Контрагент><Ид>c-legal</Ид><ПометкаУдаления>false</ПометкаУдаления><Наименование>Рога и копыта</Наименование>
    <ОфициальноеНаименование>ООО "Рога и копыта"</ОфициальноеНаименование><Роль>Покупатель</Роль>
    <ИНН>7707083893</ИНН><КПП>773601001</КПП><КодПоОКПО>00032537</КодПоОКПО>
    <ЮридическийАдрес><Представление>Москва, ул. Вавилова, 19</Представление>
      <АдресноеПоле><Тип>Город</Тип><Значение>Москва</Значение></АдресноеПоле></ЮридическийАдрес>
    <Контакты>
      <Контакт><Тип>Электронная почта</Тип><Значение>info@roga.ru</Значение></Контакт>
      <Контакт><Тип>Почта</Тип><Значение>Москва, а/я 1</Значение></Контакт>
      <Контакт><Тип>Телефон рабочий</Тип><Значение>+7 495 000-00-00</Значение><Комментарий>офис</Комментарий></Контакт>
    </Контакты>
    <Представители><Представитель><Отношение>Контактное лицо</Отношение><Ид>r1</Ид><Наименование>Иванов</Наименование>
    </Представитель></Представители>
  </Контрагент>
  <Контрагент><Ид>c-person</Ид><Наименование>Петров Петр</Наименование><ПолноеНаименование>Петров Петр Петрович
    </ПолноеНаименование><Фамилия>Петров</Фамилия><ИНН/><КПП/>
    <Представители><Представитель><Контрагент><Отношение>Контактное лицо</Отношение><Ид>r2</Ид>
      <Наименование>Петрова</Наименование></Контрагент></Представитель></Представители>
  </Контрагент>
  <Контрагент><Ид>c-unknown</Ид><Наименование>Кто-то</Наименование><ПометкаУдаления>true</ПометкаУдаления></Контрагент>
  <Контрагент><Наименование>Без Ид</Наименование></Контрагент>
</Контрагенты>
"""


def test_customers(tmp_path):
    write(tmp_path, "contragents.xml", doc(CUSTOMERS, version="2.09", ns=NS2))
    upload = discover_upload(tmp_path)
    assert upload.files[0].kind == FileKind.CUSTOMERS and upload.is_full(Entity.CUSTOMERS)
    out = read_all(tmp_path)
    legal, person, unknown = out[Entity.CUSTOMERS]
    assert legal.kind == "legal" and legal.official_name == 'ООО "Рога и копыта"'
    assert (legal.inn, legal.kpp, legal.okpo, legal.role) == (
        "7707083893",
        "773601001",
        "00032537",
        "Покупатель",
    )
    assert legal.emails == ["info@roga.ru"]  # never the "Почта" (postal) contact
    assert legal.phones == ["+7 495 000-00-00"]
    assert len(legal.contacts) == 3 and legal.contacts[2] == {
        "type": "Телефон рабочий",
        "value": "+7 495 000-00-00",
        "comment": "офис",
    }
    assert legal.addresses == [
        {
            "type": "ЮридическийАдрес",
            "presentation": "Москва, ул. Вавилова, 19",
            "fields": {"Город": "Москва"},
        }
    ]
    assert legal.representatives == [{"relation": "Контактное лицо", "id": "r1", "name": "Иванов"}]
    assert person.kind == "individual" and person.official_name == "Петров Петр Петрович"
    assert person.inn is None and person.kpp is None
    assert person.representatives == [{"relation": "Контактное лицо", "id": "r2", "name": "Петрова"}]
    assert unknown.kind is None and unknown.deleted
    (reject,) = out["rejects"]
    assert reject.entity == Entity.CUSTOMERS


def test_customers_roundtrip_through_the_writer(tmp_path):
    writer = pytest.importorskip("onec_pipeline.commerceml.writer")
    write(tmp_path / "in", "contragents.xml", doc(CUSTOMERS, version="2.09", ns=NS2))
    original = read_all(tmp_path / "in")[Entity.CUSTOMERS]
    writer.write_customers(tmp_path / "out" / "customers.xml", original)
    again = read_all(tmp_path / "out")[Entity.CUSTOMERS]
    strip = [
        (c.id, c.name, c.kind, c.inn, c.emails, c.phones, c.addresses, c.representatives) for c in original
    ]
    assert [
        (c.id, c.name, c.kind, c.inn, c.emails, c.phones, c.addresses, c.representatives) for c in again
    ] == strip


def test_order_party_contragents_are_not_customers(tmp_path):
    body = """<Документ><Ид>1</Ид><Контрагенты><Контрагент><Ид>buyer</Ид><Наименование>x</Наименование></Контрагент>
      </Контрагенты><Товары><Товар><Ид>p</Ид></Товар></Товары></Документ>"""
    write(tmp_path, "orders.xml", doc(body, version="2.05"))
    upload = discover_upload(tmp_path)
    assert upload.files == [] and [h.kind for h in upload.documents] == [FileKind.DOCUMENTS]
    records = list(read_upload(upload, set(Entity)))
    # the party is the order's customer, never a Customer record of its own
    assert [type(r).__name__ for r in records] == ["Order"]
    assert records[0].customer is not None and records[0].customer.id == "buyer"
    assert list(read_upload(upload, {Entity.CUSTOMERS})) == []


# --------------------------------------------------------------------------- encodings and formatting


def test_windows_1251_file(tmp_path):
    body = "<Каталог><Ид>c</Ид><Товары><Товар><Ид>p</Ид><Наименование>Сантехника «Люкс»</Наименование></Товар></Товары></Каталог>"
    write(tmp_path, "import.xml", doc(body, version="2.05", encoding="windows-1251"), encoding="cp1251")
    header = read_header(tmp_path / "import.xml")
    assert header.encoding == "windows-1251" and header.kind == FileKind.GOODS
    (good,) = read_all(tmp_path)[Entity.GOODS]
    assert good.name == "Сантехника «Люкс»"


def test_one_line_file_and_no_bom(tmp_path):
    groups = "".join(f"<Группа><Ид>g{i}</Ид><Наименование>n{i}</Наименование></Группа>" for i in range(50))
    goods = "".join(f"<Товар><Ид>p{i}</Ид><Группы><Ид>g{i % 50}</Ид></Группы></Товар>" for i in range(300))
    text = doc(
        f"<Классификатор><Ид>c</Ид><Группы>{groups}</Группы></Классификатор><Каталог><Ид>c</Ид><Товары>{goods}</Товары></Каталог>"
    )
    write(tmp_path, "import.xml", text.replace("\n", ""))
    out = read_all(tmp_path)
    assert len(out[Entity.GROUPS]) == 50 and len(out[Entity.GOODS]) == 300
    assert {g.source.line for g in out[Entity.GOODS]} == {1}


def test_non_commerceml_and_non_xml_files(tmp_path):
    write(tmp_path, "readme.xml", '<?xml version="1.0"?><html><body/></html>')
    write(tmp_path, "import_files/1.jpg", "x")
    upload = discover_upload(tmp_path)
    assert upload.files == [] and [h.path for h in upload.unknown] == ["readme.xml"]
    assert upload.other_files == 1 and upload.exported_at is None
    write(tmp_path, "notes.xml", "just text, not xml")  # named *.xml, not XML: never skipped in silence
    with pytest.raises(CommerceMLError, match="not XML") as info:
        discover_upload(tmp_path)
    assert info.value.file == "notes.xml" and info.value.line == 1


def test_exported_at_is_the_newest(tmp_path):
    write(
        tmp_path,
        "a.xml",
        doc(
            "<Каталог><Ид>c</Ид><Товары><Товар><Ид>1</Ид></Товар></Товары></Каталог>",
            date="2024-01-01T10:00:00",
        ),
    )
    write(
        tmp_path,
        "b.xml",
        doc(
            "<Каталог><Ид>c</Ид><Товары><Товар><Ид>2</Ид></Товар></Товары></Каталог>",
            date="2024-01-02T0:00:00",
        ),
    )
    assert discover_upload(tmp_path).exported_at == datetime(2024, 1, 2)


def test_header_peek_does_not_read_the_whole_file(tmp_path):
    """The peek stops after the first offers: a file broken far below them still has a header."""
    offers = "".join(
        f"<Предложение><Ид>o{i}</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу></Цена>"
        f"</Цены></Предложение>"
        for i in range(5000)
    )
    text = doc(
        f"<ПакетПредложений СодержитТолькоИзменения='true'><Ид>c#</Ид><Предложения>{offers}</Предложения></ПакетПредложений>"
    )
    write(tmp_path, "prices.xml", text.replace("</Предложения>", "</Broken>"))
    header = read_header(tmp_path / "prices.xml")
    assert header.kind == FileKind.PRICES and header.only_changes is True
    from onec_pipeline.commerceml import CommerceMLError

    with pytest.raises(CommerceMLError, match="prices.xml"):
        list(read_upload(discover_upload(tmp_path), {Entity.PRICES}))


def test_stats_seconds_exclude_the_consumer(classic, monkeypatch):
    """ReadStats.seconds is the reader's time: the consumer's time between records is not counted.

    A fake clock only advances while the consumer holds a record, so the reader's share is exactly 0."""
    import types

    import onec_pipeline.commerceml.reader.stream as reader_mod

    now = [0.0]
    monkeypatch.setattr(reader_mod, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    stats = ReadStats()
    for _record in read_upload(discover_upload(classic), set(Entity), stats):
        now[0] += 10.0  # the consumer is slow
    assert stats.records >= 10
    assert stats.seconds == 0.0


def test_classifier_entities_stop_reading_after_the_classifier(tmp_path):
    """Groups of a classic import.xml come from its Классификатор: the catalog after it is not parsed
    (proved by a catalog that is malformed: reading groups still succeeds, reading goods fails)."""
    from onec_pipeline.commerceml import CommerceMLError

    goods = "".join(f"<Товар><Ид>p{i}</Ид></Товар>" for i in range(PEEK_ENTITIES + 50))
    body = (
        "<Классификатор><Ид>c</Ид><Группы><Группа><Ид>g</Ид><Наименование>G</Наименование></Группа></Группы>"
        f"</Классификатор><Каталог><Ид>c</Ид><Товары>{goods}<Товар><Ид>bad</Ид></Товары></Каталог>"
    )
    write(tmp_path, "import.xml", doc(body))
    upload = discover_upload(tmp_path)
    assert [g.id for g in read_upload(upload, {Entity.GROUPS, Entity.PROPERTIES, Entity.UNITS})] == ["g"]
    with pytest.raises(CommerceMLError, match="malformed"):
        list(read_upload(upload, {Entity.GOODS}))


def test_nested_contragent_and_document_lists_are_not_entities(tmp_path):
    body = """
<Контрагенты><Контрагент><Ид>owner</Ид><Наименование>Владелец</Наименование>
  <Представители><Представитель><Контрагент><Отношение>Контактное лицо</Отношение><Ид>rep</Ид>
    <Наименование>Представитель</Наименование></Контрагент></Представитель></Представители></Контрагент>
</Контрагенты>
<Документ><Ид>1</Ид><Склады><Склад><Ид>w-doc</Ид></Склад></Склады><Товары><Товар><Ид>line</Ид></Товар></Товары></Документ>"""
    write(tmp_path, "mixed.xml", doc(body, version="2.09"))
    out = read_all(tmp_path)
    (owner,) = out[Entity.CUSTOMERS]
    assert owner.id == "owner" and owner.representatives == [
        {"relation": "Контактное лицо", "id": "rep", "name": "Представитель"}
    ]
    assert Entity.WAREHOUSES not in out and Entity.GOODS not in out


def test_declared_warehouses_mean_stock_even_when_the_first_offers_have_none(tmp_path):
    plain = "".join(
        f"<Предложение><Ид>o{i}</Ид><Наименование>n</Наименование><Количество>0</Количество></Предложение>"
        for i in range(100)
    )
    body = (
        "<ПакетПредложений><Ид>c#</Ид><Склады><Склад><Ид>w</Ид></Склад></Склады><Предложения>"
        f"{plain}<Предложение><Ид>late</Ид><Наименование>n</Наименование>"
        '<Склад ИдСклада="w" КоличествоНаСкладе="2"/></Предложение></Предложения></ПакетПредложений>'
    )
    write(tmp_path, "offers.xml", doc(body, version="2.07"))
    upload = discover_upload(tmp_path)
    assert upload.has(Entity.RESTS)
    assert [(s.offer_id, s.quantity) for s in read_upload(upload, {Entity.RESTS})] == [("late", Decimal(2))]
