"""A catalog export laid out as modern 1C exchange modules send it: CommerceML 3.1 per-entity segments,
``<entity>_<n>_<m>_<guid>.xml``, one file per exchange session (FORMAT.md §7), in 1C's sending order:
``priceLists``, ``storages``, ``propertiesGoods``, ``propertiesOffers``, ``units``, ``groups``, then the
``goods``, ``offers``, ``prices`` and ``rests`` segments.

Built from ``generate_upload`` (same seed, same ids): the package's classifier is cut into one file per
reference section, the offer classifier is ``propertiesOffers``, and goods, offers, prices and rests are
generated over as many files as asked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from lxml import etree

from .generate import generate_upload

# reference segments cut out of the classifier: segment name -> the Классификатор child it keeps
CLASSIFIER_SEGMENTS = {
    "priceLists": "ТипыЦен",
    "storages": "Склады",
    "propertiesGoods": "Свойства",
    "units": "ЕдиницыИзмерения",
    "groups": "Группы",
}
# the old system's full export: 113 sessions (with priceLists, storages, units and groups)
DEFAULT_SEGMENTS = {
    "propertiesGoods": 11,
    "propertiesOffers": 11,
    "goods": 20,
    "offers": 33,
    "prices": 17,
    "rests": 17,
}
ITEM_SEGMENTS = ("goods", "offers", "prices", "rests")
_CLASSIFIER_HEAD = {"Ид", "Наименование", "Владелец"}


def _guid(*parts: object) -> str:
    d = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-8{d[17:20]}-{d[20:32]}"


def _local(element) -> str:
    return etree.QName(element).localname


def _cut_classifier(
    src: Path, keep: str, dst: Path, part: int = 0, parts: int = 1, others: bool = False
) -> None:
    """``src``'s root and Классификатор head with only the ``keep`` section, and of its items only every
    ``parts``-th from ``part`` on; the root's other sections (the empty Каталог) go unless ``others``."""
    tree = etree.parse(str(src), etree.XMLParser(resolve_entities=False, no_network=True))
    root = tree.getroot()
    for child in list(root):
        if _local(child) != "Классификатор":
            if not others:
                root.remove(child)
            continue
        for section in list(child):
            if _local(section) not in _CLASSIFIER_HEAD | {keep}:
                child.remove(section)
            elif _local(section) == keep:
                items = list(section)
                # more segments than items (a small generated classifier): each segment repeats one item,
                # as no segment 1C sends is empty
                wanted = part % len(items) if 0 < len(items) < parts else None
                for index, item in enumerate(items):
                    if (index != wanted) if wanted is not None else (index % parts != part):
                        section.remove(item)
    tree.write(str(dst), xml_declaration=True, encoding="UTF-8")


def _name(seed: int, kind: str, number: int, count: int) -> str:
    return f"{kind}_{number}_{count}_{_guid(seed, kind, number)}.xml"


def generate_segmented_export(
    out_dir: str | os.PathLike[str],
    *,
    offers: int,
    goods: int | None = None,
    segments: Mapping[str, int] = DEFAULT_SEGMENTS,
    seed: int = 0,
    exported_at: datetime | None = None,
    only_changes: bool = False,
    price_types: int = 3,
    warehouses: int = 5,
) -> list[Path]:
    """Write the segments into ``out_dir`` and return them in 1C's sending order (a full export by
    default: ``СодержитТолькоИзменения="false"``)."""
    out = Path(out_dir)
    work = out / ".generating"
    common = dict(
        offers=offers, goods=goods, price_types=price_types, warehouses=warehouses, seed=seed,
        exported_at=exported_at, only_changes=only_changes, layout="package",
    )  # fmt: skip
    sent: list[Path] = []
    [classifier] = generate_upload(work / "classifier", sections={"classifier"}, **common)  # type: ignore[arg-type]
    [offer_classifier] = generate_upload(work / "oc", sections={"offer_classifier"}, **common)  # type: ignore[arg-type]
    for name, keep in CLASSIFIER_SEGMENTS.items():
        if name == "units":  # 1C's order: … propertiesGoods, propertiesOffers, units …
            count = segments.get("propertiesOffers", 1)
            for number in range(1, count + 1):
                sent.append(out / _name(seed, "propertiesOffers", number, count))
                _cut_classifier(offer_classifier, "Свойства", sent[-1], number - 1, count, others=True)
        count = segments.get(name, 1)
        for number in range(1, count + 1):
            sent.append(out / _name(seed, name, number, count))
            _cut_classifier(classifier, keep, sent[-1], number - 1, count)
    for kind in ITEM_SEGMENTS:
        if not segments.get(kind):
            continue
        files = generate_upload(work / kind, sections={kind}, files_per_kind=segments[kind], **common)  # type: ignore[arg-type]
        for number, path in enumerate(files, start=1):
            sent.append(out / _name(seed, kind, number, len(files)))
            os.replace(path, sent[-1])
    shutil.rmtree(work)
    return sent
