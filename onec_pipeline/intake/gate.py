"""The gate: an upload is proven whole and readable before it is archived, so before any asset writes.

Run on the staged copy of every upload the sensor or ``onec-pipeline import`` takes (``archive``), with or
without ``.ready``. It refuses (``IntakeError`` naming the file, the line where there is one, and why):

* a file name that is not valid UTF-8, a symlink (its target is outside the upload);
* an ``*.xml`` file that is not whole, not decodable, has a DOCTYPE… (``commerceml.integrity.prove_xml``);
* an ``*.xml`` file that is not a CommerceML document (another root element): nothing is skipped in silence.

What it lets through but reports (``Manifest.not_imported``, the sensor's tick log, the run's metadata):
CommerceML files holding no record any asset imports (an empty offer package, a bare
``КоммерческаяИнформация``). Order documents (``Документ``) feed the orders asset.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from onec_pipeline.commerceml import CommerceMLError, FileHeader, FileKind
from onec_pipeline.commerceml.header import ROOT
from onec_pipeline.commerceml.integrity import prove_xml
from onec_pipeline.commerceml.upload import IGNORED_NAMES

from .errors import IntakeError
from .quarantine import printable
from .scan import HEAD_BYTES, root_tag


def _ignored(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return any(p.startswith(".") for p in parts) or parts[-1] in IGNORED_NAMES or parts[-1].endswith(".part")


def _check_name(rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise IntakeError(
            f"file name {printable(rel)!r} is not valid UTF-8 (1C writes UTF-8 names): cannot be keyed",
            file=printable(rel),
        ) from None


def _root_name(path: Path) -> str | None:
    """The local name of a file's root element, from its first bytes (None when not found there)."""
    with path.open("rb") as fh:
        found = root_tag(fh.read(HEAD_BYTES))
    return found[1].rpartition(":")[2] if found else None


def check_symlinks(root: Path) -> None:
    """Refuse an upload directory holding a symlink anywhere (``walk_files`` would skip it in silence)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            full = Path(dirpath) / name
            if full.is_symlink():
                rel = printable(full.relative_to(root).as_posix())
                raise IntakeError(f"{rel}: a symlink (uploads hold plain files only)", file=rel)


def check_names(root: Path) -> None:
    """No symlink and no bad name (``_check_name``) anywhere in the upload staged at ``root``: what the gate
    checks before any file is read."""
    check_symlinks(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted([*dirnames, *filenames]):
            _check_name((Path(dirpath) / name).relative_to(root).as_posix())


def _prove(path: Path, rel: str) -> IntakeError | None:
    try:
        prove_xml(lambda: path.open("rb"), rel)
    except CommerceMLError as exc:
        return IntakeError(str(exc), file=exc.file or rel, line=exc.line)
    return None


def check_files(root: Path) -> dict[str, str | None]:
    """Prove every file of the upload staged at ``root``; returns each XML file's root element name.

    The files are proven side by side (libxml2 parses without the GIL: a split package's files on every
    core); a refusal names the first refused file in name order, whichever was proven first."""
    check_names(root)
    xml: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(dirnames)
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if name.lower().endswith(".xml") and not _ignored(rel):
                xml.append((rel, Path(dirpath) / name))
    workers = max(1, min(4, os.cpu_count() or 1, len(xml)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        refusals = list(pool.map(lambda item: _prove(item[1], item[0]), xml))
    for refusal in refusals:
        if refusal is not None:
            raise refusal
    return {rel: _root_name(path) for rel, path in xml}


def not_imported(headers: list[FileHeader], roots: dict[str, str | None]) -> list[str]:
    """``file: why`` for every XML file that feeds no asset; raises ``IntakeError`` for a file that is not
    a CommerceML document at all."""
    notes = []
    for header in headers:
        if header.kind == FileKind.UNKNOWN:
            root = roots.get(header.path)
            if root is not None and root != ROOT:
                raise IntakeError(
                    f"{header.path}: not a CommerceML document (root element <{root}>, not <{ROOT}>)",
                    file=header.path,
                    line=1,
                )
            sections = ", ".join(header.sections) or "none"
            notes.append(f"{header.path}: CommerceML with no records to import (sections: {sections})")
    return notes
