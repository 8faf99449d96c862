"""Synthetic 1C:Enterprise CommerceML uploads for the demo, the benchmarks and tests.

Two layouts:

* ``"package"`` — a 1C:УТ 11 split package, CommerceML 2.09: ``import___<uuid>.xml`` (classifier: groups,
  properties, price types, warehouses, units + empty Каталог), ``import___`` goods, ``offers___`` offer
  classifier (empty ПакетПредложений, then Классификатор/Свойства of the variant axes), ``offers___`` offers,
  ``prices___`` and ``rests___`` (``Остатки/Остаток/Склад{Ид, Количество}``), plus ``contragents___`` when
  customers are requested. ``subfolders=True`` lays them out like the 3.1 zip (``goods/1/``, ``properties/1/``).
* ``"classic"`` — ``import.xml`` + ``offers.xml``, CommerceML 2.07, price types and warehouses inside the
  ПакетПредложений, prices, ``Количество`` and ``<Склад ИдСклада КоличествоНаСкладе/>`` inline.

Everything is derived from integers: the ``seed`` fixes the catalog (ids, names, structure) and ``version``
changes a deterministic share of prices and stock (``changed_share``), so two uploads with the same seed and
different versions overlap ids exactly. The files are written as formatted strings in chunks (never a tree),
so memory does not grow with the number of offers.

``generate_upload`` returns a list of paths that also carries ``.counts`` (exactly what was written);
``expected_counts`` computes the same numbers without writing anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

__all__ = [
    "ALL_SECTIONS",
    "GeneratedUpload",
    "SynthSpec",
    "expected_counts",
    "generate_demo_upload",
    "generate_upload",
    "offer_id",
    "price_type_ids",
    "product_id",
    "warehouse_ids",
]

ALL_SECTIONS = frozenset(
    {"classifier", "goods", "offer_classifier", "offers", "prices", "rests", "customers"}
)
DEFAULT_EXPORTED_AT = datetime(2026, 11, 20, 10, 15, 0)
_MASK64 = 0xFFFFFFFFFFFFFFFF
_CHUNK = 2000  # items per write() call

# -- deterministic integer helpers ----------------------------------------------------------------------


def _mix(x: int) -> int:
    """A cheap 64-bit integer hash (splitmix64 finaliser)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _guid_prefix(seed: int, kind: str) -> str:
    """24 characters ``xxxxxxxx-xxxx-4xxx-8xxx-`` fixed per (seed, kind); the index fills the last 12."""
    h = hashlib.sha256(f"onec-synth:{seed}:{kind}".encode()).hexdigest()
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-"


def _guid(prefix: str, i: int) -> str:
    return f"{prefix}{i:012x}"


def _share_hit(i: int, salt: int, share: float) -> bool:
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    return _mix(i * 1_000_003 + salt) % 1_000_000 < int(share * 1_000_000)


def _version_stamp(i: int, salt: int) -> str:
    """A НомерВерсии-like base64 token (8 bytes → 12 chars)."""
    return base64.b64encode(struct.pack(">Q", _mix(i * 31 + salt) & 0xFFFFFFFFFF)).decode()


# -- word lists -----------------------------------------------------------------------------------------

_GROUP_WORDS = [
    "Косметика и гигиена",
    "Бытовая химия",
    "Обувь",
    "Одежда",
    "Детские товары",
    "Бытовая техника",
    "Продукты",
    "Канцелярия",
    "Инструменты",
    "Сад и огород",
    "Посуда",
    "Текстиль",
    "Электроника",
    "Спорт и отдых",
    "Зоотовары",
    "Автотовары",
    "Освещение",
    "Мебель",
    "Игрушки",
    "Книги",
]
_KIND_WORDS = [
    "Шампунь",
    "Гель для душа",
    "Ботинки",
    "Куртка",
    "Чайник",
    "Лампа",
    "Кружка",
    "Тетрадь",
    "Отвёртка",
    "Полотенце",
    "Рюкзак",
    "Наушники",
    "Крем для лица",
    "Дезодорант",
    "Сковорода",
    "Футболка",
    "Перчатки",
    "Фонарь",
    "Зонт",
    "Носки",
]
_BRANDS = [
    "Чистая линия",
    "Черный жемчуг",
    "Stroyka",
    "Уют",
    "Северянка",
    "Nordic",
    "Ромашка",
    "Atlant",
    "Гранд",
    "Вектор",
    "Заря",
    "Prima",
    "Сокол",
    "Радуга",
    "Orion",
    "Лидер",
]
_MATERIALS = ["Пластик", "Металл", "Стекло", "Хлопок", "Дерево", "Кожа", "Керамика", "Резина"]
_COUNTRIES = ["Россия", "Китай", "Беларусь", "Германия", "Турция", "Италия"]
_COLORS = ["Белый", "Черный", "Красный", "Синий", "Зеленый", "Серый", "Бежевый", "Коричневый"]
_SIZES = ["XS", "S", "M", "L", "XL", "XXL", "38", "39", "40", "41", "42", "43"]
_PRICE_TYPE_NAMES = [
    "Розничная",
    "Оптовая",
    "Типовое соглашение Интернет-МХТ",
    "Закупочная",
    "Мелкооптовая",
    "Дилерская",
    "Акционная",
    "VIP",
]
_WAREHOUSE_NAMES = [
    "Оптовый",
    "Главный склад",
    'Магазин "Обувь"',
    'Магазин "Продукты"',
    "Склад Воронеж",
    "Склад Тула",
    "Склад Казань",
    "Транзитный",
]
_TAX_RATES = ["20", "20", "20", "10", "0", "Без налога"]
_UNITS = [  # (id suffix index, short name, OKEI code, full name, international)
    ("шт", "796", "Штука", "PCE"),
    ("упа", "778", "Упаковка", ""),
    ("кг", "166", "Килограмм", "KGM"),
]
_CITIES = ["Москва", "Санкт-Петербург", "Казань", "Воронеж", "Тула", "Екатеринбург", "Новосибирск"]
_STREETS = ["Ленина", "Тверская", "Садовая", "Дмитровское шоссе", "Пушкина", "Мира", "Гагарина"]
_LAST = ["Иванов", "Петров", "Сидоров", "Коновалов", "Смирнов", "Кузнецов", "Попов", "Волков"]
_FIRST = ["Александр", "Сергей", "Андрей", "Дмитрий", "Алексей", "Михаил", "Иван", "Николай"]
_MIDDLE = ["Александрович", "Сергеевич", "Зиновьевич", "Петрович", "Иванович", "Николаевич"]
_COMPANY = ["Ромашка", "Вектор", "Уют", "ТД Альянс", "Гранит", "Северный ветер", "Меридиан", "Алтай"]
_LEGAL_FORMS = [("ООО", "Общество с ограниченной ответственностью"), ("АО", "Акционерное общество")]


# -- the spec -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthSpec:
    """Every parameter of one synthetic upload, with derived sizes."""

    offers: int = 1000
    goods: int | None = None
    groups: int | None = None
    price_types: int = 3
    warehouses: int = 5
    customers: int = 0
    layout: str = "package"
    seed: int = 0
    version: int = 0
    changed_share: float = 0.1
    exported_at: datetime = DEFAULT_EXPORTED_AT
    only_changes: bool = True
    deleted_share: float = 0.0
    sections: frozenset[str] = ALL_SECTIONS
    encoding: str = "utf-8"
    bom: bool = True
    files_per_kind: int = 1
    subfolders: bool = False

    def __post_init__(self) -> None:
        if self.layout not in ("package", "classic"):
            raise ValueError(f"layout must be 'package' or 'classic', not {self.layout!r}")
        if self.offers < 0 or self.price_types < 0 or self.warehouses < 0 or self.customers < 0:
            raise ValueError("sizes must be >= 0")
        if self.files_per_kind < 1:
            raise ValueError("files_per_kind must be >= 1")
        unknown = set(self.sections) - ALL_SECTIONS
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; known: {sorted(ALL_SECTIONS)}")

    @property
    def n_goods(self) -> int:
        if self.goods is not None:
            return self.goods
        return max(1, self.offers // 4) if self.offers else 0

    @property
    def n_groups(self) -> int:
        if self.groups is not None:
            return self.groups
        return min(2000, max(8, self.n_goods // 50))

    def has(self, section: str) -> bool:
        if section == "customers":
            return "customers" in self.sections and self.customers > 0
        return section in self.sections


class GeneratedUpload(list):
    """``list[Path]`` of the written files, with ``.counts`` (what was written) and ``.spec``."""

    counts: dict[str, int]
    spec: SynthSpec


# -- id helpers (public so that tests can predict ids) --------------------------------------------------


@dataclass(frozen=True)
class _Ids:
    catalog: str
    product: str
    characteristic: str
    group: str
    price_type: str
    warehouse: str
    prop: str
    value: str
    unit: str
    customer: str
    person: str
    image: str
    file: str

    @classmethod
    def for_seed(cls, seed: int) -> _Ids:
        return cls(**{name: _guid_prefix(seed, name) for name in cls.__dataclass_fields__})


def product_id(index: int, *, seed: int = 0) -> str:
    return _guid(_guid_prefix(seed, "product"), index)


def offer_id(index: int, *, goods: int, seed: int = 0) -> str:
    """Id of offer ``index`` in an upload with ``goods`` products (see the layout rules in ``_offer_key``)."""
    ids = _Ids.for_seed(seed)
    p, plain = _offer_key(index, goods)
    pid = _guid(ids.product, p)
    return pid if plain else f"{pid}#{_guid(ids.characteristic, index)}"


def price_type_ids(n: int, *, seed: int = 0) -> list[str]:
    prefix = _guid_prefix(seed, "price_type")
    return [_guid(prefix, t) for t in range(n)]


def warehouse_ids(n: int, *, seed: int = 0) -> list[str]:
    prefix = _guid_prefix(seed, "warehouse")
    return [_guid(prefix, w) for w in range(n)]


def _offer_key(i: int, goods: int) -> tuple[int, bool]:
    """Offer ``i`` belongs to product ``i % goods``; the first offer of every 8th product is plain."""
    p = i % goods
    return p, (i < goods and p % 8 == 0)


# -- value generators -----------------------------------------------------------------------------------


def _ean13(n: int) -> str:
    body = f"20{n % 10**10:010d}"
    s = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
    return body + str((10 - s % 10) % 10)


def _price_cents(i: int, t: int, spec: SynthSpec) -> int:
    base = 5_000 + _mix(i * 16 + t) % 9_995_000  # 50.00 .. 100 000.00
    if t % 4 == 0:
        base -= base % 100  # retail prices are whole roubles
    if spec.version and _share_hit(i, 77, spec.changed_share):
        base += base * spec.version // 20 + spec.version * 100
    return base


def _fmt_cents(c: int) -> str:
    rub, kop = divmod(c, 100)
    return f"{rub}" if kop == 0 else f"{rub}.{kop:02d}"


def _presentation(c: int, currency: str, unit: str) -> str:
    rub = c // 100
    grouped = f"{rub:,}".replace(",", "\u00a0")
    return f" {grouped} {currency} за {unit}"


def _quantity(i: int, w: int, spec: SynthSpec) -> str:
    h = _mix(i * 64 + w + 1_000_000_007)
    r = h % 100
    if spec.version and _share_hit(i, 91, spec.changed_share):
        r = (r + spec.version * 37) % 100
        h += spec.version
    if r < 40:
        return "0"
    if r < 42:
        return f"-{h % 70 + 1}"
    if r < 48:
        return f"{h % 300}.{(h >> 16) % 1000:03d}"
    return str((h >> 8) % 500 + 1)


def _inn10(n: int) -> str:
    d = [int(c) for c in f"77{n % 10**7:07d}"]
    w = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    c = sum(a * b for a, b in zip(d, w, strict=True)) % 11 % 10
    return "".join(map(str, d)) + str(c)


def _inn12(n: int) -> str:
    d = [int(c) for c in f"50{n % 10**8:08d}"]
    w11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    d.append(sum(a * b for a, b in zip(d, w11, strict=True)) % 11 % 10)
    w12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    d.append(sum(a * b for a, b in zip(d, w12, strict=True)) % 11 % 10)
    return "".join(map(str, d))


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- file writing ---------------------------------------------------------------------------------------


class _Writer:
    """Buffered text writer: collect strings, hand them to the file in chunks."""

    def __init__(self, path: Path, spec: SynthSpec) -> None:
        enc = spec.encoding.lower()
        py_enc = "cp1251" if enc in ("windows-1251", "cp1251") else enc
        if py_enc in ("utf-8", "utf8") and spec.bom:
            py_enc = "utf-8-sig"
        self.declared = "windows-1251" if py_enc == "cp1251" else spec.encoding.upper()
        self.f = open(path, "w", encoding=py_enc, newline="\n", errors="xmlcharrefreplace")  # noqa: SIM115
        self.buf: list[str] = []

    def add(self, s: str) -> None:
        self.buf.append(s)

    def flush(self) -> None:
        if self.buf:
            self.f.write("".join(self.buf))
            self.buf.clear()

    def close(self) -> None:
        self.flush()
        self.f.close()


def _root_open(w: _Writer, spec: SynthSpec, version: str, when: datetime) -> None:
    w.add(
        f'<?xml version="1.0" encoding="{w.declared}"?>\n'
        '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ВерсияСхемы="{version}" '
        f'ДатаФормирования="{when.strftime("%Y-%m-%dT%H:%M:%S")}"{" Ид=" + chr(34) * 2 if version == "2.09" else ""}>\n'
    )


def _oc(spec: SynthSpec) -> str:
    return "true" if spec.only_changes else "false"


def _catalog_name(spec: SynthSpec) -> str:
    return f"Каталог товаров (синтетический, seed {spec.seed})"


def _package_head(w: _Writer, spec: SynthSpec, ids: _Ids, close: bool = False) -> None:
    cat = _guid(ids.catalog, 0)
    w.add(
        f'\t<ПакетПредложений СодержитТолькоИзменения="{_oc(spec)}">\n'
        f"\t\t<Ид>{cat}#</Ид>\n"
        f"\t\t<Наименование>Пакет предложений ({_catalog_name(spec)})</Наименование>\n"
        f"\t\t<ИдКаталога>{cat}</ИдКаталога>\n"
        f"\t\t<ИдКлассификатора>{cat}</ИдКлассификатора>\n"
    )
    if close:
        w.add("\t</ПакетПредложений>\n")


def _groups_xml(w: _Writer, spec: SynthSpec, ids: _Ids) -> None:
    """Nested groups: 3 roots, then group j hangs under group (j - 3) // 4 (a 4-ary tree)."""
    n = spec.n_groups
    if n == 0:
        return
    children: dict[int, list[int]] = {}
    for j in range(3, n):
        children.setdefault((j - 3) // 4, []).append(j)

    def emit(j: int, depth: int) -> None:
        ind = "\t" * depth
        deleted = "true" if _share_hit(j, 5, spec.deleted_share) else "false"
        name = _GROUP_WORDS[j % len(_GROUP_WORDS)] + ("" if j < len(_GROUP_WORDS) else f" {j}")
        w.add(
            f"{ind}<Группа>\n{ind}\t<Ид>{_guid(ids.group, j)}</Ид>\n"
            f"{ind}\t<НомерВерсии>{_version_stamp(j, 1)}</НомерВерсии>\n"
            f"{ind}\t<ПометкаУдаления>{deleted}</ПометкаУдаления>\n"
            f"{ind}\t<Наименование>{_esc(name)}</Наименование>\n"
        )
        kids = children.get(j)
        if kids:
            w.add(f"{ind}\t<Группы>\n")
            for k in kids:
                emit(k, depth + 2)
            w.add(f"{ind}\t</Группы>\n")
        w.add(f"{ind}</Группа>\n")

    # iterative over roots; recursion depth is log4(n) (≤ 8 for 2000 groups)
    w.add("\t\t<Группы>\n")
    for root in range(min(3, n)):
        emit(root, 3)
    w.add("\t\t</Группы>\n")


# product properties: (index, name, type, variants or None)
_PRODUCT_PROPS = [
    (0, "Бренд", "Справочник", _BRANDS),
    (1, "Материал", "Справочник", _MATERIALS),
    (2, "Вес, кг", "Число", None),
    (3, "Страна производства", "Строка", None),
    (4, "Подарочная упаковка", "Справочник", ["Да", "Нет"]),
]
_OFFER_PROPS = [(10, "Цвет", "Справочник", _COLORS), (11, "Размер", "Справочник", _SIZES)]


def _value_id(ids: _Ids, prop: int, k: int) -> str:
    return _guid(ids.value, prop * 1000 + k)


def _properties_xml(w: _Writer, ids: _Ids, props, for_offers: bool, with_versions: bool) -> None:
    w.add("\t\t<Свойства>\n")
    for idx, name, vtype, variants in props:
        w.add(f"\t\t\t<Свойство>\n\t\t\t\t<Ид>{_guid(ids.prop, idx)}</Ид>\n")
        if with_versions:
            w.add(
                f"\t\t\t\t<НомерВерсии>{_version_stamp(idx, 2)}</НомерВерсии>\n"
                "\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            )
        w.add(
            f"\t\t\t\t<Наименование>{name}</Наименование>\n\t\t\t\t<Внешний>false</Внешний>\n"
            f"\t\t\t\t<ТипЗначений>{vtype}</ТипЗначений>\n"
        )
        if variants:
            w.add("\t\t\t\t<ВариантыЗначений>\n")
            for k, value in enumerate(variants):
                w.add(
                    f"\t\t\t\t\t<Справочник>\n\t\t\t\t\t\t<ИдЗначения>{_value_id(ids, idx, k)}</ИдЗначения>\n"
                    f"\t\t\t\t\t\t<Значение>{value}</Значение>\n\t\t\t\t\t</Справочник>\n"
                )
            w.add("\t\t\t\t</ВариантыЗначений>\n")
        w.add(
            f"\t\t\t\t<ДляТоваров>{'false' if for_offers else 'true'}</ДляТоваров>\n"
            f"\t\t\t\t<ДляПредложений>{'true' if for_offers else 'false'}</ДляПредложений>\n"
            "\t\t\t</Свойство>\n"
        )
    w.add("\t\t</Свойства>\n")


def _price_types_xml(w: _Writer, spec: SynthSpec, ids: _Ids, ind: str, with_versions: bool) -> None:
    if not spec.price_types:
        return
    w.add(f"{ind}<ТипыЦен>\n")
    for t in range(spec.price_types):
        name = _PRICE_TYPE_NAMES[t % len(_PRICE_TYPE_NAMES)] + ("" if t < len(_PRICE_TYPE_NAMES) else f" {t}")
        w.add(f"{ind}\t<ТипЦены>\n{ind}\t\t<Ид>{_guid(ids.price_type, t)}</Ид>\n")
        if with_versions:
            w.add(
                f"{ind}\t\t<НомерВерсии>{_version_stamp(t, 3)}</НомерВерсии>\n"
                f"{ind}\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            )
        w.add(
            f"{ind}\t\t<Наименование>{_esc(name)}</Наименование>\n{ind}\t\t<Валюта>RUB</Валюта>\n"
            f"{ind}\t\t<Налог>\n{ind}\t\t\t<Наименование>НДС</Наименование>\n"
            f"{ind}\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n{ind}\t\t</Налог>\n{ind}\t</ТипЦены>\n"
        )
    w.add(f"{ind}</ТипыЦен>\n")


def _warehouses_xml(w: _Writer, spec: SynthSpec, ids: _Ids, ind: str, with_versions: bool) -> None:
    if not spec.warehouses:
        return
    w.add(f"{ind}<Склады>\n")
    for k in range(spec.warehouses):
        name = _WAREHOUSE_NAMES[k % len(_WAREHOUSE_NAMES)] + ("" if k < len(_WAREHOUSE_NAMES) else f" {k}")
        city = _CITIES[k % len(_CITIES)]
        w.add(f"{ind}\t<Склад>\n{ind}\t\t<Ид>{_guid(ids.warehouse, k)}</Ид>\n")
        if with_versions:
            w.add(
                f"{ind}\t\t<НомерВерсии>{_version_stamp(k, 4)}</НомерВерсии>\n"
                f"{ind}\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            )
        w.add(
            f"{ind}\t\t<Наименование>{_esc(name)}</Наименование>\n"
            f"{ind}\t\t<Адрес>\n{ind}\t\t\t<Представление>РОССИЯ, {city}, {_STREETS[k % len(_STREETS)]}, "
            f"{k + 1}</Представление>\n"
            f"{ind}\t\t\t<АдресноеПоле>\n{ind}\t\t\t\t<Тип>Город</Тип>\n{ind}\t\t\t\t<Значение>{city}</Значение>\n"
            f"{ind}\t\t\t</АдресноеПоле>\n{ind}\t\t</Адрес>\n{ind}\t</Склад>\n"
        )
    w.add(f"{ind}</Склады>\n")


def _units_xml(w: _Writer, ids: _Ids) -> None:
    w.add("\t\t<ЕдиницыИзмерения>\n")
    for k, (short, code, full, intl) in enumerate(_UNITS):
        intl_xml = (
            f"<МеждународноеСокращение>{intl}</МеждународноеСокращение>"
            if intl
            else ("<МеждународноеСокращение/>")
        )
        w.add(
            f"\t\t\t<ЕдиницаИзмерения>\n\t\t\t\t<Ид>{_guid(ids.unit, k)}</Ид>\n"
            f"\t\t\t\t<НомерВерсии>{_version_stamp(k, 6)}</НомерВерсии>\n"
            "\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n"
            f"\t\t\t\t<НаименованиеКраткое>{short}</НаименованиеКраткое>\n\t\t\t\t<Код>{code}</Код>\n"
            f"\t\t\t\t<НаименованиеПолное>{full}</НаименованиеПолное>\n\t\t\t\t{intl_xml}\n"
            "\t\t\t</ЕдиницаИзмерения>\n"
        )
    w.add("\t\t</ЕдиницыИзмерения>\n")


def _classifier_open(w: _Writer, spec: SynthSpec, ids: _Ids, attr: bool = True) -> None:
    oc = f' СодержитТолькоИзменения="{_oc(spec)}"' if attr else ""
    w.add(
        f"\t<Классификатор{oc}>\n\t\t<Ид>{_guid(ids.catalog, 0)}</Ид>\n"
        f"\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n"
        f"\t\t<Владелец>\n\t\t\t<Ид>{_guid(ids.customer, 10**9)}</Ид>\n"
        "\t\t\t<Наименование>Стройснаб</Наименование>\n"
        f"\t\t\t<ИНН>{_inn10(spec.seed)}</ИНН>\n\t\t\t<КПП>772301001</КПП>\n\t\t</Владелец>\n"
    )


def _product_xml(p: int, spec: SynthSpec, ids: _Ids, versions: bool) -> str:
    h = _mix(p * 7 + 3)
    brand_k = h % len(_BRANDS)
    kind = _KIND_WORDS[(h >> 8) % len(_KIND_WORDS)]
    name = f"{kind} {_BRANDS[brand_k]} модель {p}"
    pid = _guid(ids.product, p)
    n_groups = spec.n_groups
    deleted = _share_hit(p, 11, spec.deleted_share)
    status = ' Статус="Удален"' if deleted and not versions else ""
    parts = [f"\t\t\t<Товар{status}>\n\t\t\t\t<Ид>{pid}</Ид>\n"]
    if versions:
        parts.append(
            f"\t\t\t\t<НомерВерсии>{_version_stamp(p, 7)}</НомерВерсии>\n"
            f"\t\t\t\t<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
        )
    barcode = (
        f"\t\t\t\t<Штрихкод>{_ean13(p + spec.seed * 7919)}</Штрихкод>\n" if h % 5 else "\t\t\t\t<Штрихкод/>\n"
    )
    article = f"Б- {p:06d}" if h % 11 == 0 else f"{kind[:2].upper()}-{p:06d}"
    parts.append(
        f"{barcode}\t\t\t\t<Артикул>{article}</Артикул>\n\t\t\t\t<Наименование>{_esc(name)}</Наименование>\n"
        '\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт'
        "</БазоваяЕдиница>\n"
    )
    if n_groups:
        g1 = (h >> 16) % n_groups
        parts.append(f"\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{_guid(ids.group, g1)}</Ид>\n")
        if h % 17 == 0 and n_groups > 1:
            parts.append(f"\t\t\t\t\t<Ид>{_guid(ids.group, (g1 + 1) % n_groups)}</Ид>\n")
        parts.append("\t\t\t\t</Группы>\n")
    if h % 3 == 0:
        parts.append(
            "\t\t\t\t<Описание>&lt;p&gt;Описание товара &lt;b&gt;"
            + _esc(name)
            + "&lt;/b&gt;&lt;/p&gt;</Описание>\n"
        )
    else:
        parts.append("\t\t\t\t<Описание/>\n")
    if h % 4:
        parts.append(f"\t\t\t\t<Картинка>import_files/{pid[:2]}/{pid}_{_guid(ids.image, p)}.jpg</Картинка>\n")
    weight = f"{(h >> 20) % 5000 / 1000:.3f}"
    country = _COUNTRIES[(h >> 24) % len(_COUNTRIES)]
    gift = (
        f"\t\t\t\t\t\t<Значение>{_value_id(ids, 4, (h >> 28) % 2)}</Значение>\n"
        if h % 6
        else "\t\t\t\t\t\t<Значение/>\n"
    )
    parts.append(
        "\t\t\t\t<ЗначенияСвойств>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{_guid(ids.prop, 0)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{_value_id(ids, 0, brand_k)}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{_guid(ids.prop, 1)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{_value_id(ids, 1, (h >> 12) % len(_MATERIALS))}</Значение>\n"
        "\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{_guid(ids.prop, 2)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{weight}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{_guid(ids.prop, 3)}</Ид>\n"
        f"\t\t\t\t\t\t<Значение>{country}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
        f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{_guid(ids.prop, 4)}</Ид>\n"
        f"{gift}\t\t\t\t\t</ЗначенияСвойства>\n"
        "\t\t\t\t</ЗначенияСвойств>\n"
        "\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС</Наименование>\n"
        f"\t\t\t\t\t\t<Ставка>{_TAX_RATES[(h >> 32) % len(_TAX_RATES)]}</Ставка>\n"
        "\t\t\t\t\t</СтавкаНалога>\n\t\t\t\t</СтавкиНалогов>\n"
        "\t\t\t\t<ЗначенияРеквизитов>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n"
        f"\t\t\t\t\t\t<Значение>{kind}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ТипНоменклатуры</Наименование>\n"
        "\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>Полное наименование</Наименование>\n"
        f"\t\t\t\t\t\t<Значение>{_esc(name)}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
        "\t\t\t\t</ЗначенияРеквизитов>\n"
    )
    parts.append("\t\t\t</Товар>\n")
    return "".join(parts)


def _offer_parts(i: int, spec: SynthSpec, ids: _Ids) -> tuple[str, str, bool, int]:
    """(offer id, display name, plain, hash) of offer ``i``."""
    goods = spec.n_goods
    p, plain = _offer_key(i, goods)
    pid = _guid(ids.product, p)
    oid = pid if plain else f"{pid}#{_guid(ids.characteristic, i)}"
    return oid, pid, plain, _mix(i * 13 + 5)


def _offer_body_xml(i: int, spec: SynthSpec, ids: _Ids, ind: str, versions: bool) -> tuple[str, str]:
    """(id, the definition children of Предложение: versions, name, barcode, characteristics)."""
    oid, _pid, plain, h = _offer_parts(i, spec, ids)
    p = i % spec.n_goods
    hp = _mix(p * 7 + 3)
    base_name = f"{_KIND_WORDS[(hp >> 8) % len(_KIND_WORDS)]} {_BRANDS[hp % len(_BRANDS)]} модель {p}"
    deleted = _share_hit(i, 13, spec.deleted_share)
    parts = [f"{ind}<Ид>{oid}</Ид>\n"]
    if versions:
        parts.append(
            f"{ind}<НомерВерсии>{_version_stamp(i, 8)}</НомерВерсии>\n"
            f"{ind}<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
        )
    if plain:
        parts.append(f"{ind}<Наименование>{_esc(base_name)}</Наименование>\n")
    else:
        color_k = h % len(_COLORS)
        size_k = (h >> 8) % len(_SIZES)
        color, size = _COLORS[color_k], _SIZES[size_k]
        parts.append(
            f"{ind}<Штрихкод>{_ean13(10**9 + i + spec.seed * 7919)}</Штрихкод>\n"
            f"{ind}<Наименование>{_esc(base_name)} ({color}, {size})</Наименование>\n"
            f"{ind}<ХарактеристикиТовара>\n"
            f"{ind}\t<ХарактеристикаТовара>\n{ind}\t\t<Наименование>Цвет</Наименование>\n"
            f"{ind}\t\t<Значение>{color}</Значение>\n{ind}\t</ХарактеристикаТовара>\n"
            f"{ind}\t<ХарактеристикаТовара>\n{ind}\t\t<Наименование>Размер</Наименование>\n"
            f"{ind}\t\t<Значение>{size}</Значение>\n{ind}\t</ХарактеристикаТовара>\n"
            f"{ind}</ХарактеристикиТовара>\n"
        )
        if versions:  # 2.09 packages also give the variant axes as property values
            parts.append(
                f"{ind}<ЗначенияСвойств>\n"
                f"{ind}\t<ЗначенияСвойства>\n{ind}\t\t<Ид>{_guid(ids.prop, 10)}</Ид>\n"
                f"{ind}\t\t<Значение>{_value_id(ids, 10, color_k)}</Значение>\n{ind}\t</ЗначенияСвойства>\n"
                f"{ind}\t<ЗначенияСвойства>\n{ind}\t\t<Ид>{_guid(ids.prop, 11)}</Ид>\n"
                f"{ind}\t\t<Значение>{_value_id(ids, 11, size_k)}</Значение>\n{ind}\t</ЗначенияСвойства>\n"
                f"{ind}</ЗначенияСвойств>\n"
            )
    if not versions and deleted:
        parts.append(f"{ind}<Статус>Удален</Статус>\n")
    return oid, "".join(parts)


def _prices_xml(i: int, spec: SynthSpec, ids: _Ids, ind: str, pt_ids: list[str]) -> str:
    parts = [f"{ind}<Цены>\n"]
    for t, ptid in enumerate(pt_ids):
        c = _price_cents(i, t, spec)
        cur = "руб" if (i + t) % 3 == 0 else "RUB"
        parts.append(
            f"{ind}\t<Цена>\n{ind}\t\t<Представление>{_presentation(c, cur, 'шт')}</Представление>\n"
            f"{ind}\t\t<ИдТипаЦены>{ptid}</ИдТипаЦены>\n{ind}\t\t<ЦенаЗаЕдиницу>{_fmt_cents(c)}</ЦенаЗаЕдиницу>\n"
            f"{ind}\t\t<Валюта>{cur}</Валюта>\n{ind}\t\t<Единица>шт</Единица>\n"
            f"{ind}\t\t<Коэффициент>1</Коэффициент>\n{ind}\t</Цена>\n"
        )
    parts.append(f"{ind}</Цены>\n")
    return "".join(parts)


# -- per-file jobs (top level so that they can run in worker processes) ---------------------------------


def _job_classifier(spec: SynthSpec, path: Path, when: datetime) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    _classifier_open(w, spec, ids)
    _groups_xml(w, spec, ids)
    _properties_xml(w, ids, _PRODUCT_PROPS, for_offers=False, with_versions=True)
    _price_types_xml(w, spec, ids, "\t\t", with_versions=True)
    _warehouses_xml(w, spec, ids, "\t\t", with_versions=True)
    _units_xml(w, ids)
    cat = _guid(ids.catalog, 0)
    w.add(
        f'\t</Классификатор>\n\t<Каталог СодержитТолькоИзменения="{_oc(spec)}">\n\t\t<Ид>{cat}</Ид>\n'
        f"\t\t<ИдКлассификатора>{cat}</ИдКлассификатора>\n\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n"
        "\t</Каталог>\n</КоммерческаяИнформация>\n"
    )
    w.close()


def _job_goods(spec: SynthSpec, path: Path, when: datetime, lo: int, hi: int) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    cat = _guid(ids.catalog, 0)
    w.add(
        f'\t<Каталог СодержитТолькоИзменения="{_oc(spec)}">\n\t\t<Ид>{cat}</Ид>\n'
        f"\t\t<ИдКлассификатора>{cat}</ИдКлассификатора>\n\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n"
        "\t\t<Товары>\n"
    )
    for p in range(lo, hi):
        w.add(_product_xml(p, spec, ids, versions=True))
        if (p - lo) % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n")
    w.close()


def _job_offer_classifier(spec: SynthSpec, path: Path, when: datetime) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    _package_head(w, spec, ids, close=True)
    cat = _guid(ids.catalog, 0)
    w.add(
        f'\t<Классификатор СодержитТолькоИзменения="{_oc(spec)}">\n\t\t<Ид>{cat}</Ид>\n'
        f"\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n"
    )
    _properties_xml(w, ids, _OFFER_PROPS, for_offers=True, with_versions=True)
    w.add("\t</Классификатор>\n</КоммерческаяИнформация>\n")
    w.close()


def _job_offers(spec: SynthSpec, path: Path, when: datetime, lo: int, hi: int) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    _package_head(w, spec, ids)
    w.add("\t\t<Предложения>\n")
    for i in range(lo, hi):
        _oid, body = _offer_body_xml(i, spec, ids, "\t\t\t\t", versions=True)
        w.add("\t\t\t<Предложение>\n")
        w.add(body)
        w.add("\t\t\t</Предложение>\n")
        if (i - lo) % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    w.close()


def _job_prices(spec: SynthSpec, path: Path, when: datetime, lo: int, hi: int) -> None:
    ids = _Ids.for_seed(spec.seed)
    pt_ids = [_guid(ids.price_type, t) for t in range(spec.price_types)]
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    _package_head(w, spec, ids)
    w.add("\t\t<Предложения>\n")
    for i in range(lo, hi):
        oid = _offer_parts(i, spec, ids)[0]
        w.add(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{oid}</Ид>\n")
        w.add(_prices_xml(i, spec, ids, "\t\t\t\t", pt_ids))
        w.add("\t\t\t</Предложение>\n")
        if (i - lo) % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    w.close()


def _job_rests(spec: SynthSpec, path: Path, when: datetime, lo: int, hi: int) -> None:
    ids = _Ids.for_seed(spec.seed)
    heads = [
        f"\t\t\t\t\t<Остаток>\n\t\t\t\t\t\t<Склад>\n\t\t\t\t\t\t\t<Ид>{_guid(ids.warehouse, k)}</Ид>\n"
        "\t\t\t\t\t\t\t<Количество>"
        for k in range(spec.warehouses)
    ]
    tail = "</Количество>\n\t\t\t\t\t\t</Склад>\n\t\t\t\t\t</Остаток>\n"
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    _package_head(w, spec, ids)
    w.add("\t\t<Предложения>\n")
    add = w.add
    for i in range(lo, hi):
        oid = _offer_parts(i, spec, ids)[0]
        add(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{oid}</Ид>\n\t\t\t\t<Остатки>\n")
        for k, head in enumerate(heads):
            add(head)
            add(_quantity(i, k, spec))
            add(tail)
        add("\t\t\t\t</Остатки>\n\t\t\t</Предложение>\n")
        if (i - lo) % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    w.close()


def _customer_xml(c: int, spec: SynthSpec, ids: _Ids) -> str:
    h = _mix(c * 101 + 17)
    cid = _guid(ids.customer, c)
    city = _CITIES[h % len(_CITIES)]
    street = _STREETS[(h >> 4) % len(_STREETS)]
    house = (h >> 8) % 150 + 1
    zipcode = f"{100000 + (h >> 12) % 800000:06d}"
    deleted = _share_hit(c, 19, spec.deleted_share)
    legal = c % 3 != 2
    parts = [
        f"\t\t<Контрагент>\n\t\t\t<Ид>{cid}</Ид>\n\t\t\t<НомерВерсии>{_version_stamp(c, 9)}</НомерВерсии>\n"
        f"\t\t\t<ПометкаУдаления>{'true' if deleted else 'false'}</ПометкаУдаления>\n"
    ]
    if legal:
        form, form_full = _LEGAL_FORMS[c % 2]
        company = _COMPANY[(h >> 16) % len(_COMPANY)]
        inn = _inn10(c * 7 + spec.seed)
        parts.append(
            f'\t\t\t<Наименование>{form} "{company} {c}"</Наименование>\n'
            f'\t\t\t<ОфициальноеНаименование>{form_full} "{company} {c}"</ОфициальноеНаименование>\n'
            "\t\t\t<Роль>Покупатель</Роль>\n"
            f"\t\t\t<ИНН>{inn}</ИНН>\n\t\t\t<КПП>{inn[:4]}01001</КПП>\n"
            f"\t\t\t<КодПоОКПО>{(h >> 20) % 10**8:08d}</КодПоОКПО>\n"
        )
        addr_tag = "ЮридическийАдрес"
        email = f"info{c}@{company.lower().replace(' ', '-')}.example.ru".encode("ascii", "ignore").decode()
        if email.startswith("info") and "@." in email:
            email = f"info{c}@company{c}.example.ru"
    else:
        last = _LAST[h % len(_LAST)]
        first = _FIRST[(h >> 3) % len(_FIRST)]
        middle = _MIDDLE[(h >> 6) % len(_MIDDLE)]
        inn = _inn12(c * 13 + spec.seed)
        inn_xml = f"\t\t\t<ИНН>{inn}</ИНН>\n" if h % 2 else "\t\t\t<ИНН/>\n"
        parts.append(
            f"\t\t\t<Наименование>{last} {first} {middle}</Наименование>\n"
            f"\t\t\t<ПолноеНаименование>{last} {first} {middle}</ПолноеНаименование>\n"
            f"\t\t\t<Фамилия>{last}</Фамилия>\n\t\t\t<Имя>{first}</Имя>\n\t\t\t<Отчество>{middle}</Отчество>\n"
            f"\t\t\t<Роль>Покупатель</Роль>\n{inn_xml}\t\t\t<КПП/>\n"
        )
        addr_tag = "АдресРегистрации"
        email = f"client{c}@mail.example.ru"
    parts.append(
        f"\t\t\t<{addr_tag}>\n\t\t\t\t<Представление>{zipcode}, {city}, ул. {street}, дом № {house}</Представление>\n"
        f"\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>Почтовый индекс</Тип>\n\t\t\t\t\t<Значение>{zipcode}</Значение>\n"
        "\t\t\t\t</АдресноеПоле>\n"
        "\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>Страна</Тип>\n\t\t\t\t\t<Значение>РОССИЯ</Значение>\n"
        "\t\t\t\t</АдресноеПоле>\n"
        f"\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>Город</Тип>\n\t\t\t\t\t<Значение>{city}</Значение>\n"
        "\t\t\t\t</АдресноеПоле>\n"
        f"\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>Улица</Тип>\n\t\t\t\t\t<Значение>{street}</Значение>\n"
        "\t\t\t\t</АдресноеПоле>\n"
        f"\t\t\t\t<АдресноеПоле>\n\t\t\t\t\t<Тип>Дом</Тип>\n\t\t\t\t\t<Значение>{house}</Значение>\n"
        f"\t\t\t\t</АдресноеПоле>\n\t\t\t</{addr_tag}>\n"
        "\t\t\t<Контакты>\n"
        f"\t\t\t\t<Контакт>\n\t\t\t\t\t<Тип>Электронная почта</Тип>\n\t\t\t\t\t<Значение>{email}</Значение>\n"
        "\t\t\t\t</Контакт>\n"
        f"\t\t\t\t<Контакт>\n\t\t\t\t\t<Тип>{'Телефон рабочий' if legal else 'Телефон мобильный'}</Тип>\n"
        f"\t\t\t\t\t<Значение>+7 ({900 + h % 99}) {(h >> 10) % 900 + 100}-{(h >> 20) % 90 + 10}-"
        f"{(h >> 27) % 90 + 10}</Значение>\n\t\t\t\t</Контакт>\n"
    )
    if c % 4 == 0:  # "Почта" is a postal address, not an e-mail
        parts.append(
            "\t\t\t\t<Контакт>\n\t\t\t\t\t<Тип>Почта</Тип>\n"
            f"\t\t\t\t\t<Значение>{city}, {street}, д.{house}</Значение>\n\t\t\t\t</Контакт>\n"
        )
    parts.append("\t\t\t</Контакты>\n")
    if legal:
        parts.append(
            "\t\t\t<Представители>\n\t\t\t\t<Представитель>\n\t\t\t\t\t<Отношение>Контактное лицо</Отношение>\n"
            f"\t\t\t\t\t<Ид>{_guid(ids.person, c)}</Ид>\n"
            f"\t\t\t\t\t<Наименование>{_LAST[(h >> 5) % len(_LAST)]} {_FIRST[(h >> 9) % len(_FIRST)]}"
            "</Наименование>\n\t\t\t\t</Представитель>\n\t\t\t</Представители>\n"
        )
    parts.append("\t\t</Контрагент>\n")
    return "".join(parts)


def _job_customers(spec: SynthSpec, path: Path, when: datetime) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.09", when)
    w.add(f'\t<Контрагенты СодержитТолькоИзменения="{_oc(spec)}">\n')
    for c in range(spec.customers):
        w.add(_customer_xml(c, spec, ids))
        if c % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t</Контрагенты>\n</КоммерческаяИнформация>\n")
    w.close()


def _job_classic_import(spec: SynthSpec, path: Path, when: datetime) -> None:
    ids = _Ids.for_seed(spec.seed)
    w = _Writer(path, spec)
    _root_open(w, spec, "2.07", when)
    if spec.has("classifier"):
        _classifier_open(w, spec, ids, attr=False)
        _groups_xml(w, spec, ids)
        _properties_xml(w, ids, _PRODUCT_PROPS, for_offers=False, with_versions=False)
        w.add("\t</Классификатор>\n")
    if spec.has("goods"):
        cat = _guid(ids.catalog, 0)
        w.add(
            f'\t<Каталог СодержитТолькоИзменения="{_oc(spec)}">\n\t\t<Ид>{cat}</Ид>\n'
            f"\t\t<ИдКлассификатора>{cat}</ИдКлассификатора>\n"
            f"\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n\t\t<Товары>\n"
        )
        for p in range(spec.n_goods):
            w.add(_product_xml(p, spec, ids, versions=False))
            if p % _CHUNK == _CHUNK - 1:
                w.flush()
        w.add("\t\t</Товары>\n\t</Каталог>\n")
    w.add("</КоммерческаяИнформация>\n")
    w.close()


def _job_classic_offers(spec: SynthSpec, path: Path, when: datetime) -> None:
    ids = _Ids.for_seed(spec.seed)
    pt_ids = [_guid(ids.price_type, t) for t in range(spec.price_types)]
    wh_ids = [_guid(ids.warehouse, k) for k in range(spec.warehouses)]
    with_offers, with_prices, with_rests = spec.has("offers"), spec.has("prices"), spec.has("rests")
    w = _Writer(path, spec)
    _root_open(w, spec, "2.07", when)
    cat = _guid(ids.catalog, 0)
    w.add(  # the stub classifier УТ 11 puts first
        f"\t<Классификатор>\n\t\t<Ид>{cat}</Ид>\n\t\t<Наименование>{_catalog_name(spec)}</Наименование>\n"
        "\t</Классификатор>\n"
    )
    _package_head(w, spec, ids)
    if with_prices:
        _price_types_xml(w, spec, ids, "\t\t", with_versions=False)
    if with_rests:
        _warehouses_xml(w, spec, ids, "\t\t", with_versions=False)
    w.add("\t\t<Предложения>\n")
    ind = "\t\t\t\t"
    for i in range(spec.offers):
        w.add("\t\t\t<Предложение>\n")
        if with_offers:
            w.add(_offer_body_xml(i, spec, ids, ind, versions=False)[1])
        else:
            w.add(f"{ind}<Ид>{_offer_parts(i, spec, ids)[0]}</Ид>\n")
        if with_prices:
            w.add(_prices_xml(i, spec, ids, ind, pt_ids))
        if with_rests:
            qs = [_quantity(i, k, spec) for k in range(spec.warehouses)]
            total = sum(_dec(q) for q in qs)
            w.add(f"{ind}<Количество>{_fmt_dec(total)}</Количество>\n")
            for k, q in enumerate(qs):
                w.add(f'{ind}<Склад ИдСклада="{wh_ids[k]}" КоличествоНаСкладе="{q}"/>\n')
        w.add("\t\t\t</Предложение>\n")
        if i % _CHUNK == _CHUNK - 1:
            w.flush()
    w.add("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
    w.close()


def _dec(q: str) -> int:
    """Quantity text → thousandths (exact integer arithmetic)."""
    neg = q.startswith("-")
    q = q.lstrip("-")
    whole, _, frac = q.partition(".")
    v = int(whole) * 1000 + int((frac + "000")[:3])
    return -v if neg else v


def _fmt_dec(v: int) -> str:
    sign = "-" if v < 0 else ""
    whole, frac = divmod(abs(v), 1000)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:03d}".rstrip("0")


# -- planning -------------------------------------------------------------------------------------------


@dataclass
class _Job:
    fn: Callable[..., None]
    path: Path
    when: datetime
    args: tuple = ()
    weight: int = 1  # rough size, to start the biggest jobs first


@dataclass
class _Plan:
    jobs: list[_Job] = field(default_factory=list)


def _ranges(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n)) if n else 1
    step, extra = divmod(n, parts)
    out, lo = [], 0
    for k in range(parts):
        hi = lo + step + (1 if k < extra else 0)
        out.append((lo, hi))
        lo = hi
    return out


def _plan(spec: SynthSpec, out_dir: Path) -> _Plan:
    ids = _Ids.for_seed(spec.seed)
    plan = _Plan()
    t0 = spec.exported_at
    file_no = iter(range(10**6))

    def fname(kind: str) -> str:
        h = hashlib.sha256(f"{ids.file}{spec.version}:{kind}:{next(file_no)}".encode()).hexdigest()
        return f"{kind}___{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}.xml"

    if spec.layout == "classic":
        if spec.has("classifier") or spec.has("goods"):
            plan.jobs.append(_Job(_job_classic_import, out_dir / "import.xml", t0, (), spec.n_goods))
        if spec.has("offers") or spec.has("prices") or spec.has("rests"):
            plan.jobs.append(
                _Job(
                    _job_classic_offers,
                    out_dir / "offers.xml",
                    t0 + timedelta(seconds=20),
                    (),
                    spec.offers * 3,
                )
            )
        if spec.has("customers"):
            plan.jobs.append(
                _Job(
                    _job_customers,
                    out_dir / fname("contragents"),
                    t0 + timedelta(seconds=30),
                    (),
                    spec.customers,
                )
            )
        return plan

    sub = spec.subfolders
    if spec.has("classifier"):
        plan.jobs.append(_Job(_job_classifier, out_dir / fname("import"), t0, (), spec.n_groups))
    if spec.has("offer_classifier"):
        d = out_dir / "properties" / "1" if sub else out_dir
        plan.jobs.append(_Job(_job_offer_classifier, d / fname("offers"), t0 + timedelta(seconds=14), (), 1))
    kinds = [
        ("goods", "import", _job_goods, spec.n_goods, 4, 10),
        ("offers", "offers", _job_offers, spec.offers, 1, 40),
        ("prices", "prices", _job_prices, spec.offers, spec.price_types, 40),
        ("rests", "rests", _job_rests, spec.offers, spec.warehouses, 41),
    ]
    for section, prefix, fn, n, per_item, seconds in kinds:
        if not spec.has(section):
            continue
        for k, (lo, hi) in enumerate(_ranges(n, spec.files_per_kind), start=1):
            d = out_dir / "goods" / str(k) if sub else out_dir
            when = t0 + timedelta(seconds=seconds)
            plan.jobs.append(_Job(fn, d / fname(prefix), when, (lo, hi), (hi - lo) * per_item))
    if spec.has("customers"):
        plan.jobs.append(
            _Job(
                _job_customers, out_dir / fname("contragents"), t0 + timedelta(seconds=45), (), spec.customers
            )
        )
    return plan


def _run_job(spec: SynthSpec, job: _Job) -> Path:
    job.path.parent.mkdir(parents=True, exist_ok=True)
    job.fn(spec, job.path, job.when, *job.args)
    return job.path


def _count_hits(n: int, salt: int, share: float) -> int:
    if share <= 0.0:
        return 0
    return sum(1 for i in range(n) if _share_hit(i, salt, share))


def _counts(spec: SynthSpec) -> dict[str, int]:
    classic = spec.layout == "classic"
    has_offers_file = spec.has("offers") or spec.has("prices") or spec.has("rests")
    counts = {
        "groups": spec.n_groups if spec.has("classifier") else 0,
        "properties": (len(_PRODUCT_PROPS) if spec.has("classifier") else 0)
        + (len(_OFFER_PROPS) if spec.has("offer_classifier") and not classic else 0),
        "units": len(_UNITS) if spec.has("classifier") and not classic else 0,
        "price_types": (
            spec.price_types if (spec.has("prices") if classic else spec.has("classifier")) else 0
        ),
        "warehouses": (spec.warehouses if (spec.has("rests") if classic else spec.has("classifier")) else 0),
        "goods": spec.n_goods if spec.has("goods") else 0,
        "offers": spec.offers if spec.has("offers") else 0,
        "prices": spec.offers * spec.price_types if spec.has("prices") else 0,
        "rests": spec.offers * spec.warehouses if spec.has("rests") else 0,
        "stock_totals": spec.offers if classic and spec.has("rests") else 0,
        "customers": spec.customers if spec.has("customers") else 0,
        "deleted_groups": _count_hits(spec.n_groups, 5, spec.deleted_share) if spec.has("classifier") else 0,
        "deleted_goods": _count_hits(spec.n_goods, 11, spec.deleted_share) if spec.has("goods") else 0,
        "deleted_offers": _count_hits(spec.offers, 13, spec.deleted_share) if spec.has("offers") else 0,
        "deleted_customers": (
            _count_hits(spec.customers, 19, spec.deleted_share) if spec.has("customers") else 0
        ),
        "changed_offers": _count_hits(spec.offers, 77, spec.changed_share) if spec.version else 0,
    }
    if not has_offers_file:
        counts["offers"] = 0
    if classic and not spec.has("offers") and has_offers_file:
        counts["offers"] = 0
    return counts


def _spec(**kwargs) -> SynthSpec:
    sections = kwargs.pop("sections", None)
    if sections is None:
        sections = ALL_SECTIONS
    elif isinstance(sections, str):
        sections = {sections}
    exported_at = kwargs.pop("exported_at", None) or DEFAULT_EXPORTED_AT
    return SynthSpec(sections=frozenset(sections), exported_at=exported_at, **kwargs)


# -- public API -----------------------------------------------------------------------------------------


def generate_upload(
    out_dir: str | os.PathLike[str],
    *,
    offers: int = 1000,
    goods: int | None = None,
    groups: int | None = None,
    price_types: int = 3,
    warehouses: int = 5,
    customers: int = 0,
    layout: str = "package",
    seed: int = 0,
    version: int = 0,
    changed_share: float = 0.1,
    exported_at: datetime | None = None,
    only_changes: bool = True,
    deleted_share: float = 0.0,
    sections: Iterable[str] | str | None = None,
    encoding: str = "utf-8",
    bom: bool = True,
    files_per_kind: int = 1,
    subfolders: bool = False,
    workers: int = 1,
) -> GeneratedUpload:
    """Write a synthetic 1C upload into ``out_dir`` (created) and return the written files.

    * ``offers`` — offers; offer ``i`` belongs to product ``i % goods``, its id is ``product#characteristic``
      except the first offer of every 8th product (a plain ``product`` id). ``goods`` defaults to ``offers // 4``,
      ``groups`` to ``goods // 50`` (8..2000, a nested tree with 3 roots).
    * every offer gets one price per price type (``prices = offers × price_types``, currency alternating
      ``руб`` / ``RUB``) and one stock row per warehouse (``rests = offers × warehouses``; ~40 % zeros, some
      negative and fractional quantities).
    * ``seed`` fixes ids and names; ``version`` > 0 changes prices and stock of a deterministic
      ``changed_share`` of the offers (same ids), e.g. for a second upload that updates the first.
    * ``sections`` — subset of ``ALL_SECTIONS`` to emit (e.g. ``{"prices"}`` for a prices-only upload);
      ``customers`` needs ``customers > 0``.
    * ``deleted_share`` — share of groups, goods, offers and customers marked deleted
      (ПометкаУдаления in packages, ``Статус="Удален"`` in classic).
    * ``encoding`` ``"utf-8"`` (with a BOM unless ``bom=False``) or ``"windows-1251"``.
    * ``files_per_kind`` splits goods/offers/prices/rests over several files (package layout only);
      ``subfolders`` puts them in ``goods/<k>/`` and the offer classifier in ``properties/1/``.
    * ``workers`` > 1 writes files in parallel processes (the biggest first).

    The result is a ``list[Path]`` in write order with ``.counts`` (see ``expected_counts``).
    """
    spec = _spec(
        offers=offers, goods=goods, groups=groups, price_types=price_types, warehouses=warehouses,
        customers=customers, layout=layout, seed=seed, version=version, changed_share=changed_share,
        exported_at=exported_at, only_changes=only_changes, deleted_share=deleted_share, sections=sections,
        encoding=encoding, bom=bom, files_per_kind=files_per_kind, subfolders=subfolders,
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = _plan(spec, out)
    if workers > 1 and len(plan.jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork") if hasattr(os, "fork") else None
        order = sorted(plan.jobs, key=lambda j: -j.weight)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for fut in [pool.submit(_run_job, spec, job) for job in order]:
                fut.result()
    else:
        for job in plan.jobs:
            _run_job(spec, job)
    result = GeneratedUpload(job.path for job in plan.jobs)
    result.spec = spec
    result.counts = _counts(spec)
    return result


def expected_counts(**kwargs) -> dict[str, int]:
    """What ``generate_upload(**kwargs)`` writes, without writing it.

    Keys: groups, properties, units, price_types, warehouses, goods, offers, prices, rests, stock_totals,
    customers, deleted_groups, deleted_goods, deleted_offers, deleted_customers, changed_offers.
    ``stock_totals`` is non-zero only for the classic layout (``Количество``).
    """
    kwargs.pop("workers", None)
    kwargs.pop("out_dir", None)
    return _counts(_spec(**kwargs))


def generate_demo_upload(out_dir: str | os.PathLike[str]) -> GeneratedUpload:
    """A small, realistic UT 11 split package for the demo: nested groups, goods with properties, offers with
    characteristics, 3 price types, 4 warehouses and 25 customers, laid out in sub-folders like 1C's zip."""
    return generate_upload(
        out_dir,
        offers=240,
        goods=80,
        groups=13,
        price_types=3,
        warehouses=4,
        customers=25,
        layout="package",
        seed=2026,
        subfolders=True,
    )
