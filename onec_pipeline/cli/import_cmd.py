"""``onec-pipeline import PATH``: archive an upload and materialise its assets through Dagster."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from onec_pipeline.defs.constants import COUNT_NAMES, ONLY_CHOICES, format_count

if TYPE_CHECKING:  # the command imports rich and Dagster only when it runs (``--help`` stays cheap)
    from rich.console import Console
    from rich.progress import TaskID

    from onec_pipeline.runs import AssetSummary, ImportSummary


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option(
    "--database-url", default=None, help="Catalog database (default: $ONEC_DATABASE_URL or SQLite)."
)
@click.option("--db-schema", default=None, help="PostgreSQL schema (default: $ONEC_DB_SCHEMA or onec).")
@click.option("--dry-run", is_flag=True, help="Read and load inside a transaction, then roll back.")
@click.option(
    "--only", type=click.Choice(tuple(ONLY_CHOICES)), default=None, help="Import only these assets."
)
@click.option(
    "--allow-mass-deactivation",
    is_flag=True,
    help="Let a full export deactivate more than the store's threshold of active rows.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Re-read an upload this catalog already applied (a replay is otherwise skipped as a no-op).",
)
@click.option("--archive-dir", default=None, help="Archive directory (default: $ONEC_ARCHIVE_DIR).")
def import_cmd(
    path: str,
    database_url: str | None,
    db_schema: str | None,
    dry_run: bool,
    only: str | None,
    allow_mass_deactivation: bool,
    force: bool,
    archive_dir: str | None,
) -> None:
    """Archive the upload at PATH (directory, XML file or .zip) like the sensor does and import it.

    The run goes through Dagster: the same assets, partition and checks as the sensor's runs, recorded in
    the instance at $DAGSTER_HOME when set (else an ephemeral one). Exits non-zero when the import fails.
    """
    from rich.console import Console

    # the run's own log lines stay in the Dagster instance; this command prints progress and a summary
    os.environ.setdefault("ONEC_RUN_LOG_LEVEL", "CRITICAL")
    from onec_pipeline.runs import run_import

    display = ProgressDisplay(Console(stderr=True))
    with display.progress:
        summary = run_import(
            path,
            database_url=database_url,
            db_schema=db_schema,
            dry_run=dry_run,
            allow_mass_deactivation=allow_mass_deactivation,
            force=force,
            only=only,
            archive_dir=archive_dir,
            log_progress=display.on_progress,
        )
    print_summary(Console(), summary)
    if not summary.success:
        click.echo(f"error: {summary.error}", err=True)
        sys.exit(1)


class ProgressDisplay:
    """One progress line per asset on the console, driven by ``run_import``'s progress events."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def on_progress(self, event: str, asset: str, details: dict[str, Any]) -> None:
        if event == "archived":
            dup = " (same content archived before)" if details.get("duplicate") else ""
            self.console.print(f"archived as [bold]{details['key']}[/] → {details['path']}{dup}")
            for note in details.get("not_imported", []):
                self.console.print(f"not imported: {note}")
            if details.get("untrusted_export_time"):
                self.console.print(
                    f"[yellow]export time {details['untrusted_export_time']} is ahead of the upload's arrival "
                    "by more than ONEC_FUTURE_TOLERANCE: not trusted, the key carries the arrival time[/]"
                )
            return
        task = self.tasks.get(asset)
        if task is None:
            task = self.tasks[asset] = self.progress.add_task(asset, total=None, detail="")
        if event == "start":
            self.progress.update(task, detail="reading…")
        elif event == "progress":
            self.progress.update(task, **progress_update(details))
        elif event == "done":
            if details.get("has_data"):
                detail = f"{format_count(details['records'])} records in {details['seconds']:.2f}s"
            else:
                detail = "no data in this upload"
            self.progress.update(task, total=1, completed=1, detail=detail)
        elif event == "failed":
            self.progress.update(task, total=1, completed=0, detail="[red]failed[/]")


def progress_update(details: dict[str, Any]) -> dict[str, Any]:
    """A progress event as the fields of the asset's line: records, percentage, rate and time left (the
    bar's total and position are the bytes of the files read)."""
    detail = f"{format_count(details['records'])} records"
    update: dict[str, Any] = {}
    total = int(details.get("total_bytes") or 0)
    if total:
        update.update(total=total, completed=int(details.get("bytes") or 0))
        detail += f" · {details['percent']:.0f}%"
    detail += f" · {format_count(details['rate'])}/s"
    if "eta_seconds" in details:
        detail += f" · {format_duration(details['eta_seconds'])} left"
    update["detail"] = detail
    return update


def format_duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def _status(asset: AssetSummary) -> str:
    status = asset.status
    if status == "success" and asset.metadata.get("has_data") is False:
        status = "no data"
    elif status == "success" and asset.metadata.get("already_applied") is True:
        status = "already applied"
    style = {"failed": "red", "check failed": "red", "not run": "yellow"}.get(asset.status, "")
    return f"[{style}]{status}[/]" if style else status


def pictures_lines(summary: ImportSummary) -> list[str]:
    """One line per asset that met pictures: stored, already stored, kept, missing, refused."""
    lines = []
    for name, asset in summary.assets.items():
        if asset.count("pictures"):
            verb = "would store" if summary.dry_run else "stored"
            lines.append(
                f"pictures of {name}: {format_count(asset.count('pictures'))} named, {verb} "
                f"{format_count(asset.count('pictures_stored'))} new, {format_count(asset.count('pictures_known'))} "
                f"already stored, {format_count(asset.count('pictures_kept'))} kept, "
                f"{format_count(asset.count('pictures_missing'))} missing, "
                f"{format_count(asset.count('pictures_rejected'))} refused (see rejects)"
            )
    return lines


def print_summary(out: Console, summary: ImportSummary) -> None:
    """The table of assets and counts, failed checks, and the run."""
    from rich.table import Table

    title = f"upload {summary.key or '?'}" + (" — dry run, rolled back" if summary.dry_run else "")
    table = Table(title=title)
    table.add_column("asset")
    table.add_column("status")
    for col in COUNT_NAMES:
        table.add_column(col, justify="right")
    table.add_column("seconds", justify="right")
    for name, asset in summary.assets.items():
        table.add_row(
            name,
            _status(asset),
            *(format_count(asset.count(c)) for c in COUNT_NAMES),
            f"{float(asset.metadata.get('seconds', 0.0) or 0.0):.2f}",
        )
    if summary.assets:
        out.print(table)
    for check in summary.checks:
        if not check.passed:
            colour = "red" if check.severity == "ERROR" else "yellow"
            out.print(f"[{colour}]check {check.asset}.{check.name} failed ({check.severity})[/]")
    for line in pictures_lines(summary):
        out.print(line)
    if any(a.metadata.get("already_applied") is True for a in summary.assets.values()):
        out.print(
            "already applied: a replay changes nothing, so those files were not read (--force re-reads)"
        )
    if summary.run_id:
        out.print(f"run {summary.run_id} · {summary.seconds:.1f}s")
    elif summary.success and summary.assets:
        out.print(f"no run started: every asset had applied this upload already · {summary.seconds:.1f}s")
