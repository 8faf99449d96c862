"""The catalog store: SQLAlchemy Core tables, Alembic migrations and the version-guarded bulk loader.

See docs/ARCHITECTURE.md ("Store API", "Version guard", "Stock totals").
"""

from onec_pipeline.store.catalog import (
    CatalogStore,
    LoadResult,
    MassDeactivationError,
    StoreError,
    Transaction,
    UploadRef,
)
from onec_pipeline.store.rows import DEACTIVATING_ENTITIES, RowError
from onec_pipeline.store.schema import build_metadata

__all__ = [
    "DEACTIVATING_ENTITIES",
    "CatalogStore",
    "LoadResult",
    "MassDeactivationError",
    "RowError",
    "StoreError",
    "Transaction",
    "UploadRef",
    "build_metadata",
]
