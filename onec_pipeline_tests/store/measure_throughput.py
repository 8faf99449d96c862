"""Loader throughput on PostgreSQL: first load and identical re-load (not a test; run by hand).

    .venv/bin/python -m onec_pipeline_tests.store.measure_throughput --offers 1000000 \
        --url postgresql://postgres@127.0.0.1:5432/postgres

Generates records in memory-constant streams (offers, 3 prices and 5 rests per offer), loads them in ONE
store transaction into a fresh schema, then loads the identical upload again. Prints rows/s for both, plus
the time spent generating the records alone (the loader's share is the difference).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from onec_pipeline.commerceml.records import Offer, Price, Stock
from onec_pipeline.store import CatalogStore, UploadRef

PRICE_TYPES = [str(uuid.UUID(int=i + 1)) for i in range(3)]
WAREHOUSES = [str(uuid.UUID(int=i + 101)) for i in range(5)]


def records(n_offers: int, seed: int = 0):
    for i in range(n_offers):
        pid = f"{i:08x}-0000-4000-8000-{seed:012x}"
        oid = f"{pid}#{i % 7:08x}-1111-4000-8000-000000000000" if i % 3 else pid
        yield Offer(
            id=oid, product_id=pid, characteristic_id=oid.partition("#")[2] or None, name=f"Offer {i}"
        )
        for j, pt in enumerate(PRICE_TYPES):
            yield Price(
                offer_id=oid,
                price_type_id=pt,
                price=Decimal(f"{(i % 9973) + j}.{i % 100:02d}"),
                currency="RUB",
            )
        for k, wh in enumerate(WAREHOUSES):
            yield Stock(offer_id=oid, warehouse_id=wh, quantity=Decimal((i + k) % 50 - 3))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offers", type=int, default=100_000)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark schema")
    args = ap.parse_args()
    n = args.offers
    total_rows = n * 9

    t0 = time.perf_counter()
    for _ in records(n):
        pass
    gen = time.perf_counter() - t0
    print(f"generate {total_rows:,} records: {gen:.1f}s ({total_rows / gen:,.0f}/s)")

    schema = f"bench_store_{uuid.uuid4().hex[:6]}"
    store = CatalogStore(args.url, schema=schema)
    store.upgrade()
    try:
        ref = UploadRef(key="20261122T000000-00000001", exported_at=datetime(2026, 11, 22), full=set())
        for label in ("first load", "identical re-load"):
            t0 = time.perf_counter()
            with store.transaction(ref) as tx:
                res = tx.load(records(n))
            dt = time.perf_counter() - t0
            summary = ", ".join(
                f"{e.value}: +{r.inserted} ~{r.updated} ={r.unchanged} ({r.seconds:.1f}s apply)"
                for e, r in res.items()
            )
            print(
                f"{label}: {total_rows:,} rows in {dt:.1f}s = {total_rows / dt:,.0f} rows/s; "
                f"without generation {total_rows / max(dt - gen, 1e-9):,.0f} rows/s | {summary}"
            )
        print(store.counts())
        import resource

        print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if not args.keep:
            with store.engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        store.dispose()


if __name__ == "__main__":
    main()
