"""The store's errors (a module of their own: the loader and the customers rules both raise them)."""

from __future__ import annotations

from onec_pipeline.commerceml.records import Entity


class StoreError(RuntimeError):
    """Base class of the store's own errors."""


class MassDeactivationError(StoreError):
    """A full export would deactivate more than the allowed share of an entity's active rows."""

    def __init__(self, entity: Entity, upload: str, would_deactivate: int, active: int, threshold: float):
        self.entity = entity
        self.upload = upload
        self.would_deactivate = would_deactivate
        self.active = active
        self.share = would_deactivate / active if active else 0.0
        self.threshold = threshold
        super().__init__(
            f"full export {upload} would deactivate {would_deactivate} of {active} active {entity.value} "
            f"({self.share:.1%} > threshold {threshold:.0%}); nothing was changed. If this is intended, "
            f"load it with allow_mass_deactivation=True"
        )


class RowError(ValueError):
    """A record value that cannot be stored (becomes a reject with this message as the reason)."""
