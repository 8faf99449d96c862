"""``onec-pipeline inspect PATH [--json]``: what an upload (directory, zip or one XML file) holds.

Per file: kind, schema version, namespace, encoding, export time, only-changes flag and record counts per
entity (a full streaming read, so it works on multi-GB files in constant memory); totals for the upload.
Exits with status 1 and the CommerceMLError text on bad input.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import click

from onec_pipeline.commerceml import (
    CommerceMLError,
    Entity,
    FileKind,
    ReadStats,
    Upload,
    collect_lookups,
    discover_upload,
    iter_file_records,
)

ENTITY_COLUMNS = [
    Entity.GROUPS,
    Entity.PROPERTIES,
    Entity.UNITS,
    Entity.PRICE_TYPES,
    Entity.WAREHOUSES,
    Entity.GOODS,
    Entity.OFFERS,
    Entity.PRICES,
    Entity.RESTS,
    Entity.STOCK_TOTALS,
    Entity.CUSTOMERS,
    Entity.ORDERS,
]


def inspect_upload(upload: Upload) -> dict:
    """Read every importable file of ``upload`` and describe it (the data behind the command)."""
    lookups = collect_lookups(upload)
    files = []
    totals: Counter = Counter()
    total_stats = ReadStats()
    for header in upload.all_files:
        stats = ReadStats()
        if header.kind != FileKind.UNKNOWN:
            for _record in iter_file_records(upload, header, stats=stats, lookups=lookups):
                pass
        counts = {str(e): stats.counts.get(e, 0) for e in ENTITY_COLUMNS if stats.counts.get(e, 0)}
        totals.update(stats.counts)
        total_stats.empty_prices += stats.empty_prices
        total_stats.rejects += stats.rejects
        total_stats.seconds += stats.seconds
        files.append(
            {
                "path": header.path,
                "kind": str(header.kind),
                "schema_version": header.schema_version,
                "namespace": header.namespace,
                "encoding": header.encoding,
                "exported_at": header.exported_at.isoformat() if header.exported_at else None,
                "only_changes": header.only_changes,
                "sections": list(header.sections),
                "size": header.size,
                "counts": counts,
                "empty_prices": stats.empty_prices,
                "rejects": stats.rejects,
                "imported": header.kind != FileKind.UNKNOWN,
            }
        )
    exported_at = upload.exported_at
    return {
        "path": str(upload.root),
        "zip": upload.is_zip,
        "exported_at": exported_at.isoformat() if exported_at else None,
        "files": files,
        "documents": len(upload.documents),
        "unknown": len(upload.unknown),
        "other_files": upload.other_files,
        "full": sorted(str(e) for e in upload.entities if upload.is_full(e)),
        "totals": {
            "counts": {str(e): totals[e] for e in ENTITY_COLUMNS if totals.get(e)},
            "empty_prices": total_stats.empty_prices,
            "rejects": total_stats.rejects,
            "files": len(upload.all_files),
            "bytes": upload.size,
            "seconds": round(total_stats.seconds, 3),
        },
    }


def _flag(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _render(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 132))
    table = Table(
        title=f"{report['path']}  (exported {report['exported_at'] or 'unknown'})", show_lines=False
    )
    for column in ("file", "kind", "ver", "namespace", "encoding", "exported", "changes only", "records"):
        table.add_column(column, overflow="fold")
    for f in report["files"]:
        counts = "\n".join(f"{k} {v}" for k, v in f["counts"].items())
        extra = []
        if f["empty_prices"]:
            extra.append(f"empty prices {f['empty_prices']}")
        if f["rejects"]:
            extra.append(f"rejects {f['rejects']}")
        if not f["imported"]:
            extra.append("not imported")
        records = "\n".join(x for x in (counts, *extra) if x) or "-"
        table.add_row(
            f["path"],
            f["kind"],
            f["schema_version"] or "-",
            (f["namespace"] or "-").removeprefix("urn:1C.ru:"),
            f["encoding"] or "-",
            (f["exported_at"] or "-").replace("T", " "),
            _flag(f["only_changes"]),
            records,
        )
    console.print(table)
    totals = report["totals"]
    summary = Table(title="upload totals")
    summary.add_column("entity")
    summary.add_column("records", justify="right")
    for k, v in totals["counts"].items():
        summary.add_row(k, str(v))
    summary.add_row("empty prices", str(totals["empty_prices"]))
    summary.add_row("rejects", str(totals["rejects"]))
    console.print(summary)
    console.print(
        f"{totals['files']} XML files ({report['documents']} order files, {report['unknown']} not CommerceML), "
        f"{report['other_files']} other files, {totals['bytes']} bytes, read in {totals['seconds']} s; "
        f"full exports: {', '.join(report['full']) or 'none'}"
    )


@click.command(name="inspect")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
def inspect_cmd(path: str, as_json: bool) -> None:
    """Describe a 1C upload (directory, .zip or one XML file): per-file kind, version, counts; totals."""
    try:
        report = inspect_upload(discover_upload(path))
    except CommerceMLError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _render(report)
