"""``onec-pipeline orders export [--dry-run]``: pending site orders to the outbox, for scripts.

The same work as the ``orders_export`` asset (``store.orders.export_to_outbox``), without Dagster: one file of
CommerceML Документы in the outbox, the batch recorded. ``--dry-run`` shows what would go (the file is written
and removed again, nothing is marked). Exit status 0 also when nothing is pending; 1 with the reason on stderr
when the database or the options are wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from onec_pipeline.cli.db_cmd import _database_url_option, _schema_option
from onec_pipeline.settings import OrderSettings, Settings


@click.group("orders")
def orders() -> None:
    """Site orders for 1C."""


@orders.command("export")
@_database_url_option
@_schema_option
@click.option(
    "--outbox-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: Settings.from_env().outbox_dir,
    show_default="$ONEC_OUTBOX_DIR or $ONEC_HOME/outbox",
    help="Where the file goes.",
)
@click.option(
    "--version",
    "version",
    default=lambda: OrderSettings.from_env().version,
    show_default="$ONEC_ORDERS_VERSION or 2.05",
    help="CommerceML schema version: 2.03, 2.04, 2.05, 2.08, 2.09, 2.10 or 3.1.",
)
@click.option(
    "--encoding",
    default=lambda: OrderSettings.from_env().encoding,
    show_default="$ONEC_ORDERS_ENCODING or windows-1251",
    help="utf-8 or windows-1251.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be exported; write and mark nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def export(
    database_url: str,
    schema: str,
    outbox_dir: Path,
    version: str,
    encoding: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Write the orders waiting for 1C (needs_1c_export, not yet in an outbox file) to one CommerceML file."""
    from onec_pipeline.commerceml.order_writer import dialect_for, encoding_for
    from onec_pipeline.store import CatalogStore
    from onec_pipeline.store.orders import export_to_outbox

    try:
        dialect_for(version), encoding_for(encoding)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    store = CatalogStore(database_url, schema=schema)
    try:
        batch = export_to_outbox(store, outbox_dir, version=version, encoding=encoding, dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001 - report, exit 1
        click.echo(f"orders export failed: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        store.dispose()
    result = {
        "exported": len(batch.order_ids),
        "order_ids": batch.order_ids,
        "file": None if dry_run or batch.path is None else str(batch.path),
        "batch": None if dry_run else batch.id,
        "version": version,
        "encoding": encoding,
        "dry_run": dry_run,
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif not batch.order_ids:
        click.echo("nothing to export")
    elif dry_run:
        click.echo(
            f"dry run: would export {len(batch.order_ids)} order(s): {', '.join(batch.order_ids[:20])}"
        )
    else:
        click.echo(f"exported {len(batch.order_ids)} order(s) to {batch.path} (batch {batch.id})")
