"""``run_bench``: one whole run on a fresh database and a temporary directory, stage after stage (see the
package docstring), then the summary; the database and the files are removed at the end unless kept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from onec_pipeline.synth import DEFAULT_EXPORTED_AT, expected_counts

from .database import (
    create_database,
    drop_database,
    libpq_url,
    migrate_catalog,
    server_url_from_env,
    sqlalchemy_url,
)
from .floor import FLOOR_TABLES, copy_rows, export_rows, parse_files
from .generate import generate_files
from .importing import import_upload
from .process import StageFunction, run_stage
from .report import (
    FIRST_IMPORT,
    FLOOR_COPY,
    FLOOR_EXPORT,
    GENERATE,
    GENERATE_PRICES_ONLY,
    PRICES_ONLY_IMPORT,
    RAW_PARSE,
    REIMPORT,
    BenchReport,
    Stage,
    machine_info,
    summarise,
)
from .watch import BackendPids

DEFAULT_OFFERS = 1_000_000
QUICK_OFFERS = 50_000
# the prices-only upload: version 1 of the same catalog, exported an hour after the first
_PRICES_ONLY: dict[str, Any] = {
    "sections": ["prices"],
    "version": 1,
    "exported_at": DEFAULT_EXPORTED_AT + timedelta(hours=1),
}


def _dagster_home() -> Path:
    """A directory for the parallel runs' instance, in shared memory where there is some (as the throwaway
    instance of an out-of-process ``run_import`` is)."""
    from onec_pipeline.runs.instances import memory_tmp_dir  # imports Dagster: only for parallel benches

    return Path(tempfile.mkdtemp(prefix="onec-bench-dagster-", dir=memory_tmp_dir()))


@dataclass
class _Run:
    """One bench run: where its files go, the database it imports into, and the report it fills."""

    report: BenchReport
    db_url: str
    base: Path
    backends: BackendPids
    log: Callable[[str], None]
    profile_dir: Path | None
    seed: int
    parallel: bool
    #: parallel runs are recorded in this instance (in memory where possible, as a throwaway one would be),
    #: created once before the first import like the deployment's
    dagster_home: Path | None = None

    def stage(
        self,
        name: str,
        function: StageFunction,
        kwargs: dict[str, Any],
        *,
        database: bool = False,
        profile: bool = False,
    ) -> Stage:
        """Run a stage and add it to the report. ``database``: it works on the bench database, whose backends
        are watched too; ``profile``: py-spy samples it when ``--profile`` is given."""
        backends = self.backends if database else None
        profile_dir = self.profile_dir if profile else None
        stage = run_stage(name, function, kwargs, backends=backends, log=self.log, profile_dir=profile_dir)
        self.report.stages.append(stage)
        return stage

    def generate(self) -> None:
        workers = max(1, min(2, os.cpu_count() or 1))
        kwargs = {"out_dir": str(self.base / "upload"), "offers": self.report.offers, "seed": self.seed}
        generated = self.stage(GENERATE, generate_files, {**kwargs, "workers": workers})
        self.report.files_mb = generated.detail.get("mb", 0.0)

    def parse(self, use_xmllint: bool) -> None:
        kwargs = {"upload_dir": str(self.base / "upload"), "use_xmllint": use_xmllint}
        parsed = self.stage(RAW_PARSE, parse_files, kwargs)
        parsed.rows = sum(self.report.counts[table] for table in FLOOR_TABLES)

    def import_stage(self, name: str, upload: Path) -> Stage:
        """One import of ``upload`` through the production path, measured like every stage."""
        kwargs = {
            "db_url": self.db_url,
            "upload_dir": str(upload),
            "archive_dir": str(self.base / "archive"),
            "parallel": self.parallel,
            "incoming_dir": str(self.base / "incoming"),
            "dagster_home": str(self.dagster_home) if self.parallel else None,
        }
        return self.stage(name, import_upload, kwargs, database=True, profile=True)

    def floor_copy(self) -> None:
        """The floor COPYs exactly the rows the import wrote, into empty tables shaped like the store's."""
        kwargs = {"db_url": self.db_url, "tsv_dir": str(self.base / "tsv")}
        (self.base / "tsv").mkdir(exist_ok=True)
        self.stage(FLOOR_EXPORT, export_rows, kwargs, database=True)
        self.stage(FLOOR_COPY, copy_rows, kwargs, database=True)
        shutil.rmtree(self.base / "tsv", ignore_errors=True)

    def prices_only(self) -> None:
        upload = self.base / "prices-only"
        kwargs = {"out_dir": str(upload), "offers": self.report.offers, "seed": self.seed, "workers": 1}
        self.stage(GENERATE_PRICES_ONLY, generate_files, {**kwargs, **_PRICES_ONLY})
        self.import_stage(PRICES_ONLY_IMPORT, upload)
        changed = expected_counts(offers=self.report.offers, seed=self.seed, **_PRICES_ONLY)["changed_offers"]
        self.report.counts["prices_changed"] = changed * self.report.counts["price_types"]

    def measure(self, use_xmllint: bool, reimport: bool, prices_only: bool) -> None:
        """Every stage in order, then the summary."""
        self.generate()
        self.parse(use_xmllint)
        # the catalog's tables exist before the clock starts, like the floor's (and a deployment's, migrated
        # by `onec-pipeline db upgrade` before its first import)
        migrate_catalog(self.db_url)
        first = self.import_stage(FIRST_IMPORT, self.base / "upload")
        if self.parallel and first.detail.get("steps"):  # how the sensor's run executed its steps
            self.report.mode = f"parallel ({first.detail['steps']})"
        if not first.error:
            self.floor_copy()
            if reimport:
                self.import_stage(REIMPORT, self.base / "upload")
            if prices_only:
                self.prices_only()
        self.report.summary = summarise(self.report)


def run_bench(
    offers: int = DEFAULT_OFFERS,
    *,
    server_url: str | None = None,
    keep: bool = False,
    workdir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    use_xmllint: bool = True,
    log: Callable[[str], None] = print,
    profile: str | os.PathLike[str] | None = None,
    reimport: bool = True,
    prices_only: bool = True,
    parallel: bool = False,
) -> BenchReport:
    """Run the whole benchmark and return the report (see the package docstring for the stages).

    ``server_url`` names a PostgreSQL server + maintenance database (default: ``ONEC_BENCH_DATABASE_URL``,
    ``ONEC_TEST_DATABASE_URL`` or ``postgresql://postgres@127.0.0.1:5432/postgres``); a fresh database
    ``onec_bench_<hex>`` is created there and dropped at the end unless ``keep``. The upload files go to a
    temporary directory under ``workdir`` (default: the system temp dir) and are removed at the end unless
    ``keep``.

    ``parallel``: import like the sensor's runs (``run_import(parallel=True)``: a process per step, or for an
    upload under 256 MB of XML threads of the run's process; the report's mode says which) instead of in the
    CLI's single process.
    """
    server_url = server_url or server_url_from_env()
    dbname = f"onec_bench_{uuid.uuid4().hex[:8]}"
    pg_version = create_database(server_url, dbname)
    base = Path(tempfile.mkdtemp(prefix="onec-bench-", dir=workdir))
    machine = {**machine_info(), "postgresql": pg_version}
    report = BenchReport(
        offers=offers,
        mode="parallel" if parallel else "one process",
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        machine=machine,
        counts=expected_counts(offers=offers, seed=seed),
        files_mb=0.0,
        database=dbname,
    )
    backends = BackendPids(libpq_url(sqlalchemy_url(server_url)), dbname)
    db_url = sqlalchemy_url(server_url, dbname)
    profile_dir = Path(profile) if profile else None
    dagster_home = _dagster_home() if parallel else None
    run = _Run(report, db_url, base, backends, log, profile_dir, seed, parallel, dagster_home)
    try:
        run.measure(use_xmllint, reimport, prices_only)
    finally:
        if dagster_home is not None:
            shutil.rmtree(dagster_home, ignore_errors=True)
        with contextlib.suppress(Exception):
            backends.close()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
            with contextlib.suppress(Exception):
                drop_database(server_url, dbname)
        else:
            report.summary["kept"] = {"database": db_url, "files": str(base)}
    return report
