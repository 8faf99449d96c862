"""Alembic environment for the catalog store.

Run programmatically by :meth:`onec_pipeline.store.CatalogStore.upgrade`, which passes an open connection
(``config.attributes["connection"]``) and the target schema (``config.attributes["schema"]``). From the
command line, pass ``-x schema=onec`` and set ``sqlalchemy.url``. On PostgreSQL the schema is created when
missing and the version table lives inside it; SQLite has no schemas.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from onec_pipeline.settings import normalise_database_url
from onec_pipeline.store.schema import build_metadata

config = context.config


def _schema_for(dialect_name: str) -> str | None:
    schema = config.attributes.get("schema")
    if schema is None:
        schema = context.get_x_argument(as_dictionary=True).get("schema")
    return None if dialect_name == "sqlite" else (schema or None)


def _run(connection: sa.Connection) -> None:
    schema = _schema_for(connection.dialect.name)
    if schema:
        quoted = connection.dialect.identifier_preparer.quote_schema(schema)
        connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
    config.attributes["schema"] = schema
    context.configure(
        connection=connection,
        target_metadata=build_metadata(schema),
        version_table_schema=schema,
        include_schemas=False,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # command-line use: alembic -x schema=onec upgrade head
    engine = sa.create_engine(normalise_database_url(config.get_main_option("sqlalchemy.url")))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
