"""The exchange bench (``onec-pipeline exchange bench``): a full catalog export sent the way modern 1C sends
it — 113 per-entity 3.1 segments, one exchange session each (checkauth, init, file, import) — through the
endpoint served by uvicorn, then the export's one upload imported like the sensor's runs (archive, partition,
assets, checks; out of process) into a fresh PostgreSQL database. Prints what each part took."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from onec_pipeline.exchange import ExchangeConfig
from onec_pipeline.exchange.config import Credentials
from onec_pipeline.exchange.server import serve_in_thread
from onec_pipeline.runs import run_import
from onec_pipeline.store import CatalogStore
from onec_pipeline.synth.segments import DEFAULT_SEGMENTS, generate_segmented_export

from .database import create_database, drop_database, server_url_from_env, sqlalchemy_url

SCHEMA = "onec"


class OneCClient:
    """1C's side of one exchange session after another (urllib: nothing to install)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.cookie = ""

    def call(self, mode: str, *, body: bytes | None = None, auth: bool = False, **params: str) -> list[str]:
        query = urllib.parse.urlencode({"type": "catalog", "mode": mode, **params})
        request = urllib.request.Request(f"{self.url}?{query}", data=body)
        request.add_header("Authorization" if auth else "Cookie", self.auth if auth else self.cookie)
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read().decode("utf-8").split("\n")

    def session(self, path: Path, file_limit: int) -> list[str]:
        """checkauth, init, file (in file_limit chunks), import: the last answer."""
        lines = self.call("checkauth", auth=True)
        if lines[0] != "success":
            raise RuntimeError(f"checkauth: {lines}")
        self.cookie = f"{lines[1]}={lines[2]}"
        self.call("init")
        data = path.read_bytes()
        for start in range(0, max(1, len(data)), file_limit):
            answer = self.call("file", body=data[start : start + file_limit], filename=path.name)
            if answer[0] != "success":
                raise RuntimeError(f"file {path.name}: {answer}")
        return self.call("import", filename=path.name)


@dataclass
class ExchangeBench:
    goods: int
    offers: int
    sessions: int = 0
    bytes: int = 0
    generate_seconds: float = 0.0
    exchange_seconds: float = 0.0
    import_seconds: float = 0.0
    slowest_session_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def lines(self) -> list[str]:
        per = self.exchange_seconds / max(1, self.sessions)
        return [
            f"{self.sessions} segments, {self.bytes / 1e6:,.1f} MB, {self.goods:,} goods, {self.offers:,} offers",
            f"generate: {self.generate_seconds:,.1f} s",
            f"exchange (checkauth, init, file, import per segment; complete): {self.exchange_seconds:,.1f} s, "
            f"{per * 1000:,.0f} ms per session on average, slowest {self.slowest_session_seconds * 1000:,.0f} ms",
            f"import of the export's one upload (archive, run, checks): {self.import_seconds:,.1f} s",
            f"total through the endpoint: {self.exchange_seconds + self.import_seconds:,.1f} s",
            "catalog: " + ", ".join(f"{k} {v:,}" for k, v in self.counts.items() if v),
        ]


def _send(client: OneCClient, files: list[Path], report: ExchangeBench, file_limit: int) -> str:
    start = time.perf_counter()
    for path in files:
        began = time.perf_counter()
        answer = client.session(path, file_limit)
        if answer[0] != "success":
            raise RuntimeError(f"import {path.name}: {answer}")
        report.slowest_session_seconds = max(report.slowest_session_seconds, time.perf_counter() - began)
        report.sessions += 1
        report.bytes += path.stat().st_size
    closed = client.call("complete")
    report.exchange_seconds = time.perf_counter() - start
    if closed[0] != "success" or " as " not in closed[1]:
        raise RuntimeError(f"complete: {closed}")
    return closed[1].rsplit(" as ", 1)[1]


def run_exchange_bench(
    *,
    goods: int = 10_000,
    offers: int = 17_000,
    server_url: str | None = None,
    workdir: Path | None = None,
    keep: bool = False,
    log: Callable[[str], Any] = print,
) -> ExchangeBench:
    """Generate, send and import (see the module docstring); the database and files are removed unless
    ``keep``."""
    report = ExchangeBench(goods, offers)
    server_url = server_url or server_url_from_env()
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="onec-exchange-bench-"))
    dbname = f"onec_exchange_bench_{os.getpid()}"
    create_database(server_url, dbname)
    url = sqlalchemy_url(server_url, dbname)
    try:
        CatalogStore(url, schema=SCHEMA).upgrade()
        started = time.perf_counter()
        files = generate_segmented_export(
            root / "export", offers=offers, goods=goods, segments=DEFAULT_SEGMENTS
        )
        report.generate_seconds = time.perf_counter() - started
        log(f"generated {len(files)} segments in {report.generate_seconds:,.1f} s")
        password = secrets.token_urlsafe(16)
        config = ExchangeConfig(
            credentials=Credentials("bench-1c", password=password),
            import_dir=root / "1c_import",
            archive_dir=root / "archive",
            quarantine_dir=root / "quarantine",
        )
        config.import_dir.mkdir(parents=True, exist_ok=True)
        with DagsterInstance.ephemeral() as instance, serve_in_thread(config, instance) as endpoint:
            name = _send(OneCClient(endpoint, "bench-1c", password), files, report, config.file_limit)
        log(f"sent {report.sessions} sessions in {report.exchange_seconds:,.1f} s: upload {name}")
        started = time.perf_counter()
        summary = run_import(
            config.import_dir / name, database_url=url, db_schema=SCHEMA, archive_dir=config.archive_dir,
            parallel=True,
        )  # fmt: skip
        report.import_seconds = time.perf_counter() - started
        if not summary.success:
            report.error = summary.error
        store = CatalogStore(url, schema=SCHEMA)
        report.counts = {
            k: v for k, v in store.counts().items() if k in ("goods", "offers", "prices", "rests")
        }
        store.dispose()
    finally:
        if not keep:
            drop_database(server_url, dbname)
            if workdir is None:
                shutil.rmtree(root, ignore_errors=True)
    return report
