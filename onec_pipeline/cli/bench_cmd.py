"""``onec-pipeline bench``: the end-to-end benchmark (see ``onec_pipeline.bench``)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click


@click.command("bench")
@click.option("--offers", type=int, default=None, help="Offers in the synthetic package (default 1,000,000).")
@click.option("--quick", is_flag=True, help="A quick run: 50,000 offers (unless --offers is given).")
@click.option(
    "--database-url",
    default=None,
    help="PostgreSQL server + maintenance database; a fresh database is created there "
    "(default: ONEC_BENCH_DATABASE_URL, ONEC_TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres).",
)
@click.option("--keep", is_flag=True, help="Keep the bench database and the generated files.")
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report as JSON."
)
@click.option(
    "--markdown",
    "md_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the table as Markdown.",
)
@click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), help="Where to write the upload."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--no-xmllint", is_flag=True, help="Measure the raw parse with lxml even if xmllint is installed."
)
@click.option(
    "--profile",
    type=click.Path(file_okay=False, path_type=Path),
    help="Sample the import stages with py-spy (if installed) into this directory and print the hottest frames.",
)
@click.option("--no-reimport", is_flag=True, help="Skip the second import of the identical upload.")
@click.option("--no-prices-only", is_flag=True, help="Skip the prices-only upload.")
@click.option(
    "--parallel",
    is_flag=True,
    help="Import like the sensor's runs: one process per step (threads of one process under 256 MB of "
    "XML), prices and rests side by side.",
)
@click.option(
    "--sizes",
    default=None,
    help="Several runs, one per size (offers, comma-separated, k/m suffixes: 20k,200k,1m), each in every "
    "mode of --modes, then one table comparing them.",
)
@click.option(
    "--modes",
    default=None,
    help="With --sizes: one-process, parallel or both (comma-separated; default: both).",
)
def bench(
    offers,
    quick,
    database_url,
    keep,
    json_out,
    md_out,
    workdir,
    seed,
    no_xmllint,
    profile,
    no_reimport,
    no_prices_only,
    parallel,
    sizes,
    modes,
) -> None:
    """Generate a 1C:УТ 11 split package, import it end to end into a fresh PostgreSQL database, and compare
    with the floor (raw streaming parse + COPY of the same rows); also a re-import and a prices-only upload."""
    from onec_pipeline.bench import DEFAULT_OFFERS, QUICK_OFFERS, markdown, render, run_bench

    # a plain `kill` must still drop the bench database and remove the files (run_bench's finally)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    offer_count = offers if offers is not None else (QUICK_OFFERS if quick else DEFAULT_OFFERS)
    if workdir:
        workdir.mkdir(parents=True, exist_ok=True)
    options = dict(
        server_url=database_url,
        keep=keep,
        workdir=workdir,
        seed=seed,
        use_xmllint=not no_xmllint,
        profile=profile,
        reimport=not no_reimport,
        prices_only=not no_prices_only,
        log=lambda msg: click.echo(msg, err=True),
    )
    if sizes is not None:
        _matrix(sizes, modes, options, json_out, md_out)
        return
    report = run_bench(offer_count, parallel=parallel, **options)
    render(report)
    if json_out:
        json_out.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    if md_out:
        md_out.write_text(markdown(report) + "\n")
    if any(stage.error for stage in report.stages):
        raise SystemExit(1)


def _matrix(sizes: str, modes: str | None, options: dict, json_out: Path | None, md_out: Path | None) -> None:
    """``--sizes``: every size in every mode, each run's own table, then the comparison."""
    from onec_pipeline.bench import markdown, render
    from onec_pipeline.bench.matrix import MODES, matrix_markdown, parse_modes, parse_sizes, run_matrix

    try:
        size_list = parse_sizes(sizes)
        mode_list = parse_modes(modes) if modes else list(MODES)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    reports = run_matrix(size_list, mode_list, **options)
    for report in reports:
        render(report)
    table = matrix_markdown(reports)
    click.echo(table)
    if json_out:
        dump = [report.to_dict() for report in reports]
        json_out.write_text(json.dumps(dump, indent=2, ensure_ascii=False, default=str))
    if md_out:
        md_out.write_text(table + "\n\n" + "\n\n".join(markdown(report) for report in reports) + "\n")
    if any(stage.error for report in reports for stage in report.stages):
        raise SystemExit(1)
