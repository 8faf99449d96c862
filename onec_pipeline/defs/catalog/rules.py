"""The shop's rules over the whole catalog: the asset ``shop_rules`` and the job ``reevaluate_shop_rules``.

The import assets apply the rules (``settings.ShopRules``; README, "The shop's rules") to what each upload
writes; after an operator changes a setting (``ONEC_CATALOG_ROOTS``, ``ONEC_STOCK_WAREHOUSES``,
``ONEC_BRAND_PROPERTIES``) this job applies it to every row at once: sellable quantities, brands and root
admission, under the load lock, set-based (only rows whose value changes are written).
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset, define_asset_job

from ..constants import CATALOG_GROUP, POOL, format_count
from ..resources import CatalogDatabase

SHOP_RULES_ASSET = "shop_rules"


@asset(
    name=SHOP_RULES_ASSET,
    pool=POOL,
    group_name=CATALOG_GROUP,
    kinds={"python", "sql"},
    description=(
        "The shop's rules re-evaluated over the whole catalog (root admission, sellable quantities, brands): "
        "run it after changing ONEC_CATALOG_ROOTS, ONEC_STOCK_WAREHOUSES or ONEC_BRAND_PROPERTIES."
    ),
)
def shop_rules(context: AssetExecutionContext, catalog_db: CatalogDatabase) -> MaterializeResult:
    report = catalog_db.get_store().reevaluate_rules()
    counts = report.admission
    summary = ", ".join(f"{format_count(n)} {label}" for label, n in sorted(counts.items()))
    context.log.info(
        f"shop rules re-evaluated: {format_count(report.admission_changed)} admissions, "
        f"{format_count(report.quantities)} quantities, {format_count(report.brands)} brands changed ({summary})"
    )
    if report.roots is not None and report.roots.not_found:
        context.log.warning(
            f"ONEC_CATALOG_ROOTS names no stored group for {'; '.join(report.roots.not_found)}"
        )
    metadata = {
        "shop_rules": MetadataValue.json(report.as_metadata()),
        "admission": MetadataValue.json(counts),
        "admission_changed": MetadataValue.int(report.admission_changed),
        "quantities_changed": MetadataValue.int(report.quantities),
        "brands_changed": MetadataValue.int(report.brands),
    }
    metadata["goods_not_admitted"] = MetadataValue.int(report.goods_not_admitted)
    return MaterializeResult(metadata=metadata)


reevaluate_shop_rules = define_asset_job(
    name="reevaluate_shop_rules",
    selection=[SHOP_RULES_ASSET],
    description="Apply the shop's rules (settings) to the whole catalog now, not only to the next import.",
)
