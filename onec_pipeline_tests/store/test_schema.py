"""Migrations: tables in the configured schema, idempotent upgrade, migrations == schema.py, CLI."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from onec_pipeline.cli import main
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.tables import BOOKKEEPING_TABLES, CATALOG_TABLES, CUSTOMER_TABLES
from onec_pipeline_tests.store.helpers import product, ref, row, rows

OURS = set(CATALOG_TABLES + BOOKKEEPING_TABLES)
#: every table on the store's one MetaData (the customers family has its own migration, 0002)
EVERY_TABLE = OURS | set(CUSTOMER_TABLES)


def test_upgrade_creates_every_table_in_the_schema_and_is_idempotent(db_url_schema):
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    first = store.upgrade()
    assert first is not None and store.upgrade() == first == store.current_revision()
    names = set(sa.inspect(store.engine).get_table_names(schema=store.schema))
    assert OURS <= names
    assert "alembic_version" in names, "the version table lives inside the catalog schema"
    if schema is not None:
        public = set(sa.inspect(store.engine).get_table_names(schema="public"))
        assert not (OURS & public)
    store.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")  # customers' expression index
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_schema_py(db_url_schema):
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    store.upgrade()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": bool(store.schema),
                "include_name": lambda name, type_, parent: type_ != "schema" or name == store.schema,
                "version_table_schema": store.schema,
                "compare_type": True,
            },
        )
        diffs = compare_metadata(ctx, store.metadata)

    def ours(diff) -> bool:  # tables of the store's metadata (not e.g. alembic_version)
        item = diff[0] if isinstance(diff, list) else diff
        op = item[0]
        if op in ("add_table", "remove_table"):
            name = item[1].name
        elif op in ("add_column", "remove_column") or op.startswith("modify_"):
            name = item[2]
        elif hasattr(item[1], "table"):
            name = item[1].table.name
        else:
            return True
        return name in EVERY_TABLE

    def unreflectable(diff) -> bool:  # SQLite cannot reflect the customers' expression index
        return (
            store.dialect == "sqlite"
            and diff[0] == "add_index"
            and diff[1].name == "ix_customers_email_lower"
        )

    assert [d for d in diffs if ours(d) and not unreflectable(d)] == []
    store.dispose()


def test_store_migrates_itself_on_first_use(db_url_schema):
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    store.load([product("p1")], ref(1))
    assert store.counts()["goods"] == 1
    assert row(store, "goods", id="p1")["name"] == "name"
    store.dispose()


def test_exact_decimals_round_trip(db_url_schema):
    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    prices = store.tables["prices"]
    values = ["0.1", "-70.687", "231.74", "123456789012.345", "0.000001"]
    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.execute(
            prices.insert(),
            [
                {
                    "offer_id": f"o{i}",
                    "price_type_id": "pt",
                    "price": Decimal(v),
                    "data_key": "k",
                    "upload_key": "k",
                    "updated_at": datetime(2026, 1, 1),
                }
                for i, v in enumerate(values)
            ],
        )
        got = dict(conn.execute(sa.select(prices.c.offer_id, prices.c.price)).all())
        negative = conn.execute(sa.select(sa.func.count()).where(prices.c.price < 0)).scalar_one()
    assert [got[f"o{i}"] for i in range(len(values))] == [Decimal(v) for v in values]
    assert all(isinstance(v, Decimal) for v in got.values())
    assert negative == 1, "numeric comparisons work in SQL on both backends"
    store.dispose()


def test_cli_db_upgrade(db_url_schema):
    url, schema = db_url_schema
    args = ["db", "upgrade", "--database-url", url] + (["--schema", schema] if schema else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    store = CatalogStore(url, schema=schema)
    revision = store.current_revision()
    assert revision is not None and revision in result.output
    assert OURS <= set(sa.inspect(store.engine).get_table_names(schema=store.schema))
    current = CliRunner().invoke(
        main, ["db", "current", "--database-url", url] + (["--schema", schema] if schema else [])
    )
    assert current.output.strip() == revision
    store.dispose()


def test_cli_db_upgrade_reports_an_unreachable_database():
    result = CliRunner().invoke(
        main, ["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none", "--schema", "x"]
    )
    assert result.exit_code == 1
    assert "upgrade of postgresql://nobody@127.0.0.1:1/none failed" in result.output


def test_migration_0004_keeps_existing_rows_active_and_fills_price_currencies(db_url_schema):
    """A catalog created before 0004: every row stays active, prices keep their own currency and those
    without one get their price type's."""
    from alembic import command

    url, schema = db_url_schema
    store = CatalogStore(url, schema=schema)
    cfg = store.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_applied_uploads")
    prices, price_types, rests = (store.qualified(t) for t in ("prices", "price_types", "rests"))
    version = "'k1', 'k1', '2026-01-01 00:00:00'"
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO {price_types} (id, name, currency, deleted, is_active, data_key, upload_key, "
                f"updated_at) VALUES ('pt1', 'Retail', 'RUB', false, true, {version})"
            )
        )
        for offer_id, currency in (("a", "NULL"), ("b", "'USD'")):
            conn.execute(
                sa.text(
                    f"INSERT INTO {prices} (offer_id, price_type_id, price, currency, data_key, upload_key, "
                    f"updated_at) VALUES ('{offer_id}', 'pt1', 1, {currency}, {version})"
                )
            )
        conn.execute(
            sa.text(
                f"INSERT INTO {rests} (offer_id, warehouse_id, quantity, data_key, upload_key, updated_at) "
                f"VALUES ('a', 'w1', 2, {version})"
            )
        )
    store.upgrade()
    assert rows(store, "prices", "offer_id", "currency", "own_currency", "is_active") == [
        ("a", "RUB", None, True),
        ("b", "USD", "USD", True),
    ]
    assert rows(store, "rests", "is_active") == [(True,)]
    assert rows(store, "full_exports") == []
    store.dispose()


@pytest.mark.postgres
def test_offers_leave_room_for_hot_quantity_updates(pg_schema_url):
    """Migrations 0008/0009: ``offers`` has the fillfactor of ``tables.catalog`` (HOT updates of
    ``quantity``); 0009's downgrade goes back to 0008's, 0008's resets it. A stock upload then rewrites quantities mostly on the same pages."""
    from alembic import command

    from onec_pipeline.store.tables.catalog import OFFERS_FILLFACTOR
    from onec_pipeline_tests.store.helpers import offer, stock

    url, schema = pg_schema_url
    store = CatalogStore(url, schema=schema)
    store.upgrade()

    def options() -> list[str]:
        with store.engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relname = 'offers'"
                ),
                {"schema": schema},
            ).scalar_one()
        return list(found or [])

    assert options() == [f"fillfactor={OFFERS_FILLFACTOR}"]
    ids = [f"p{n}#c" for n in range(2000)]
    store.load([product("p0"), *(offer(i) for i in ids)], ref(1))

    def pages() -> dict[str, str]:  # offer -> the page (block) its current row version is on
        with store.engine.connect() as conn:
            found = conn.execute(
                sa.text(f"SELECT id, (ctid::text::point)[0] FROM {store.qualified('offers')}")
            )
            return {ident: block for ident, block in found}

    before = pages()
    store.load([stock(i, "w1", 3) for i in ids], ref(2))  # every offer's quantity rewritten
    after = pages()
    stayed = sum(after[i] == before[i] for i in ids) / len(ids)
    assert row(store, "offers", id="p7#c")["quantity"] == 3
    assert stayed > 0.9  # heap-only updates on the same page (about none with full pages)
    cfg = store.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008_offers_fillfactor")
    assert options() == ["fillfactor=70"]
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007_orders")
    assert options() == []
    store.dispose()
