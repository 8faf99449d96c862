"""The benchmark harness behind ``onec-pipeline bench`` / ``make bench``.

One run, on one synthetic UT 11 split package (``onec_pipeline.synth``):

1. ``generate``      write the package (both cores);
2. ``floor parse``   raw streaming parse of every file: libxml2 with a no-op SAX target (no Python per
                     element), or ``xmllint --stream`` when installed;
3. ``import``        the production path: ``run_import`` (the same assets, partition and checks as the sensor's
                     runs). The upload is first hard-linked into an incoming directory (untimed) and archived
                     from there like the sensor does it: hashed and moved, not copied;
4. ``floor export``  (untimed for the floor) the rows the import wrote, as TSV (``COPY … TO``);
5. ``floor copy``    COPY of those rows into empty tables shaped like the store's (``LIKE … INCLUDING ALL``);
6. ``re-import``     the identical upload again (unchanged data must be detected, nothing rewritten);
7. ``prices only``   a prices-only upload (version 1 of the same catalog): only ``prices`` rows may change.

Every stage runs in its own spawned process so that its peak RSS is its own; a watcher samples the peak RSS
(``VmHWM``) of every descendant process and of the PostgreSQL backends serving the bench database.
"Rows touched" are counted with ``xmin``: rows whose inserting transaction is newer than the stage start.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_OFFERS = 1_000_000
QUICK_OFFERS = 50_000
BENCH_SCHEMA = "onec"
FLOOR_SCHEMA = "bench_floor"
FLOOR_TABLES = ("goods", "offers", "prices", "rests")
CATALOG_TABLES = (
    "groups",
    "properties",
    "units",
    "price_types",
    "warehouses",
    "goods",
    "offers",
    "prices",
    "rests",
    "stock_totals",
)


def server_url_from_env() -> str:
    for name in ("ONEC_BENCH_DATABASE_URL", "ONEC_TEST_DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return DEFAULT_SERVER_URL


def _pg_url(url: str, dbname: str | None = None) -> str:
    """``postgresql+psycopg2://`` URL, optionally pointing at another database of the same server."""
    parts = urlsplit(
        url.replace("postgresql+psycopg2://", "postgresql://").replace("postgres://", "postgresql://")
    )
    path = f"/{dbname}" if dbname else parts.path
    return urlunsplit(("postgresql+psycopg2", parts.netloc, path, parts.query, ""))


def _dsn(url: str) -> str:
    """libpq URL for psycopg2.connect."""
    return url.replace("postgresql+psycopg2://", "postgresql://")


# ------------------------------------------------------------------------------------------------ results


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    rows: int = 0
    peak_rss_mb: float = 0.0  # the stage process itself
    children_peak_rss_mb: float = 0.0  # the largest of its child processes (getrusage CHILDREN)
    processes: dict[str, float] = field(default_factory=dict)  # "name[pid]" -> peak RSS MB (sampled VmHWM)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def max_client_rss_mb(self) -> float:
        """Largest peak RSS of the Python/lxml side (stage process, its children); excludes PostgreSQL."""
        sampled = [v for k, v in self.processes.items() if not k.startswith("postgres")]
        return max([self.peak_rss_mb, self.children_peak_rss_mb, *sampled])

    @property
    def max_server_rss_mb(self) -> float:
        sampled = [v for k, v in self.processes.items() if k.startswith("postgres")]
        return max(sampled, default=0.0)


@dataclass
class BenchReport:
    offers: int
    mode: str
    started_at: str
    machine: dict[str, Any]
    counts: dict[str, int]
    files_mb: float
    stages: list[Stage] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    database: str | None = None

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for s, raw in zip(self.stages, d["stages"], strict=True):
            raw["rows_per_s"] = round(s.rows_per_s, 1)
        return d


# ------------------------------------------------------------------------------------------ process watch


def _read_status(pid: int) -> tuple[str, int, float] | None:
    """(name, ppid, VmHWM MB) of a process from /proc, or None when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            name, ppid, hwm = "?", 0, 0.0
            for line in fh:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("PPid:"):
                    ppid = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
            return name, ppid, hwm
    except (OSError, ValueError, IndexError):
        return None


class ProcWatch:
    """Samples the peak RSS (VmHWM) of all descendants of a root pid and of extra pids (PG backends)."""

    def __init__(self, root_pid: int, extra_pids: Callable[[], list[int]] | None = None, every: float = 0.2):
        self.root_pid = root_pid
        self.extra_pids = extra_pids
        self.every = every
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last_extra = 0.0
        self._extra: list[int] = []

    def __enter__(self) -> ProcWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        table: dict[int, tuple[str, int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = _read_status(int(entry))
                if st:
                    table[int(entry)] = st
        wanted = {self.root_pid}
        changed = True
        while changed:
            changed = False
            for pid, (_name, ppid, _hwm) in table.items():
                if ppid in wanted and pid not in wanted:
                    wanted.add(pid)
                    changed = True
        now = time.monotonic()
        if self.extra_pids and now - self._last_extra >= self.every:  # short stages open backends briefly
            self._last_extra = now
            with contextlib.suppress(Exception):
                self._extra = self.extra_pids()
        for pid in self._extra:
            if pid in table:
                wanted.add(pid)
        for pid in wanted:
            if pid in table:
                name, _ppid, hwm = table[pid]
                if pid in self._extra:
                    name = "postgres"
                key = f"{name}[{pid}]"
                if hwm > self.peaks.get(key, 0.0):
                    self.peaks[key] = hwm


def _backend_pids(dsn: str, dbname: str) -> Callable[[], list[int]]:
    """A callable listing the PostgreSQL backends connected to ``dbname`` (own connection, reused)."""
    import psycopg2

    state: dict[str, Any] = {}

    def pids() -> list[int]:
        conn = state.get("conn")
        if conn is None or conn.closed:
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            state["conn"] = conn
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)
            )
            return [r[0] for r in cur.fetchall()]

    pids.close = lambda: state.get("conn") and state["conn"].close()  # type: ignore[attr-defined]
    return pids


# ------------------------------------------------------------------------------------------- stage runner


def _stage_entry(fn_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Runs in a spawned process: call the stage function, add this process' own resource usage."""
    import resource

    fn = globals()[fn_name]
    t0 = time.perf_counter()
    out = fn(**kwargs) or {}
    out.setdefault("seconds", time.perf_counter() - t0)
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a spawned child would report its parent's
    own = _read_status(os.getpid())
    out["peak_rss_mb"] = own[2] if own else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def _run_stage(
    name: str,
    fn_name: str,
    kwargs: dict[str, Any],
    *,
    backends: Callable[[], list[int]] | None = None,
    log: Callable[[str], None] = print,
    profile_dir: Path | None = None,
) -> Stage:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    log(f"[bench] {name} …")
    stage = Stage(name)
    ctx = mp.get_context("spawn")
    wall0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        # start the worker first so the watcher follows it (and its children) from the beginning
        worker_pid = pool.submit(os.getpid).result()
        spy = (
            _start_profiler(worker_pid, profile_dir, name)
            if profile_dir and fn_name == "_st_import"
            else None
        )
        with ProcWatch(worker_pid, backends) as watch:
            fut = pool.submit(_stage_entry, fn_name, kwargs)
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - a failed stage is reported, the run goes on
                out = {"error": f"{type(exc).__name__}: {exc}"}
                tb = getattr(exc, "__cause__", None)
                log("".join(traceback.format_exception(exc))[-3000:] if tb is None else str(tb)[-3000:])
    if spy is not None:
        out["profile"] = _stop_profiler(*spy)
    stage.processes = {k: round(v, 1) for k, v in watch.peaks.items()}
    stage.seconds = out.pop("seconds", time.perf_counter() - wall0)
    stage.rows = int(out.pop("rows", 0))
    stage.peak_rss_mb = round(out.pop("peak_rss_mb", 0.0), 1)
    stage.children_peak_rss_mb = round(out.pop("children_peak_rss_mb", 0.0), 1)
    stage.error = out.pop("error", None)
    stage.detail = out
    stage.detail["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if stage.error:
        log(f"[bench] {name}: FAILED {stage.error}")
    else:
        log(
            f"[bench] {name}: {stage.seconds:.2f}s, {stage.rows:,} rows, {stage.rows_per_s:,.0f} rows/s, "
            f"peak RSS {stage.max_client_rss_mb:.0f} MB (server {stage.max_server_rss_mb:.0f} MB)"
        )
    return stage


def _py_spy() -> str | None:
    local = Path(os.sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def _start_profiler(pid: int, profile_dir: Path, name: str) -> tuple[subprocess.Popen, Path] | None:
    """py-spy (sampling, all subprocesses) on a stage worker; None when py-spy is not installed."""
    exe = _py_spy()
    if exe is None:
        return None
    profile_dir.mkdir(parents=True, exist_ok=True)
    out = profile_dir / ("".join(c if c.isalnum() else "_" for c in name) + ".txt")
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--format",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, out


def _stop_profiler(proc: subprocess.Popen, out: Path, top: int = 15) -> dict[str, Any]:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {"file": str(out), **summarise_profile(out, top)}


def _frame(raw: str) -> str:
    """``func (path/file.py:123)`` → ``func (path/file.py)``."""
    name, _, loc = raw.partition(" (")
    return f"{name} ({loc.rstrip(')').rsplit(':', 1)[0]})" if loc else name


def summarise_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive shares of the hottest frames of a py-spy ``--format raw`` file."""
    from collections import Counter

    own: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    if not path.exists():
        return {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        k = int(n)
        total += k
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += k
        for f in set(frames):
            incl[f] += k
    if not total:
        return {}
    ours = [(f, c) for f, c in incl.most_common() if "onec_pipeline/" in f and "bench.py" not in f]
    return {
        "samples": total,
        "self": {f: round(c / total, 3) for f, c in own.most_common(top)},
        "inclusive": {f: round(c / total, 3) for f, c in ours[: top * 2]},
    }


# --------------------------------------------------------------------------------------------- the stages


def _st_generate(out_dir: str, offers: int, seed: int, workers: int, **extra: Any) -> dict[str, Any]:
    from onec_pipeline.synth import generate_upload

    files = generate_upload(out_dir, offers=offers, seed=seed, workers=workers, **extra)
    size = sum(p.stat().st_size for p in files)
    counts = files.counts
    rows = sum(counts[k] for k in ("groups", "goods", "offers", "prices", "rests", "customers"))
    return {"rows": rows, "files": len(files), "mb": round(size / 1e6, 1), "counts": counts}


class _NullTarget:
    """A parser target with no callbacks: libxml2 parses, lxml calls nothing per element."""

    def close(self) -> None:
        return None


def _xml_files(root: str) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*.xml") if p.is_file())


def _st_floor_parse(upload_dir: str, use_xmllint: bool) -> dict[str, Any]:
    from lxml import etree

    files = _xml_files(upload_dir)
    total = sum(p.stat().st_size for p in files)
    tool = (
        "xmllint --stream" if use_xmllint and shutil.which("xmllint") else "libxml2 via lxml (no-op target)"
    )
    t0 = time.perf_counter()
    for path in files:
        if tool.startswith("xmllint"):
            subprocess.run(["xmllint", "--stream", "--noout", "--huge", str(path)], check=True)
            continue
        parser = etree.XMLParser(
            target=_NullTarget(), huge_tree=True, resolve_entities=False, no_network=True
        )
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                parser.feed(chunk)
        parser.close()
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": 0,
        "tool": tool,
        "mb": round(total / 1e6, 1),
        "mb_per_s": round(total / 1e6 / seconds, 1) if seconds else 0,
    }


def _st_floor_export(db_url: str, tsv_dir: str) -> dict[str, Any]:
    """TSV of exactly the rows the import wrote (COPY … TO), with the column lists, for the floor COPY."""
    import psycopg2

    conn = psycopg2.connect(_dsn(db_url))
    counts, columns = {}, {}
    try:
        with conn.cursor() as cur:
            for t in FLOOR_TABLES:
                cur.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "ORDER BY ordinal_position",
                    (BENCH_SCHEMA, t),
                )
                columns[t] = [r[0] for r in cur.fetchall()]
                cols = ", ".join(f'"{c}"' for c in columns[t])
                with open(Path(tsv_dir) / f"{t}.tsv", "wb") as fh:
                    cur.copy_expert(
                        f"COPY (SELECT {cols} FROM {BENCH_SCHEMA}.{t}) TO STDOUT", fh, size=1 << 20
                    )
                counts[t] = cur.rowcount
        conn.commit()
    finally:
        conn.close()
    (Path(tsv_dir) / "columns.json").write_text(json.dumps(columns))
    return {"rows": sum(counts.values()), "counts": counts}


def _st_floor_copy(db_url: str, tsv_dir: str) -> dict[str, Any]:
    """COPY the extracted rows into empty tables shaped like the store's (PKs and indexes included)."""
    import psycopg2

    columns_file = Path(tsv_dir) / "columns.json"
    columns = json.loads(columns_file.read_text())
    conn = psycopg2.connect(_dsn(db_url))
    counts: dict[str, int] = {}
    per_table: dict[str, float] = {}
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {FLOOR_SCHEMA} CASCADE; CREATE SCHEMA {FLOOR_SCHEMA}")
            cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = 'prices'",
                (BENCH_SCHEMA,),
            )
            have_store = cur.fetchone()[0] > 0
        conn.commit()
        if have_store:
            with conn.cursor() as cur:
                for t in FLOOR_TABLES:
                    cur.execute(f"CREATE TABLE {FLOOR_SCHEMA}.{t} (LIKE {BENCH_SCHEMA}.{t} INCLUDING ALL)")
            conn.commit()
        else:  # no store tables yet: build them from the store's metadata
            import sqlalchemy as sa

            from onec_pipeline.store.schema import build_metadata

            engine = sa.create_engine(db_url)
            md = build_metadata(FLOOR_SCHEMA)
            md.create_all(engine, tables=[md.tables[f"{FLOOR_SCHEMA}.{t}"] for t in FLOOR_TABLES])
            engine.dispose()
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for t in FLOOR_TABLES:
                cols = ", ".join(f'"{c}"' for c in columns[t])
                t1 = time.perf_counter()
                with open(Path(tsv_dir) / f"{t}.tsv", "rb") as fh:
                    cur.copy_expert(f"COPY {FLOOR_SCHEMA}.{t} ({cols}) FROM STDIN", fh, size=1 << 20)
                counts[t] = cur.rowcount
                per_table[t] = round(time.perf_counter() - t1, 2)
        conn.commit()
        seconds = time.perf_counter() - t0
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {FLOOR_SCHEMA} CASCADE")
        conn.commit()
    finally:
        conn.close()
    return {
        "seconds": seconds,
        "rows": sum(counts.values()),
        "counts": counts,
        "table_seconds": per_table,
        "store_shaped": have_store,
    }


# -------------------------------------------------------------------------------------------- the import


def _table_state(db_url: str, schema: str) -> dict[str, Any]:
    """Rows per catalog table and the current transaction id (rows with a newer xmin were written after)."""
    import psycopg2

    conn = psycopg2.connect(_dsn(db_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT txid_current()")
            xid = cur.fetchone()[0]
            rows = {}
            for t in CATALOG_TABLES:
                cur.execute("SELECT to_regclass(%s)", (f"{schema}.{t}",))
                if cur.fetchone()[0] is None:
                    continue
                cur.execute(f"SELECT count(*) FROM {schema}.{t}")
                rows[t] = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return {"xid": xid, "rows": rows}


def _touched_since(db_url: str, schema: str, xid: int) -> dict[str, int]:
    """Rows per catalog table inserted or updated by transactions newer than ``xid`` (via xmin)."""
    import psycopg2

    conn = psycopg2.connect(_dsn(db_url))
    out = {}
    try:
        with conn.cursor() as cur:
            for t in CATALOG_TABLES:
                cur.execute("SELECT to_regclass(%s)", (f"{schema}.{t}",))
                if cur.fetchone()[0] is None:
                    continue
                cur.execute(
                    f"SELECT count(*) FROM {schema}.{t} WHERE xmin::text::bigint > %s",
                    (xid % (1 << 32),),
                )
                out[t] = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return out


def _link_tree(src: Path, dst: Path) -> Path:
    """A copy of ``src`` at ``dst`` made of hard links (a real copy where linking is refused)."""
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    return dst


def _st_import(
    db_url: str,
    upload_dir: str,
    archive_dir: str | None = None,
    parallel: bool = False,
    incoming_dir: str | None = None,
) -> dict[str, Any]:
    """Import one upload through ``run_import`` (the sensor's assets) and count the rows it wrote (xmin).

    ``incoming_dir``: first hard-link the upload into this directory (untimed) and import it from there, so
    that it is archived like the sensor does it: hashed and moved (renamed), not copied.
    """
    from onec_pipeline.defs.runner import run_import

    source = Path(upload_dir)
    keep_source = None
    if incoming_dir is not None:
        source = _link_tree(
            Path(upload_dir), Path(incoming_dir) / f"{Path(upload_dir).name}-{uuid.uuid4().hex[:6]}"
        )
        keep_source = False
    before = _table_state(db_url, BENCH_SCHEMA)
    t0 = time.perf_counter()
    events: dict[str, dict[str, Any]] = {}

    def progress(event: str, asset: str, details: dict[str, Any]) -> None:
        now = time.perf_counter() - t0
        if event == "start":
            events.setdefault(asset, {})["start"] = round(now, 2)
        elif event in ("done", "failed"):
            e = events.setdefault(asset, {})
            e["end"] = round(now, 2)
            e.update({k: _jsonable(v) for k, v in details.items()})
        elif event == "archived":
            events["archive"] = {"end": round(now, 2)}

    summary = run_import(
        source,
        database_url=db_url,
        db_schema=BENCH_SCHEMA,
        archive_dir=archive_dir,
        log_progress=progress,
        parallel=parallel,
        keep_source=keep_source,
    )
    if keep_source is False and source.exists():  # the linked copy (a duplicate is removed already)
        shutil.rmtree(source, ignore_errors=True)
    detail: dict[str, Any] = {
        "upload_key": summary.key,
        "assets": events,
        "result": {name: a.metadata for name, a in summary.assets.items()},
        "counts": summary.counts(),
    }
    if not summary.success:
        raise RuntimeError(f"run_import failed: {summary.error}")
    seconds = time.perf_counter() - t0
    touched = _touched_since(db_url, BENCH_SCHEMA, before["xid"])
    after = _table_state(db_url, BENCH_SCHEMA)
    detail.update(touched=touched, rows_after=after["rows"], rows_before=before["rows"])
    loaded = sum(int(e.get("records", 0) or 0) for e in events.values())
    return {"seconds": seconds, "rows": loaded or sum(touched.values()), **detail}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(getattr(k, "value", k)): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return {f: _jsonable(getattr(v, f)) for f in v.__dataclass_fields__}
    return str(v)


# ------------------------------------------------------------------------------------------------ the run


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 / 1024, 1)
    with contextlib.suppress(Exception):
        from lxml import etree

        info["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
        info["lxml"] = ".".join(map(str, etree.LXML_VERSION))
    return info


def _create_database(server_url: str, dbname: str) -> str:
    import psycopg2

    conn = psycopg2.connect(_dsn(_pg_url(server_url)))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{dbname}"')
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    finally:
        conn.close()
    return version


def _drop_database(server_url: str, dbname: str) -> None:
    import psycopg2

    conn = psycopg2.connect(_dsn(_pg_url(server_url)))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    finally:
        conn.close()


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
    """Run the whole benchmark and return the report (see the module docstring for the stages).

    ``server_url`` names a PostgreSQL server + maintenance database (default: ``ONEC_BENCH_DATABASE_URL``,
    ``ONEC_TEST_DATABASE_URL`` or ``postgresql://postgres@127.0.0.1:5432/postgres``); a fresh database
    ``onec_bench_<hex>`` is created there and dropped at the end unless ``keep``. The upload files go to a
    temporary directory under ``workdir`` (default: the system temp dir) and are removed at the end unless
    ``keep``.

    ``parallel``: import like the sensor's runs (``run_import(parallel=True)``: multiprocess executor, prices
    and rests in two processes) instead of in the CLI's single process.
    """
    from onec_pipeline.synth import expected_counts

    server_url = server_url or server_url_from_env()
    profile_dir = Path(profile) if profile else None
    dbname = f"onec_bench_{uuid.uuid4().hex[:8]}"
    pg_version = _create_database(server_url, dbname)
    db_url = _pg_url(server_url, dbname)
    base = Path(tempfile.mkdtemp(prefix="onec-bench-", dir=workdir))
    upload_dir, tsv_dir, prices_dir = base / "upload", base / "tsv", base / "prices-only"
    archive_dir = base / "archive"
    tsv_dir.mkdir()
    machine = _machine()
    machine["postgresql"] = pg_version
    report = BenchReport(
        offers=offers,
        mode="parallel" if parallel else "one process",
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        machine=machine,
        counts=expected_counts(offers=offers, seed=seed),
        files_mb=0.0,
        database=dbname,
    )
    backends = _backend_pids(_dsn(_pg_url(server_url)), dbname)
    try:
        workers = max(1, min(2, os.cpu_count() or 1))
        gen = _run_stage(
            "generate",
            "_st_generate",
            {"out_dir": str(upload_dir), "offers": offers, "seed": seed, "workers": workers},
            log=log,
            profile_dir=profile_dir,
        )
        report.stages.append(gen)
        report.files_mb = gen.detail.get("mb", 0.0)
        parse = _run_stage(
            "floor: raw parse",
            "_st_floor_parse",
            {"upload_dir": str(upload_dir), "use_xmllint": use_xmllint},
            log=log,
            profile_dir=profile_dir,
        )
        parse.rows = sum(report.counts[k] for k in ("goods", "offers", "prices", "rests"))
        report.stages.append(parse)

        def import_stage(title: str, upload: Path) -> Stage:
            """One import of ``upload`` through the production path, measured like every stage."""
            args = {
                "db_url": db_url,
                "upload_dir": str(upload),
                "archive_dir": str(archive_dir),
                "parallel": parallel,
                "incoming_dir": str(base / "incoming"),
            }
            return _run_stage(title, "_st_import", args, backends=backends, log=log, profile_dir=profile_dir)

        stage1 = import_stage("import (first)", upload_dir)
        report.stages.append(stage1)
        if not stage1.error:
            # the floor COPYs exactly the rows the import wrote, into empty tables shaped like the store's
            report.stages.append(
                _run_stage(
                    "floor: export TSV (COPY TO)",
                    "_st_floor_export",
                    {"db_url": db_url, "tsv_dir": str(tsv_dir)},
                    backends=backends,
                    log=log,
                    profile_dir=profile_dir,
                )
            )
            copy = _run_stage(
                "floor: COPY",
                "_st_floor_copy",
                {"db_url": db_url, "tsv_dir": str(tsv_dir)},
                backends=backends,
                log=log,
                profile_dir=profile_dir,
            )
            report.stages.append(copy)
        shutil.rmtree(tsv_dir, ignore_errors=True)
        if reimport and not stage1.error:
            report.stages.append(import_stage("re-import (identical)", upload_dir))
        if prices_only and not stage1.error:
            prices_kwargs = {
                "sections": ["prices"],
                "version": 1,
                "exported_at": datetime(2026, 11, 20, 10, 15) + timedelta(hours=1),
            }
            gen2 = _run_stage(
                "generate prices-only",
                "_st_generate",
                {"out_dir": str(prices_dir), "offers": offers, "seed": seed, "workers": 1, **prices_kwargs},
                log=log,
                profile_dir=profile_dir,
            )
            report.stages.append(gen2)
            report.stages.append(import_stage("import prices-only", prices_dir))
            report.counts["prices_changed"] = (
                expected_counts(offers=offers, seed=seed, **prices_kwargs)["changed_offers"]
                * report.counts["price_types"]
            )
        report.summary = _summary(report)
    finally:
        with contextlib.suppress(Exception):
            backends.close()  # type: ignore[attr-defined]
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
            with contextlib.suppress(Exception):
                _drop_database(server_url, dbname)
        else:
            report.summary["kept"] = {"database": db_url, "files": str(base)}
    return report


def _summary(report: BenchReport) -> dict[str, Any]:
    s: dict[str, Any] = {}
    parse, copy = report.stage("floor: raw parse"), report.stage("floor: COPY")
    first, second = report.stage("import (first)"), report.stage("re-import (identical)")
    prices = report.stage("import prices-only")
    if parse and copy and not parse.error and not copy.error:
        s["floor_seconds"] = round(parse.seconds + copy.seconds, 2)
    if first and not first.error and "floor_seconds" in s:
        s["pipeline_seconds"] = round(first.seconds, 2)
        s["pipeline_over_floor"] = round(first.seconds / s["floor_seconds"], 2)
        s["target_4x_floor"] = s["pipeline_over_floor"] <= 4.0
    if first and second and not first.error and not second.error and second.seconds > 0:
        s["reimport_speedup"] = round(first.seconds / second.seconds, 1)
        s["target_reimport_5x"] = s["reimport_speedup"] >= 5.0
        s["reimport_rows_touched"] = second.detail.get("touched", {})
    if prices and not prices.error:
        touched = prices.detail.get("touched", {})
        others = {t: n for t, n in touched.items() if t != "prices" and n}
        s["prices_only_touched"] = touched
        s["prices_only_expected_changed_prices"] = report.counts.get("prices_changed")
        s["target_prices_only"] = not others
    peaks = [st.max_client_rss_mb for st in report.stages if st.name.startswith(("import", "re-import"))]
    if peaks:
        s["peak_rss_mb_import"] = max(peaks)
        s["target_rss_300mb"] = max(peaks) <= 300
    server = [st.max_server_rss_mb for st in report.stages]
    s["peak_rss_mb_postgres_backend"] = max(server, default=0.0)
    return s


# ---------------------------------------------------------------------------------------------- printing


def render(report: BenchReport, console=None) -> None:
    """Print the results table (rich)."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal or console.width < 160:
            console = Console(width=180)
    m = report.machine
    title = (
        f"onec-pipeline bench — {report.offers:,} offers ({report.files_mb:,.0f} MB of XML), mode {report.mode}, "
        f"{report.started_at}"
    )
    table = Table(title=title, title_justify="left")
    for col, just in (
        ("stage", "left"),
        ("seconds", "right"),
        ("rows", "right"),
        ("rows/s", "right"),
        ("peak RSS MB", "right"),
        ("PG backend MB", "right"),
        ("notes", "left"),
    ):
        table.add_column(col, justify=just)
    for st in report.stages:
        table.add_row(
            st.name,
            "FAILED" if st.error else f"{st.seconds:,.2f}",
            f"{st.rows:,}",
            f"{st.rows_per_s:,.0f}" if st.rows else "",
            f"{st.max_client_rss_mb:.0f}",
            f"{st.max_server_rss_mb:.0f}" if st.max_server_rss_mb else "",
            _notes(st),
        )
    console.print(table)
    console.print(
        f"machine: {m.get('cpu', '?')} × {m.get('cpus')} CPUs, {m.get('memory_gb', '?')} GB, "
        f"Python {m.get('python')}, lxml {m.get('lxml')} / libxml2 {m.get('libxml2')}, PostgreSQL {m.get('postgresql')}"
    )
    c = report.counts
    console.print(
        f"upload: {c['groups']:,} groups, {c['goods']:,} goods, {c['offers']:,} offers, {c['prices']:,} prices, "
        f"{c['rests']:,} stock rows"
    )
    for st in report.stages:
        if st.name == "floor: raw parse":
            console.print(f"raw parse: {st.detail.get('tool')}, {st.detail.get('mb_per_s')} MB/s")
        if st.error:
            console.print(f"[red]{st.name}: {st.error}[/red]")
    for st in report.stages:
        prof = st.detail.get("profile") or {}
        if prof.get("self"):
            console.print(f"profile of {st.name} ({prof['samples']:,} samples, {prof['file']}):")
            for frame, share in list(prof["inclusive"].items())[:12]:
                console.print(f"    {share:6.1%} incl  {frame}")
            for frame, share in list(prof["self"].items())[:8]:
                console.print(f"    {share:6.1%} self  {frame}")
    s = report.summary
    lines = []
    if "floor_seconds" in s:
        lines.append(f"floor (raw parse + COPY) = {s['floor_seconds']:.2f}s")
    if "pipeline_over_floor" in s:
        ok = "OK" if s["target_4x_floor"] else "MISSED"
        lines.append(f"pipeline / floor = {s['pipeline_over_floor']:.2f} (target ≤ 4: {ok})")
    if "reimport_speedup" in s:
        ok = "OK" if s["target_reimport_5x"] else "MISSED"
        lines.append(f"re-import speed-up = {s['reimport_speedup']:.1f}× (target ≥ 5: {ok})")
    if "target_prices_only" in s:
        ok = "OK" if s["target_prices_only"] else "MISSED"
        lines.append(f"prices-only rows touched = {s['prices_only_touched']} (only prices: {ok})")
    if "peak_rss_mb_import" in s:
        ok = "OK" if s["target_rss_300mb"] else "MISSED"
        lines.append(
            f"peak RSS of the import processes = {s['peak_rss_mb_import']:.0f} MB (target ≤ 300: {ok})"
        )
    for line in lines:
        console.print(line)


def _notes(st: Stage) -> str:
    d = st.detail
    if st.error:
        return st.error[:120]
    if "mb_per_s" in d:
        return f"{d.get('tool')}: {d['mb']:,} MB at {d['mb_per_s']} MB/s"
    if "touched" in d:
        parts = []
        assets = d.get("assets") or {}
        if isinstance(assets, dict):
            for name, e in assets.items():
                if "end" in e:
                    parts.append(f"{name} {e['end'] - e.get('start', 0):.1f}s")
        elif isinstance(assets, list):
            parts += [f"{a['asset']} {a['seconds']:.1f}s" for a in assets]
        written = sum(d["touched"].values())
        return "; ".join(parts) + f"; rows written {written:,}"
    if "mb" in d:
        return f"{d.get('files')} files, {d['mb']:,} MB"
    if d.get("table_seconds"):
        return ", ".join(f"{t} {d['counts'][t]:,} in {sec:.1f}s" for t, sec in d["table_seconds"].items())
    if "counts" in d:
        return ", ".join(f"{k} {v:,}" for k, v in d["counts"].items())
    return ""


def markdown(report: BenchReport) -> str:
    """The results table as Markdown (for the README)."""
    out = [
        "| stage | seconds | rows | rows/s | peak RSS MB | PG backend MB | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for st in report.stages:
        out.append(
            f"| {st.name} | {'FAILED' if st.error else f'{st.seconds:,.2f}'} | {st.rows:,} | "
            f"{st.rows_per_s:,.0f} | {st.max_client_rss_mb:.0f} | {st.max_server_rss_mb:.0f} | "
            f"{_notes(st).replace('|', '/')} |"
        )
    return "\n".join(out)
