"""Generator of big CommerceML files for the memory test and for throughput measurements.

``python -m onec_pipeline_tests.commerceml.gen OUT_DIR --offers 200000`` writes a classic 2.07-style
``offers.xml`` (offer definition + 2 prices + total + 3 warehouse stock rows per Предложение) and prints
its size. Written in streaming fashion (never held in memory).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.07" ДатаФормирования="2024-05-01T10:00:00">\n'
    '\t<ПакетПредложений СодержитТолькоИзменения="false">\n'
    "\t\t<Ид>cat#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat</ИдКаталога>\n"
    "\t\t<ТипыЦен>\n"
    "\t\t\t<ТипЦены><Ид>retail</Ид><Наименование>Розничная</Наименование><Валюта>руб</Валюта></ТипЦены>\n"
    "\t\t\t<ТипЦены><Ид>opt</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены>\n"
    "\t\t</ТипыЦен>\n"
    "\t\t<Склады><Склад><Ид>w1</Ид><Наименование>1</Наименование></Склад><Склад><Ид>w2</Ид>"
    "<Наименование>2</Наименование></Склад><Склад><Ид>w3</Ид><Наименование>3</Наименование></Склад></Склады>\n"
    "\t\t<Предложения>\n"
)
TAIL = "\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n"
OFFER = (
    "\t\t\t<Предложение>\n"
    "\t\t\t\t<Ид>{pid:08x}-0000-4000-8000-{pid:012x}#{cid:08x}-1111-4000-8000-{cid:012x}</Ид>\n"
    "\t\t\t\t<Артикул>A-{pid}</Артикул>\n"
    "\t\t\t\t<Наименование>Товар номер {pid} (размер {size})</Наименование>\n"
    '\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>\n'
    "\t\t\t\t<Цены>\n"
    "\t\t\t\t\t<Цена><Представление>{price} руб. за шт</Представление><ИдТипаЦены>retail</ИдТипаЦены>"
    "<ЦенаЗаЕдиницу>{price}.00</ЦенаЗаЕдиницу><Валюта>руб</Валюта><Единица>шт</Единица>"
    "<Коэффициент>1</Коэффициент></Цена>\n"
    "\t\t\t\t\t<Цена><Представление>{opt} руб. за шт</Представление><ИдТипаЦены>opt</ИдТипаЦены>"
    "<ЦенаЗаЕдиницу>{opt},50</ЦенаЗаЕдиницу><Валюта>руб</Валюта><Единица>шт</Единица>"
    "<Коэффициент>1</Коэффициент></Цена>\n"
    "\t\t\t\t</Цены>\n"
    "\t\t\t\t<Количество>{qty}</Количество>\n"
    '\t\t\t\t<Склад ИдСклада="w1" КоличествоНаСкладе="{q1}"/>\n'
    '\t\t\t\t<Склад ИдСклада="w2" КоличествоНаСкладе="{q2}"/>\n'
    '\t\t\t\t<Склад ИдСклада="w3" КоличествоНаСкладе="{q3}"/>\n'
    "\t\t\t</Предложение>\n"
)
PER_OFFER = {"offers": 1, "prices": 2, "rests": 3, "stock_totals": 1}


def write_goods(path: Path, goods: int, description_chars: int = 8000) -> int:
    """A catalog file whose Товар elements carry long descriptions (many MB, few elements)."""
    filler = ("Описание товара с подробностями. " * (description_chars // 33 + 1))[:description_chars]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.04" '
            'ДатаФормирования="2024-05-01T10:00:00">\n<Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид>'
            "<Товары>\n"
        )
        for i in range(goods):
            fh.write(
                f"<Товар><Ид>g-{i}</Ид><Наименование>Товар {i}</Наименование><Описание>{i} {filler}</Описание>"
                f"<Группы><Ид>grp-{i % 10}</Ид></Группы></Товар>\n"
            )
        fh.write("</Товары></Каталог></КоммерческаяИнформация>\n")
    return path.stat().st_size


def write_offers(path: Path, offers: int) -> int:
    """Write ``offers`` Предложение elements to ``path``; return the file size in bytes."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(HEAD)
        chunk = []
        for i in range(offers):
            q1, q2, q3 = i % 7, (i * 3) % 11 - 2, i % 5
            chunk.append(
                OFFER.format(
                    pid=i // 3,
                    cid=i,
                    size=36 + i % 3,
                    price=100 + i % 9000,
                    opt=90 + i % 8000,
                    qty=q1 + q2 + q3,
                    q1=q1,
                    q2=q2,
                    q3=q3,
                )
            )
            if len(chunk) == 2000:
                fh.write("".join(chunk))
                chunk.clear()
        fh.write("".join(chunk))
        fh.write(TAIL)
    return path.stat().st_size


def main() -> None:  # pragma: no cover - a measuring tool
    from onec_pipeline.commerceml import Entity, ReadStats, discover_upload, read_upload

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--offers", type=int, default=200_000)
    parser.add_argument("--entities", default=",".join(e.value for e in Entity))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "offers.xml"
    if not path.exists():
        write_offers(path, args.offers)
    size = path.stat().st_size
    wanted = {Entity(e) for e in args.entities.split(",")}
    stats = ReadStats()
    started = time.perf_counter()
    n = sum(1 for _ in read_upload(discover_upload(args.out), wanted, stats))
    elapsed = time.perf_counter() - started
    print(
        f"{size / 1e6:.1f} MB, {n} records in {elapsed:.2f} s: {n / elapsed:,.0f} records/s, "
        f"{size / 1e6 / elapsed:.1f} MB/s; {dict(stats.counts)}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
