"""``onec-pipeline exchange``: the 1C exchange endpoint (``serve``) and its password hash (``hash-password``)."""

from __future__ import annotations

import os

import click


@click.group("exchange")
def exchange() -> None:
    """The 1C:Enterprise HTTP exchange endpoint (CommerceML, /1c_exchange)."""


@exchange.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8081, show_default=True, type=int, help="Port to listen on.")
def serve_cmd(host: str, port: int) -> None:
    """Serve /1c_exchange and /bitrix/admin/1c_exchange.php. 1C's credentials come from ONEC_EXCHANGE_USER
    and ONEC_EXCHANGE_PASSWORD (or _PASSWORD_FILE / _PASSWORD_HASH); uploads are written to ONEC_IMPORT_DIR
    for the upload sensor, and import calls are answered from the Dagster instance at DAGSTER_HOME."""
    from onec_pipeline.exchange import ConfigError, ExchangeConfig
    from onec_pipeline.exchange.server import serve

    try:
        config = ExchangeConfig.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not os.environ.get("DAGSTER_HOME", "").strip():
        raise click.ClickException(
            "set DAGSTER_HOME: the endpoint answers mode=import from the runs of the Dagster instance there"
        )
    click.echo(f"1C exchange: http://{host}:{port}/1c_exchange  (uploads into {config.import_dir})", err=True)
    serve(config, host=host, port=port)


@exchange.command("hash-password")
@click.password_option("--password", prompt="1C exchange password", help="The password to hash.")
def hash_password_cmd(password: str) -> None:
    """Print a hash for ONEC_EXCHANGE_PASSWORD_HASH (PBKDF2-SHA256), so the password itself is not stored."""
    from onec_pipeline.exchange.config import hash_password

    click.echo(hash_password(password))


@exchange.command("bench")
@click.option("--goods", default=10_000, show_default=True, type=int, help="Goods in the generated catalog.")
@click.option("--offers", default=17_000, show_default=True, type=int, help="Offers (variants) in it.")
@click.option("--database-url", default=None, help="PostgreSQL server + maintenance database (as `bench`).")
@click.option("--keep", is_flag=True, help="Keep the bench database and the files.")
def bench_cmd(goods: int, offers: int, database_url: str | None, keep: bool) -> None:
    """Send a generated full export as 113 per-entity 3.1 segments (one session each) through the endpoint,
    import its one upload like the sensor's runs, and print what each part took."""
    from onec_pipeline.bench.exchange import run_exchange_bench

    report = run_exchange_bench(
        goods=goods, offers=offers, server_url=database_url, keep=keep, log=lambda m: click.echo(m, err=True)
    )
    for line in report.lines():
        click.echo(line)
    if report.error:
        raise click.ClickException(report.error)
