"""A small 1C upload file for the intake tests (and the retention job's test)."""

from __future__ import annotations

import os
import time
from pathlib import Path

CLASSIFIER = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="{when}">
  <Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование>
    <Группы><Группа><Ид>g1</Ид><Наименование>{name}</Наименование></Группа></Группы>
  </Классификатор>
  <Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора>
    <Наименование>Каталог</Наименование>
    <Товары><Товар><Ид>p1</Ид><Наименование>{name}</Наименование><Группы><Ид>g1</Ид></Группы></Товар></Товары>
  </Каталог>
</КоммерческаяИнформация>
"""


def write_import(path: Path, when: str = "2026-11-20T10:15:00", name: str = "Товар") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CLASSIFIER.format(when=when, name=name), encoding="utf-8")
    return path


def age(path: Path, seconds: float) -> None:
    """Set every file's mtime ``seconds`` into the past."""
    t = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (t, t))
