"""The import jobs operators know from the old admin page, and the dry run.

The import jobs are partitioned by upload; every run carries the ``onec/import`` tag (limited to one
concurrent run in dagster.yaml). Config defaults are safe: ``allow_mass_deactivation: false``,
``force: false`` (see ``ImportConfig``). ``import_upload`` is also the job of the upload sensor's runs (they
select the subset of its assets an upload holds), so the Runs list names them.

``dry_run_upload`` is the only way to dry-run an upload in the UI: one op per import asset, each loading its
record families inside a transaction that is rolled back, always re-reading the files (also of an upload
already applied), and recording the counts as an **observation** of the asset's partition — never a
materialisation, so the asset's latest materialisation stays the real one. Its runs are tagged
``onec/dry_run: true``. Nothing to configure: the launchpad's default is the dry run.
"""

from dagster import (
    Config,
    Failure,
    MetadataValue,
    OpDefinition,
    OpExecutionContext,
    ResourceParam,
    define_asset_job,
    job,
    op,
)

from ..catalog.assets import run_asset_import
from ..constants import DRY_RUN_TAG, IMPORT_ASSETS, IMPORT_TAGS, ONLY_CHOICES, POOL, format_count
from ..customers.assets import run_customers_import
from ..importing import DryRunConfig, dry_run_observation
from ..orders.assets import run_order_updates
from ..partitions import uploads_partitions
from ..resources import CatalogDatabase, ImportProgress, UploadDirs
from ..selection import import_selection

DRY_RUN_JOB = "dry_run_upload"
DRY_RUN_SUFFIX = "_dry_run"  # op of asset X in the dry-run job: X_dry_run
DRY_RUN_TAGS = {**IMPORT_TAGS, DRY_RUN_TAG: "true"}  # queued like an import: it takes the load lock too


def _import_job(name: str, only: str, description: str):  # -> an unresolved asset job definition
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
import_customers = _import_job("import_customers", "customers", "Customers (Контрагенты) of one upload.")
import_orders = _import_job("import_orders", "orders", "1C's order updates (Документ) of one upload.")

# every import asset of one upload: the job of the upload sensor's runs (each selects the assets its upload
# holds) and of ``run_import(..., parallel=True)`` (prices and rests in parallel processes)
import_upload = define_asset_job(
    name="import_upload",
    selection=import_selection(IMPORT_ASSETS),
    partitions_def=uploads_partitions,
    tags=IMPORT_TAGS,
    description="One upload, as it arrived: the assets whose data it holds (the upload sensor's runs).",
)


# ------------------------------------------------------------------------------------------------ dry run


class DryRunOptions(Config):
    """Run config of a dry-run op (defaults fit: the launchpad needs nothing)."""

    allow_mass_deactivation: bool = False  # see what a full export deactivating more than the threshold does


def _dry_run(
    asset_name: str,
    context: OpExecutionContext,
    options: DryRunOptions,
    catalog_db: CatalogDatabase,
    upload_dirs: UploadDirs,
    progress: ImportProgress,
) -> None:
    key = context.partition_key
    config = DryRunConfig(allow_mass_deactivation=options.allow_mass_deactivation)
    own_runner = {"customers": run_customers_import, "order_updates": run_order_updates}.get(asset_name)
    if own_runner is not None:
        result = own_runner(
            key,
            config=config,
            catalog_db=catalog_db,
            upload_dirs=upload_dirs,
            log=context.log,
            progress=progress,
        )
    else:
        result = run_asset_import(
            asset_name,
            key,
            config=config,
            catalog_db=catalog_db,
            upload_dirs=upload_dirs,
            log=context.log,
            progress=progress,
        )
    has_data = (result.metadata or {}).get("has_data")
    if getattr(has_data, "value", True) is False:
        return  # nothing of this asset in the upload: no observation to clutter its page
    context.log_event(dry_run_observation(asset_name, key, result))


def _dry_run_op(asset_name: str) -> OpDefinition:
    @op(
        name=f"{asset_name}{DRY_RUN_SUFFIX}",
        pool=POOL,
        description=f"Dry run of {asset_name}: load inside a transaction, roll back, observe the counts.",
    )
    def _op(
        context: OpExecutionContext,
        config: DryRunOptions,
        catalog_db: CatalogDatabase,
        upload_dirs: UploadDirs,
        progress: ResourceParam[ImportProgress],
    ) -> None:
        _dry_run(asset_name, context, config, catalog_db, upload_dirs, progress)

    return _op


DRY_RUN_OPS = {name: _dry_run_op(name) for name in IMPORT_ASSETS}


@job(
    name=DRY_RUN_JOB,
    partitions_def=uploads_partitions,
    tags=DRY_RUN_TAGS,
    description="Dry run of one upload: every asset loads inside a transaction that is rolled back and "
    "records its counts as an observation (never a materialisation). Re-reads applied uploads too.",
)
def dry_run_upload() -> None:
    for dry_run_op in DRY_RUN_OPS.values():
        dry_run_op()


def dry_run_op_names(asset_names: list[str]) -> list[str]:
    """The dry-run job's ops of these assets (its op selection)."""
    return [f"{name}{DRY_RUN_SUFFIX}" for name in asset_names]


# -------------------------------------------------------------------------------------------- stuck upload

STUCK_JOB = "stuck_upload"
STUCK_TAG = "onec/stuck"


class StuckUpload(Config):
    """What the upload sensor saw (its run request fills this in)."""

    incoming: str  # the upload's name in the incoming directory
    path: str = ""
    reason: str = ""  # why it is not complete (the sensor's verdict)
    unchanged_seconds: float = 0.0  # since its newest file last changed
    threshold_seconds: float = 0.0  # ONEC_STUCK_SECONDS
    files: int = 0
    size: int = 0


@op(description="Fails with the reason an incoming upload is stuck: a failed run that alerts can catch.")
def report_stuck_upload(config: StuckUpload) -> None:
    minutes = config.unchanged_seconds / 60
    raise Failure(
        description=(
            f"upload {config.incoming!r} is stuck in the incoming directory: {config.reason} — unchanged for "
            f"{minutes:,.0f} min (threshold {config.threshold_seconds / 60:,.0f} min, ONEC_STUCK_SECONDS). "
            "Complete the transfer (or write its .ready marker), or remove it; the sensor imports it as soon "
            "as it is complete."
        ),
        metadata={
            "incoming": MetadataValue.text(config.incoming),
            "path": MetadataValue.path(config.path or config.incoming),
            "reason": MetadataValue.text(config.reason),
            "unchanged_minutes": MetadataValue.float(round(minutes, 1)),
            "files": MetadataValue.text(format_count(config.files)),
            "bytes": MetadataValue.text(format_count(config.size)),
        },
        allow_retries=False,
    )


@job(
    name=STUCK_JOB,
    tags={STUCK_TAG: "true"},
    description="Requested by onec_upload_sensor, once, for an upload that stays incomplete and unchanged "
    "past ONEC_STUCK_SECONDS: its one step fails with the reason (visible in Runs, caught by alerts).",
)
def stuck_upload() -> None:
    report_stuck_upload()


import_jobs = [
    import_catalog,
    import_prices,
    import_stocks,
    import_customers,
    import_orders,
    import_upload,
    dry_run_upload,
]
