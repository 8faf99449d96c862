"""Migration 0002_customers creates exactly the tables store/customers.py writes, in the catalog schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from onec_pipeline.store import customers as cs

from .helpers import migrate


def _index_names(engine, inspector, table: str, schema: str | None) -> set[str]:
    """Named indexes of a table, expression indexes included (SQLite's reflection skips those)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            query = sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
            )
            return {name for (name,) in conn.execute(query, {"t": table})}
    return {
        i["name"]
        for i in inspector.get_indexes(table, schema=schema)
        if not i.get("duplicates_constraint")  # PostgreSQL lists the unique constraint's index
    }


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from onec_pipeline.store import CatalogStore

    return ScriptDirectory.from_config(CatalogStore("sqlite://").alembic_config()).get_current_head()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migration_matches_the_table_definitions(db_url_schema):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    try:
        schema = None if engine.dialect.name == "sqlite" else schema
        inspector = sa.inspect(engine)
        tables = cs.customer_tables(schema)
        assert {"customers", "customer_conflicts", "customer_sync_log"} <= set(
            inspector.get_table_names(schema=schema)
        )
        for table in (tables.customers, tables.conflicts, tables.log):
            columns = {c["name"]: c for c in inspector.get_columns(table.name, schema=schema)}
            assert list(columns) == [c.name for c in table.columns], table.name
            for column in table.columns:
                assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
            assert _index_names(engine, inspector, table.name, schema) == {i.name for i in table.indexes}
        uniques = inspector.get_unique_constraints("customers", schema=schema)
        assert [u["column_names"] for u in uniques] == [["onec_id"]]
        with engine.connect() as conn:
            version = conn.execute(
                sa.select(sa.text("version_num")).select_from(sa.table("alembic_version", schema=schema))
            ).scalar_one()
        assert version == _head_revision()  # 0002_customers and everything after it applied
    finally:
        engine.dispose()


def test_onec_id_is_unique_but_many_site_rows_have_none(db_url_schema):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    schema = None if engine.dialect.name == "sqlite" else schema
    t = cs.customer_tables(schema).customers
    try:
        with engine.begin() as conn:
            conn.execute(
                t.insert(),
                [{"name": n, "onec_id": i} for n, i in (("site 1", None), ("site 2", None), ("1c", "g"))],
            )
        try:
            with engine.begin() as conn:
                conn.execute(t.insert().values(name="dup", onec_id="g"))
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a second row with the same onec_id was accepted")
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 3
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_alembic_sees_no_difference_for_the_customers_tables(db_url_schema):
    """Autogenerate comparison (types included) between the migrated database and customer_tables()."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url, schema = db_url_schema
    engine = migrate(url, schema)
    schema = None if engine.dialect.name == "sqlite" else schema
    tables = cs.customer_tables(schema)
    ours = {tables.customers.name, tables.conflicts.name, tables.log.name}
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": bool(schema),
                    "include_name": lambda name, type_, parent: (
                        name == schema if type_ == "schema" else type_ != "table" or name in ours
                    ),
                    # the store's one MetaData holds every family: compare the customers tables
                    "include_object": lambda obj, name, type_, reflected, compare_to: (
                        type_ != "table" or name in ours
                    ),
                    "version_table_schema": schema,
                    "compare_type": True,
                },
            )
            diffs = compare_metadata(ctx, tables.customers.metadata)
    finally:
        engine.dispose()
    # SQLite cannot reflect the expression index: alembic reports it as missing there, nothing else
    if engine.dialect.name == "sqlite":
        diffs = [d for d in diffs if not (d[0] == "add_index" and d[1].name == "ix_customers_email_lower")]
    assert diffs == []


def test_downgrade_to_the_catalog_removes_only_the_customers_tables(db_url_schema):
    from alembic import command
    from alembic.config import Config

    from .helpers import MIGRATIONS

    url, schema = db_url_schema
    engine = migrate(url, schema)
    schema = None if engine.dialect.name == "sqlite" else schema
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            config.attributes["schema"] = schema
            command.downgrade(config, "0001_catalog")
        names = set(sa.inspect(engine).get_table_names(schema=schema))
        assert not names & {"customers", "customer_conflicts", "customer_sync_log"}
        assert {"goods", "offers", "rejects"} <= names
        with engine.begin() as conn:  # and back up again
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        assert "customers" in set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()
