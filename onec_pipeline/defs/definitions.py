"""The one ``Definitions`` of the ``onec_pipeline`` code location: the concerns' definitions merged, with
the resources and the executor every run uses. Nothing is defined here."""

from __future__ import annotations

from dagster import Definitions

from .catalog import definitions as catalog
from .customers import definitions as customers
from .executor import run_executor
from .intake import definitions as intake
from .orders import definitions as orders
from .resources import default_resources
from .summary import definitions as summary

defs = Definitions.merge(
    catalog.defs,
    customers.defs,
    intake.defs,
    orders.defs,
    summary.defs,
    Definitions(resources=default_resources(), executor=run_executor()),
)
