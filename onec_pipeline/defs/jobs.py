"""The jobs operators know from the old admin page. All partitioned by upload; every run carries the
``onec/import`` tag (limited to one concurrent run in dagster.yaml). Config defaults are safe:
``dry_run: false``, ``allow_mass_deactivation: false`` (see ``ImportConfig``)."""

from dagster import AssetKey, AssetSelection, OpExecutionContext, define_asset_job, job, op

from onec_pipeline.defs.assets import IMPORT_TAG, ONLY_CHOICES
from onec_pipeline.defs.partitions import uploads_partitions
from onec_pipeline.defs.resources import UploadDirs

IMPORT_TAGS = {IMPORT_TAG: "true"}


def import_selection(names) -> AssetSelection:
    """The assets plus their per-upload checks (the catalog-wide audit checks are not partitioned and
    belong to ``catalog_audit``, never to an import run)."""
    from onec_pipeline.defs.checks import upload_check_keys_for

    keys = [AssetKey(n) for n in names]
    selection = AssetSelection.assets(*keys).without_checks()
    check_keys = upload_check_keys_for(names)
    if check_keys:
        selection = selection | AssetSelection.checks(*check_keys)
    return selection


def _import_job(name: str, only: str, description: str):
    return define_asset_job(
        name=name,
        selection=import_selection(ONLY_CHOICES[only]),
        partitions_def=uploads_partitions,
        tags=IMPORT_TAGS,
        description=description,
    )


import_catalog = _import_job(
    "import_catalog", "catalog", "Groups, goods, offers, prices and stock of one upload (the full import)."
)
import_prices = _import_job("import_prices", "prices", "Price types and prices of one upload.")
import_stocks = _import_job("import_stocks", "stocks", "Warehouses and stock of one upload.")


def make_import_upload(has_customers_asset: bool):
    """Every import asset of one upload (what the sensor's runs select from); used by ``run_import`` for
    out-of-process execution (prices and rests in parallel processes)."""
    names = [
        n for only in ONLY_CHOICES for n in ONLY_CHOICES[only] if has_customers_asset or n != "customers"
    ]
    return define_asset_job(
        name="import_upload",
        selection=import_selection(names),
        partitions_def=uploads_partitions,
        tags=IMPORT_TAGS,
        description="All assets of one upload (run_import --parallel; the sensor selects a subset).",
    )


def make_import_customers(has_customers_asset: bool):
    if not has_customers_asset:
        return None
    return _import_job("import_customers", "customers", "Customers (Контрагенты) of one upload.")


def catalog_audit_job():
    from onec_pipeline.defs.checks import audit_check_keys

    return define_asset_job(
        name="catalog_audit",
        selection=AssetSelection.checks(*audit_check_keys()),
        description="Catalog-wide integrity checks (the nightly audit).",
    )


@op(description="Remove archived uploads older than ONEC_RETENTION_DAYS (never the newest full export).")
def apply_archive_retention(context: OpExecutionContext, upload_dirs: UploadDirs) -> list[str]:
    from datetime import datetime

    from onec_pipeline import intake

    archive = upload_dirs.archive()
    doomed = intake.select_for_retention(
        intake.retention_items(archive), now=datetime.now(), retention_days=upload_dirs.retention()
    )
    known = set(context.instance.get_dynamic_partitions(uploads_partitions.name))
    for key in doomed:
        intake.remove_archived(archive, key)
        if key in known:
            context.instance.delete_dynamic_partition(uploads_partitions.name, key)
        context.log.info(f"retention: removed archived upload {key} and its partition")
    context.log.info(f"retention: {len(doomed)} upload(s) removed, keeping {upload_dirs.retention()} days")
    return doomed


@job(description="Apply the archive retention policy (archive_retention schedule).")
def archive_retention_job():
    apply_archive_retention()
