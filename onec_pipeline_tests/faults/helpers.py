"""What the fault tests share: generated uploads with a chronology, ``onec-pipeline import`` as a real
process, and the catalog's state to compare."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from onec_pipeline import synth
from onec_pipeline.store import CatalogStore
from onec_pipeline.store.tables import CATALOG_TABLES
from onec_pipeline_tests.store.helpers import snapshot

CLI = Path(sys.executable).with_name("onec-pipeline")


def generate(root: Path, version: int, *, offers: int = 2000) -> Path:
    """Upload ``version`` of one synthetic shop: the same ids, a share of prices and stock changed per version,
    exported an hour after the previous version (so keys sort by version)."""
    out = root / f"upload-v{version}"
    synth.generate_upload(
        out,
        offers=offers,
        seed=7,
        version=version,
        changed_share=0.3,
        exported_at=datetime(2026, 11, 20, 10 + version, 0, 0),
    )
    return out


def import_command(upload: Path, url: str, schema: str, archive: Path) -> list[str]:
    return [
        str(CLI),
        "import",
        str(upload),
        "--database-url",
        url,
        "--db-schema",
        schema,
        "--archive-dir",
        str(archive),
    ]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(extra)
    return env


def start_import(upload: Path, url: str, schema: str, archive: Path, **env: str) -> subprocess.Popen[str]:
    """``onec-pipeline import`` as a process of its own (its own process group, output captured)."""
    return subprocess.Popen(
        import_command(upload, url, schema, archive),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(**env),
        start_new_session=True,
    )


def run_import_process(
    upload: Path, url: str, schema: str, archive: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        import_command(upload, url, schema, archive),
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=600,
        check=False,
    )


def catalog_state(url: str, schema: str) -> dict[str, list[tuple]]:
    """Every catalog table (minus wall-clock columns): what the storefront sees."""
    store = CatalogStore(url, schema=schema)
    try:
        state = snapshot(store)
    finally:
        store.dispose()
    return {table: state[table] for table in CATALOG_TABLES}


def wait_for_statement(
    url: str,
    process: subprocess.Popen[str],
    fragment: str | tuple[str, ...],
    *,
    within: float = 300,
    idle_staging: bool = False,
) -> None:
    """Wait until ``process`` runs a statement containing ``fragment`` (e.g. ``COPY onec_stg_prices``; a
    tuple: any of them): its sessions are those named ``onec_pipeline:<pid>`` (the store's
    application_name). ``idle_staging``: a session idle in its transaction after creating or filling a
    staging table counts too — it is reading the next rows, and the de-duplication and upsert still follow
    before its commit (a small load's statements can each end between two polls)."""
    fragments = (fragment,) if isinstance(fragment, str) else fragment
    engine = sa.create_engine(url)
    query = sa.text("SELECT state, query FROM pg_stat_activity WHERE application_name = :app")
    deadline = time.monotonic() + within
    try:
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                sessions = conn.execute(query, {"app": f"onec_pipeline:{process.pid}"}).all()
                conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                if any(_running(state, statement, fragments, idle_staging) for state, statement in sessions):
                    return
                if process.poll() is not None:
                    raise AssertionError(
                        f"the import ended (exit {process.returncode}) before running {fragment!r}"
                    )
                time.sleep(0.005)
    finally:
        engine.dispose()
    raise AssertionError(f"process {process.pid} never ran a statement with {fragment!r} within {within} s")


def _running(
    state: str | None, statement: str | None, fragments: tuple[str, ...], idle_staging: bool
) -> bool:
    if not statement or not any(part in statement for part in fragments):
        return False
    if state == "active":
        return True
    staging = statement.lstrip().startswith(("CREATE TEMP TABLE onec_stg_", "COPY onec_stg_"))
    return idle_staging and state == "idle in transaction" and staging


def archived_key(archive: Path) -> str:
    [key] = [p.name for p in archive.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return key
