"""The ``onec-pipeline`` command line.

Subcommands live in their own modules and are imported only when invoked, so that
``onec-pipeline inspect`` does not pay for importing Dagster.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" (a click.Command)
SUBCOMMANDS: dict[str, str] = {
    "inspect": "onec_pipeline.cli.inspect_cmd:inspect_cmd",
    "db": "onec_pipeline.cli.db_cmd:db",
    "import": "onec_pipeline.cli.import_cmd:import_cmd",
    "demo": "onec_pipeline.cli.demo_cmd:demo",
    "demo-data": "onec_pipeline.cli.demo_cmd:demo_data",
    "bench": "onec_pipeline.cli.bench_cmd:bench",
    "exchange": "onec_pipeline.cli.exchange_cmd:exchange",
    "orders": "onec_pipeline.cli.orders_cmd:orders",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="onec_pipeline")
def main() -> None:
    """Move 1C:Enterprise CommerceML uploads into the catalog database, through Dagster."""


if __name__ == "__main__":  # pragma: no cover
    main()
