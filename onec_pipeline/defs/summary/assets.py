"""``catalog_summary``: the catalog's state at a glance (not partitioned).

Active and inactive rows per table, the last full export of each entity, offers in / out of stock, stock
per warehouse, prices per price type and the rejects of the last uploads, as numbers (Dagster plots each
over time on the asset's Plots tab) and readable tables; its checks are the catalog-wide audit checks
(``defs/catalog/audit.py``). The queries live in ``onec_pipeline.store.summary``; pandas is imported only
while this asset runs.
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ..catalog.audit import AUDIT_SPECS, audit_results
from ..constants import CATALOG_GROUP, IMPORT_ASSETS, SUMMARY_ASSET
from ..resources import CatalogDatabase


@asset(
    name=SUMMARY_ASSET,
    deps=list(IMPORT_ASSETS),
    group_name=CATALOG_GROUP,
    kinds={"python", "sql", "pandas"},
    check_specs=AUDIT_SPECS,
    description=(
        "The catalog at a glance: active / inactive rows per table, last full export per entity, offers "
        "out of stock, stock per warehouse, prices per price type, rejects of the last uploads (see Plots "
        "for each number over time). Refreshed after every import run and by the nightly audit, with the "
        "catalog-wide checks."
    ),
)
def catalog_summary(context: AssetExecutionContext, catalog_db: CatalogDatabase) -> MaterializeResult:
    # pandas only here: the definitions (and every import run's process) never import it
    from onec_pipeline.store.summary import read_summary

    from .metadata import overview, summary_metadata

    store = catalog_db.get_store()
    summary = read_summary(store)
    context.log.info(f"catalog summary: {overview(summary)}")
    metadata = summary_metadata(summary)
    metadata["database"] = MetadataValue.text(store.engine.url.render_as_string(hide_password=True))
    return MaterializeResult(metadata=metadata, check_results=audit_results(store))
