"""The catalog store: SQLAlchemy Core tables, Alembic migrations and the version-guarded bulk loader.

See docs/ARCHITECTURE.md ("Store API", "Version guard", "Full exports and the breaker", "Database timeouts
and liveness", "Stock totals").
"""

from onec_pipeline.store.catalog import CatalogStore
from onec_pipeline.store.errors import MassDeactivationError, RowError, StoreError
from onec_pipeline.store.liveness import DatabaseUnresponsiveError
from onec_pipeline.store.load_lock import LoadLockTimeout
from onec_pipeline.store.loads import LoadResult, UploadRef
from onec_pipeline.store.rows import DEACTIVATING_ENTITIES
from onec_pipeline.store.tables import build_metadata
from onec_pipeline.store.transaction import Transaction

__all__ = [
    "DEACTIVATING_ENTITIES",
    "CatalogStore",
    "DatabaseUnresponsiveError",
    "LoadLockTimeout",
    "LoadResult",
    "MassDeactivationError",
    "RowError",
    "StoreError",
    "Transaction",
    "UploadRef",
    "build_metadata",
]
