"""Whether a catalog is at the migrations' head, without Alembic: a process that finds its catalog up to date
skips ``command.upgrade`` (which imports Alembic and loads every migration script: about 0.25 s per process,
paid by the CLI and by every step process of a multiprocess run).

The head is read from the migration files' text (their ``revision`` / ``down_revision`` lines); when that is
not one unambiguous head, or the catalog's ``alembic_version`` says anything else, the caller migrates with
Alembic as before.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import sqlalchemy as sa

_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def head_revision(versions_dir: Path) -> str | None:
    """The single head of the migration scripts in ``versions_dir``; None when there is not exactly one
    (or a script's revision cannot be read): then only Alembic can tell."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted(versions_dir.glob("*.py")):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(_QUOTED.findall(down.group(1)))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def at_head(engine: sa.Engine, schema: str | None, versions_dir: Path) -> bool:
    """Whether the catalog's ``alembic_version`` holds exactly the scripts' head (False when the table is
    missing, empty, or names anything else)."""
    head = head_revision(versions_dir)
    if head is None:
        return False
    table = sa.table("alembic_version", sa.column("version_num"), schema=schema)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.select(table.c.version_num)).scalars().all()
    except sa.exc.DBAPIError:  # no catalog yet
        return False
    return versions == [head]
