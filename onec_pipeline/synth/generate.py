"""The public entry points: ``generate_upload``, ``expected_counts`` and ``generate_demo_upload``."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from .plan import count_records, plan_files, write_file
from .spec import GeneratedUpload, make_spec


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
    spec = make_spec(
        offers=offers, goods=goods, groups=groups, price_types=price_types, warehouses=warehouses,
        customers=customers, layout=layout, seed=seed, version=version, changed_share=changed_share,
        exported_at=exported_at, only_changes=only_changes, deleted_share=deleted_share, sections=sections,
        encoding=encoding, bom=bom, files_per_kind=files_per_kind, subfolders=subfolders,
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = plan_files(spec, out)
    if workers > 1 and len(jobs) > 1:
        context = mp.get_context("fork") if hasattr(os, "fork") else None
        biggest_first = sorted(jobs, key=lambda job: -job.weight)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for future in [pool.submit(write_file, spec, job) for job in biggest_first]:
                future.result()
    else:
        for job in jobs:
            write_file(spec, job)
    result = GeneratedUpload(job.path for job in jobs)
    result.spec = spec
    result.counts = count_records(spec)
    return result


def expected_counts(**kwargs: Any) -> dict[str, int]:
    """What ``generate_upload(**kwargs)`` writes, without writing it.

    Keys: groups, properties, units, price_types, warehouses, goods, offers, prices, rests, stock_totals,
    customers, deleted_groups, deleted_goods, deleted_offers, deleted_customers, changed_offers.
    ``stock_totals`` is non-zero only for the classic layout (``Количество``).
    """
    kwargs.pop("workers", None)
    kwargs.pop("out_dir", None)
    return count_records(make_spec(**kwargs))


def generate_demo_upload(
    out_dir: str | os.PathLike[str], *, exported_at: datetime | None = None
) -> GeneratedUpload:
    """A small, realistic UT 11 split package for the demo: nested groups, goods with properties, offers with
    characteristics, 3 price types, 4 warehouses and 25 customers, laid out in sub-folders like 1C's zip.
    ``exported_at``: the export time of its first file (default ``DEFAULT_EXPORTED_AT``)."""
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
        exported_at=exported_at,
    )
