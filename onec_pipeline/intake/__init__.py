"""Upload intake: find complete uploads in the incoming directory, key them and archive them atomically.

Pure Python (no Dagster, no database); it uses the reader (``commerceml``) only to read each XML file's
header once, when the upload is archived. Used by the sensor (``defs/intake/sensors.py``), by
``run_import`` / ``onec-pipeline import`` and by the ``archive_retention`` schedule.

* ``scan``      the incoming directory's layout, and when an upload is complete (``.ready`` or settled)
* ``manifest``  the upload key, the manifest ``.onec-upload.json`` and the ``Upload`` rebuilt from it
* ``archive``   the atomic move into ``ONEC_ARCHIVE_DIR/<key>/`` (dedup of identical content)
* ``gate``      every file proven whole and decodable (and a CommerceML document) before an upload is keyed
* ``zips``      safe zip extraction (limits on the whole archive)
* ``quarantine`` uploads that cannot be taken, moved aside whole with the reason
* ``retention`` which archived uploads the retention policy removes
"""

from __future__ import annotations

from .archive import ArchivedUpload, archive_path, archive_upload, archive_zip, gated_key, list_archived
from .errors import IntakeError
from .manifest import (
    KEY_RE,
    KEY_TIME_FORMAT,
    MANIFEST_NAME,
    Manifest,
    ManifestFile,
    compute_key,
    content_hash,
    describe_files,
    future_tolerance,
    key_time,
    key_time_for,
    load_upload,
    make_key,
    read_manifest,
    sha256_file,
)
from .quarantine import QuarantineRecord, find_quarantined, list_quarantined, printable, quarantine_upload
from .retention import RetentionItem, remove_archived, retention_items, select_for_retention
from .scan import (
    LOOSE_SUBDIRS,
    LOOSE_UPLOAD_NAME,
    PARTIAL_SUFFIXES,
    READY_MARKER,
    Completeness,
    FileStat,
    IncomingUpload,
    check_complete,
    scan_incoming,
    xml_is_complete,
)
from .zips import ZipLimits, extract_zip_safely, safe_member_path

__all__ = [
    "KEY_RE",
    "KEY_TIME_FORMAT",
    "LOOSE_SUBDIRS",
    "LOOSE_UPLOAD_NAME",
    "MANIFEST_NAME",
    "PARTIAL_SUFFIXES",
    "READY_MARKER",
    "ArchivedUpload",
    "Completeness",
    "FileStat",
    "IncomingUpload",
    "IntakeError",
    "Manifest",
    "ManifestFile",
    "QuarantineRecord",
    "RetentionItem",
    "ZipLimits",
    "archive_path",
    "archive_upload",
    "archive_zip",
    "check_complete",
    "compute_key",
    "content_hash",
    "describe_files",
    "extract_zip_safely",
    "find_quarantined",
    "future_tolerance",
    "gated_key",
    "key_time",
    "key_time_for",
    "list_archived",
    "list_quarantined",
    "load_upload",
    "make_key",
    "printable",
    "quarantine_upload",
    "read_manifest",
    "remove_archived",
    "retention_items",
    "safe_member_path",
    "scan_incoming",
    "select_for_retention",
    "sha256_file",
    "xml_is_complete",
]
