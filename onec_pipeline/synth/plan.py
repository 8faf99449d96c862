"""Which files an upload consists of (one ``FileJob`` each, with its name, ДатаФормирования and share of
the items), writing one, and the counts of what they hold."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .classic import write_classic_import, write_classic_offers
from .classifier import write_classifier, write_offer_classifier
from .customers import write_customers
from .goods import write_goods
from .offers import write_offers, write_prices, write_rests
from .spec import SynthSpec
from .values import SeedIds, count_in_share
from .words import OFFER_PROPERTIES, PRODUCT_PROPERTIES, UNITS


@dataclass
class FileJob:
    """One file to write: ``write(spec, path, when, *args)``."""

    write: Callable[..., None]
    path: Path
    when: datetime
    args: tuple[int, ...] = ()
    weight: int = 1  # rough size, to start the biggest jobs first


def split_range(total: int, parts: int) -> list[tuple[int, int]]:
    """``range(total)`` cut into ``parts`` consecutive (first, stop) pairs of near-equal size."""
    parts = max(1, min(parts, total)) if total else 1
    step, extra = divmod(total, parts)
    out, first = [], 0
    for part in range(parts):
        stop = first + step + (1 if part < extra else 0)
        out.append((first, stop))
        first = stop
    return out


class _FileNames:
    """``<kind>___<uuid>.xml`` names, deterministic per seed, version and position in the upload."""

    def __init__(self, spec: SynthSpec) -> None:
        self.prefix = f"{SeedIds.for_seed(spec.seed).file}{spec.version}"
        self.position = 0

    def __call__(self, kind: str) -> str:
        digest = hashlib.sha256(f"{self.prefix}:{kind}:{self.position}".encode()).hexdigest()
        self.position += 1
        return f"{kind}___{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}.xml"


def _plan_classic(spec: SynthSpec, out_dir: Path) -> list[FileJob]:
    start = spec.exported_at
    jobs = []
    if spec.has("classifier") or spec.has("goods"):
        jobs.append(FileJob(write_classic_import, out_dir / "import.xml", start, (), spec.goods_count))
    if spec.has("offers") or spec.has("prices") or spec.has("rests"):
        when = start + timedelta(seconds=20)
        jobs.append(FileJob(write_classic_offers, out_dir / "offers.xml", when, (), spec.offers * 3))
    if spec.has("customers"):
        name = _FileNames(spec)("contragents")
        when = start + timedelta(seconds=30)
        jobs.append(FileJob(write_customers, out_dir / name, when, (), spec.customers))
    return jobs


def _plan_package(spec: SynthSpec, out_dir: Path) -> list[FileJob]:
    start, file_name = spec.exported_at, _FileNames(spec)
    jobs = []
    if spec.has("classifier"):
        jobs.append(FileJob(write_classifier, out_dir / file_name("import"), start, (), spec.group_count))
    if spec.has("offer_classifier"):
        folder = out_dir / "properties" / "1" if spec.subfolders else out_dir
        when = start + timedelta(seconds=14)
        jobs.append(FileJob(write_offer_classifier, folder / file_name("offers"), when, (), 1))
    kinds = [  # (section, file name prefix, writer, items, rows per item, seconds after the start)
        ("goods", "import", write_goods, spec.goods_count, 4, 10),
        ("offers", "offers", write_offers, spec.offers, 1, 40),
        ("prices", "prices", write_prices, spec.offers, spec.price_types, 40),
        ("rests", "rests", write_rests, spec.offers, spec.warehouses, 41),
    ]
    for section, prefix, write, items, rows_per_item, seconds in kinds:
        if not spec.has(section):
            continue
        for part, (first, stop) in enumerate(split_range(items, spec.files_per_kind), start=1):
            folder = out_dir / "goods" / str(part) if spec.subfolders else out_dir
            when = start + timedelta(seconds=seconds)
            weight = (stop - first) * rows_per_item
            jobs.append(FileJob(write, folder / file_name(prefix), when, (first, stop), weight))
    if spec.has("customers"):
        when = start + timedelta(seconds=45)
        jobs.append(FileJob(write_customers, out_dir / file_name("contragents"), when, (), spec.customers))
    return jobs


def plan_files(spec: SynthSpec, out_dir: Path) -> list[FileJob]:
    """The files of the upload, in write order."""
    return _plan_classic(spec, out_dir) if spec.layout == "classic" else _plan_package(spec, out_dir)


def write_file(spec: SynthSpec, job: FileJob) -> Path:
    job.path.parent.mkdir(parents=True, exist_ok=True)
    job.write(spec, job.path, job.when, *job.args)
    return job.path


def count_records(spec: SynthSpec) -> dict[str, int]:
    """What the files of ``spec`` hold, per record family (see ``expected_counts``)."""
    classic = spec.layout == "classic"
    has = spec.has
    deleted = spec.deleted_share
    return {
        "groups": spec.group_count if has("classifier") else 0,
        "properties": (len(PRODUCT_PROPERTIES) if has("classifier") else 0)
        + (len(OFFER_PROPERTIES) if has("offer_classifier") and not classic else 0),
        "units": len(UNITS) if has("classifier") and not classic else 0,
        "price_types": spec.price_types if (has("prices") if classic else has("classifier")) else 0,
        "warehouses": spec.warehouses if (has("rests") if classic else has("classifier")) else 0,
        "goods": spec.goods_count if has("goods") else 0,
        "offers": spec.offers if has("offers") else 0,
        "prices": spec.offers * spec.price_types if has("prices") else 0,
        "rests": spec.offers * spec.warehouses if has("rests") else 0,
        "stock_totals": spec.offers if classic and has("rests") else 0,
        "customers": spec.customers if has("customers") else 0,
        "orders": 0,  # the generator writes no order documents
        "deleted_groups": count_in_share(spec.group_count, 5, deleted) if has("classifier") else 0,
        "deleted_goods": count_in_share(spec.goods_count, 11, deleted) if has("goods") else 0,
        "deleted_offers": count_in_share(spec.offers, 13, deleted) if has("offers") else 0,
        "deleted_customers": count_in_share(spec.customers, 19, deleted) if has("customers") else 0,
        "changed_offers": count_in_share(spec.offers, 77, spec.changed_share) if spec.version else 0,
    }
