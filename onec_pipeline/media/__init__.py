"""The media store (layer 1: files on disk, no Dagster, no SQL): product and offer pictures kept once by
content hash under ``ONEC_MEDIA_DIR`` (``files``), and their publishing while an upload's goods and offers
stream into the catalog (``publish``). Which files the catalog references is a query of ``store.media``."""

from .files import (
    IMAGE_EXTENSIONS,
    MediaStore,
    PictureRefused,
    StoredFile,
    SweepResult,
    image_format,
    safe_source,
)
from .publish import PicturePublisher, PictureReport

__all__ = [
    "IMAGE_EXTENSIONS",
    "MediaStore",
    "PicturePublisher",
    "PictureRefused",
    "PictureReport",
    "StoredFile",
    "SweepResult",
    "image_format",
    "safe_source",
]
