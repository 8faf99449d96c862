"""What an upload changed, as metadata of the run's assets: prices up / down with the largest changes,
offers that went out of stock or came back, goods and offers added or marked deleted — equal to a diff of
the tables taken before and after, on SQLite and real PostgreSQL; a dry run reports the same and changes
nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from dagster import DagsterInstance

from onec_pipeline import synth
from onec_pipeline.runs import run_import
from onec_pipeline.settings import normalise_database_url


def _state(url: str, schema: str | None) -> dict:
    engine = sa.create_engine(normalise_database_url(url))
    prefix = f'"{schema}".' if schema else ""
    stock = (
        f"SELECT o.id, o.name, coalesce(o.quantity, (SELECT sum(r.quantity) FROM {prefix}rests r "
        f"WHERE r.offer_id = o.id)) FROM {prefix}offers o"
    )
    with engine.connect() as conn:
        prices = {
            (o, t): Decimal(str(p))
            for o, t, p in conn.execute(sa.text(f"SELECT offer_id, price_type_id, price FROM {prefix}prices"))
        }
        stocks = {i: (n, q) for i, n, q in conn.execute(sa.text(stock))}
        goods = {i: a for i, a in conn.execute(sa.text(f"SELECT id, is_active FROM {prefix}goods"))}
    engine.dispose()
    return {"prices": prices, "stock": stocks, "goods": goods}


def test_what_changed_equals_the_diff_of_the_tables(db_url_schema, tmp_path):
    url, schema = db_url_schema
    first, second = tmp_path / "v0", tmp_path / "v1"
    synth.generate_upload(first, offers=400, seed=7)
    later = synth.DEFAULT_EXPORTED_AT + timedelta(days=1)
    synth.generate_upload(
        second, offers=480, seed=7, version=1, changed_share=0.3, deleted_share=0.05, exported_at=later
    )
    with DagsterInstance.ephemeral() as instance:

        def load(path, **kwargs):
            summary = run_import(
                path,
                database_url=url,
                db_schema=schema,
                archive_dir=tmp_path / "a",
                instance=instance,
                **kwargs,
            )
            assert summary.success, summary.error
            return summary

        initial = load(first)
        assert initial.assets["goods"].metadata["what_changed"].startswith("**goods**: 100 added")
        before = _state(url, schema)
        dry = load(second, dry_run=True)
        assert _state(url, schema) == before  # rolled back
        real = load(second)
        after = _state(url, schema)

    up = sum(1 for k, p in after["prices"].items() if k in before["prices"] and p > before["prices"][k])
    down = sum(1 for k, p in after["prices"].items() if k in before["prices"] and p < before["prices"][k])
    assert up  # the generator's version 1 raises the prices it changes
    went_out = {
        i
        for i, (_, q) in after["stock"].items()
        if i in before["stock"]
        and q is not None
        and before["stock"][i][1] is not None
        and before["stock"][i][1] > 0
        and q <= 0
    }
    came_back = {
        i
        for i, (_, q) in after["stock"].items()
        if i in before["stock"]
        and q is not None
        and before["stock"][i][1] is not None
        and before["stock"][i][1] <= 0
        and q > 0
    }
    assert went_out or came_back
    added_goods = set(after["goods"]) - set(before["goods"])
    deleted_goods = {i for i, active in after["goods"].items() if before["goods"].get(i) and not active}
    assert added_goods and deleted_goods

    for summary in (dry, real):
        prices, rests, goods = (summary.assets[n].metadata for n in ("prices", "rests", "goods"))
        assert (prices["prices_up"], prices["prices_down"]) == (up, down)
        assert (rests["went_out_of_stock"], rests["back_in_stock"]) == (len(went_out), len(came_back))
        assert goods["marked_deleted"] == len(deleted_goods)
        text = prices["what_changed"]
        assert f"**prices**: {up:,} up, {down:,} down." in text and "Largest increases" in text
        # the largest increase listed is the largest relative increase of the diff
        best = max(
            (k for k, p in after["prices"].items() if k in before["prices"] and p > before["prices"][k]),
            key=lambda k: (after["prices"][k] - before["prices"][k]) / abs(before["prices"][k]),
        )
        rows = [line for line in text.split("Largest increases:")[1].split("\n") if line.startswith("| ")]
        first_row = rows[1]  # after the header
        assert after["stock"][best[0]][0] in first_row
        assert f"{len(added_goods):,} added" in goods["what_changed"]
        assert f"{len(deleted_goods):,} marked deleted in 1C" in goods["what_changed"]
        if went_out:
            assert next(iter(after["stock"][i][0] for i in sorted(went_out))) in rests["what_changed"]
