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


def check_files(root: Path) -> dict[str, str | None]:
    """Prove every file of the upload staged at ``root``; returns each XML file's root element name."""
    check_names(root)
    roots: dict[str, str | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(dirnames)
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if not name.lower().endswith(".xml") or _ignored(rel):
                continue
            path = Path(dirpath) / name
            try:
                prove_xml(lambda path=path: path.open("rb"), rel)  # type: ignore[misc]
            except CommerceMLError as exc:
                raise IntakeError(str(exc), file=exc.file or rel, line=exc.line) from None
            roots[rel] = _root_name(path)
    return roots


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
