"""The store's errors (a module of their own: the loader and the customers rules both raise them)."""

from __future__ import annotations

from onec_pipeline.commerceml.records import Entity


class StoreError(RuntimeError):
    """Base class of the store's own errors."""


class MassDeactivationError(StoreError):
    """A full export would deactivate more than the allowed share of an entity's active rows.

    ``older_upload`` set: the breaker judged backwards (see :mod:`onec_pipeline.store.full_exports`) — the
    full export ``upload`` was applied before the older upload ``older_upload``, and now hides that share.
    """

    def __init__(
        self,
        entity: Entity,
        upload: str,
        would_deactivate: int,
        active: int,
        threshold: float,
        *,
        older_upload: str | None = None,
    ):
        self.entity = entity
        self.upload = upload
        self.would_deactivate = would_deactivate
        self.active = active
        self.share = would_deactivate / active if active else 0.0
        self.threshold = threshold
        self.older_upload = older_upload
        if older_upload is None:
            message = (
                f"full export {upload} would deactivate {would_deactivate} of {active} active {entity.value} "
                f"({self.share:.1%} > threshold {threshold:.0%}); nothing was changed. If this is intended, "
                f"load it with allow_mass_deactivation=True"
            )
        else:
            message = (
                f"upload {older_upload} is older than the full export {upload} of {entity.value}, which was "
                f"applied first and leaves {would_deactivate} of {active} {entity.value} inactive "
                f"({self.share:.1%} > threshold {threshold:.0%}): in chronological order the breaker would "
                f"have refused {upload}. Upload {older_upload} was refused; nothing was changed. If {upload} "
                f"is right, load {older_upload} with allow_mass_deactivation=True; if not, apply a newer, "
                f"correct full export first"
            )
        super().__init__(message)


class RowError(ValueError):
    """A record value that cannot be stored (becomes a reject with this message as the reason)."""
