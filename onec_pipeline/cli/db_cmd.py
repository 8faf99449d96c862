"""``onec-pipeline db upgrade``: create or migrate the catalog tables (Alembic, up to head).

The store also migrates itself on first use; this command is for deployments that prepare the database
before anything runs (and for checking which revision a database is at: ``db current``).
"""

from __future__ import annotations

from pathlib import Path

import click

from onec_pipeline.settings import Settings


def _database_url_option(f):
    return click.option(
        "--database-url",
        default=lambda: Settings.from_env().database_url,
        show_default="$ONEC_DATABASE_URL or the SQLite file under $ONEC_HOME",
        help="Catalog database (postgresql://… or sqlite:///…).",
    )(f)


def _schema_option(f):
    return click.option(
        "--schema",
        default=lambda: Settings.from_env().db_schema,
        show_default="$ONEC_DB_SCHEMA or onec",
        help="PostgreSQL schema of the catalog tables (ignored on SQLite).",
    )(f)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


@click.group("db")
def db() -> None:
    """Catalog database maintenance."""


@db.command("upgrade")
@_database_url_option
@_schema_option
def upgrade(database_url: str, schema: str) -> None:
    """Apply the Alembic migrations up to head (idempotent)."""
    from onec_pipeline.store import CatalogStore

    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///") :]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    store = CatalogStore(database_url, schema=schema)
    try:
        revision = store.upgrade()
    except Exception as exc:  # noqa: BLE001 - report, exit 1
        raise click.ClickException(f"upgrade of {_safe_url(database_url)} failed: {exc}") from exc
    finally:
        store.dispose()
    where = f"schema {store.schema}" if store.schema else "no schema"
    click.echo(f"{_safe_url(database_url)} ({where}) is at revision {revision}")


@db.command("current")
@_database_url_option
@_schema_option
def current(database_url: str, schema: str) -> None:
    """Print the current migration revision (none when the tables were never created)."""
    from onec_pipeline.store import CatalogStore

    store = CatalogStore(database_url, schema=schema)
    try:
        revision = store.current_revision()
    finally:
        store.dispose()
    click.echo(revision or "none")


@db.command("apply-rules")
@_database_url_option
@_schema_option
@click.option("--dry-run", is_flag=True, help="Report what would change, then roll back.")
def apply_rules(database_url: str, schema: str, dry_run: bool) -> None:
    """Apply the shop's rules to the whole catalog now (after changing ONEC_CATALOG_ROOTS,
    ONEC_STOCK_WAREHOUSES or ONEC_BRAND_PROPERTIES); the same as the job reevaluate_shop_rules."""
    from onec_pipeline.store import CatalogStore

    store = CatalogStore(database_url, schema=schema)
    try:
        report = store.reevaluate_rules(dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001 - report, exit 1
        raise click.ClickException(
            f"applying the shop's rules to {_safe_url(database_url)} failed: {exc}"
        ) from exc
    finally:
        store.dispose()
    for name, value in report.rules.describe().items():
        click.echo(f"{name} = {value}")
    if report.roots is not None and report.roots.not_found:
        click.echo(
            f"warning: ONEC_CATALOG_ROOTS names no stored group for {'; '.join(report.roots.not_found)}"
        )
    click.echo(
        f"{report.admission_changed:,} admissions, {report.quantities:,} quantities, {report.brands:,} brands "
        + ("would change (dry run: rolled back)" if dry_run else "changed")
    )
    for label, n in sorted(report.admission.items()):
        click.echo(f"  {label}: {n:,}")
