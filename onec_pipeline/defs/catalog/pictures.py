"""The pictures of the goods and offers assets: published into the media store while the rows stream into
the asset's transaction (``onec_pipeline.media.PicturePublisher``), reported in the asset's metadata."""

from __future__ import annotations

import logging

from dagster import MetadataValue

from onec_pipeline.commerceml import Entity, Upload
from onec_pipeline.media import PicturePublisher, PictureReport
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.media import stored_pictures

from ..constants import format_count
from ..importing import Metadata
from ..resources import UploadDirs

#: the entities whose records carry pictures
PICTURE_ENTITIES = frozenset({Entity.GOODS, Entity.OFFERS})


def picture_publisher(
    present: set[Entity], upload: Upload, upload_dirs: UploadDirs, store: CatalogStore, *, dry_run: bool
) -> PicturePublisher | None:
    """The publisher of an asset loading goods or offers (None for the others: nothing to look at); a
    picture the upload lacks keeps the stored file the catalog's active rows name for the same path."""
    if PICTURE_ENTITIES.isdisjoint(present):
        return None
    return PicturePublisher(
        upload.root, upload_dirs.media(), dry_run=dry_run, earlier=lambda: stored_pictures(store)
    )


def pictures_metadata(report: PictureReport, *, dry_run: bool) -> Metadata:
    """``pictures`` (references), ``pictures_stored`` (new files; a dry run: that would be), ``pictures_known``,
    ``pictures_missing`` (not in the upload), ``pictures_rejected`` and a readable ``pictures_note``."""
    metadata: Metadata = {
        "pictures": MetadataValue.int(report.references),
        "pictures_stored": MetadataValue.int(report.stored),
        "pictures_known": MetadataValue.int(report.known),
        "pictures_missing": MetadataValue.int(report.missing),
        "pictures_kept": MetadataValue.int(report.carried),
        "pictures_rejected": MetadataValue.int(report.rejected),
    }
    if report.references:
        metadata["pictures_note"] = MetadataValue.md(_note(report, dry_run=dry_run))
    return metadata


def _note(report: PictureReport, *, dry_run: bool) -> str:
    stored = "would store" if dry_run else "stored"
    lines = [
        f"{format_count(report.references)} picture references: {stored} {format_count(report.stored)} new "
        f"files ({format_count(report.bytes_stored)} bytes), {format_count(report.known)} already in the "
        f"media store."
    ]
    if report.carried:
        lines.append(
            f"{format_count(report.carried)} pictures not in the upload keep the stored file the catalog "
            f"already names for the same path."
        )
    if report.missing:
        lines.append(
            f"{format_count(report.missing)} pictures named but not in the upload (listed with media null): "
            f"{report.missing_text()}"
        )
    if report.rejected:
        lines.append(
            f"{format_count(report.rejected)} refused (see rejects): " + "; ".join(report.rejected_sample)
        )
    return "\n\n".join(lines)


def log_pictures(log: logging.Logger, label: str, report: PictureReport) -> None:
    """A warning for pictures the upload names but lacks, and for refused ones."""
    if report.missing:
        log.warning(
            f"{label}: {format_count(report.missing)} pictures are named but not in the upload: "
            f"{report.missing_text()}"
        )
    if report.rejected:
        log.warning(
            f"{label}: {format_count(report.rejected)} pictures refused: {'; '.join(report.rejected_sample)}"
        )
