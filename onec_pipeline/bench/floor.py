"""The floor the import is compared with, measured on the same files and rows: a raw streaming parse
(libxml2 with no Python per element, or ``xmllint --stream``) plus a COPY of exactly the rows the import
wrote into empty tables shaped like the store's (keys and indexes included).

Stage functions (each runs in its own process, see ``process.run_stage``); lxml and psycopg2 are imported
inside them, see ``onec_pipeline.bench.database``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from .database import BENCH_SCHEMA, libpq_url

FLOOR_SCHEMA = "bench_floor"
FLOOR_TABLES = ("goods", "offers", "prices", "rests")
_BUFFER_BYTES = 1 << 20  # file reads and COPY buffers


class _NullTarget:
    """A parser target with no callbacks: libxml2 parses, lxml calls nothing per element."""

    def close(self) -> None:
        return None


def _xml_files(root: str) -> list[Path]:
    return sorted(path for path in Path(root).rglob("*.xml") if path.is_file())


def parse_files(upload_dir: str, use_xmllint: bool) -> dict[str, Any]:
    """Stage: parse every XML file of the upload, doing nothing per element."""
    from lxml import etree

    files = _xml_files(upload_dir)
    total = sum(path.stat().st_size for path in files)
    xmllint = use_xmllint and shutil.which("xmllint") is not None
    tool = "xmllint --stream" if xmllint else "libxml2 via lxml (no-op target)"
    started = time.perf_counter()
    for path in files:
        if xmllint:
            subprocess.run(["xmllint", "--stream", "--noout", "--huge", str(path)], check=True)
            continue
        parser = etree.XMLParser(
            target=_NullTarget(), huge_tree=True, resolve_entities=False, no_network=True
        )
        with open(path, "rb") as xml:
            while chunk := xml.read(_BUFFER_BYTES):
                parser.feed(chunk)
        parser.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": 0,
        "tool": tool,
        "mb": round(total / 1e6, 1),
        "mb_per_s": round(total / 1e6 / seconds, 1) if seconds else 0,
    }


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def export_rows(db_url: str, tsv_dir: str) -> dict[str, Any]:
    """Stage: TSV of exactly the rows the import wrote (COPY … TO), with the column lists, for ``copy_rows``."""
    import psycopg2

    conn = psycopg2.connect(libpq_url(db_url))
    counts, columns = {}, {}
    try:
        with conn.cursor() as cur:
            for table in FLOOR_TABLES:
                cur.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "ORDER BY ordinal_position",
                    (BENCH_SCHEMA, table),
                )
                columns[table] = [row[0] for row in cur.fetchall()]
                select = f"SELECT {_quoted(columns[table])} FROM {BENCH_SCHEMA}.{table}"
                with open(Path(tsv_dir) / f"{table}.tsv", "wb") as tsv:
                    cur.copy_expert(f"COPY ({select}) TO STDOUT", tsv, size=_BUFFER_BYTES)
                counts[table] = cur.rowcount
        conn.commit()
    finally:
        conn.close()
    (Path(tsv_dir) / "columns.json").write_text(json.dumps(columns))
    return {"rows": sum(counts.values()), "counts": counts}


def copy_rows(db_url: str, tsv_dir: str) -> dict[str, Any]:
    """Stage: COPY the exported rows into empty tables shaped like the store's (PKs and indexes included);
    only the COPY is timed."""
    import psycopg2

    columns = json.loads((Path(tsv_dir) / "columns.json").read_text())
    conn = psycopg2.connect(libpq_url(db_url))
    counts: dict[str, int] = {}
    per_table: dict[str, float] = {}
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {FLOOR_SCHEMA} CASCADE; CREATE SCHEMA {FLOOR_SCHEMA}")
            for table in FLOOR_TABLES:
                cur.execute(
                    f"CREATE TABLE {FLOOR_SCHEMA}.{table} (LIKE {BENCH_SCHEMA}.{table} INCLUDING ALL)"
                )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for table in FLOOR_TABLES:
                table_started = time.perf_counter()
                with open(Path(tsv_dir) / f"{table}.tsv", "rb") as tsv:
                    copy = f"COPY {FLOOR_SCHEMA}.{table} ({_quoted(columns[table])}) FROM STDIN"
                    cur.copy_expert(copy, tsv, size=_BUFFER_BYTES)
                counts[table] = cur.rowcount
                per_table[table] = round(time.perf_counter() - table_started, 2)
        conn.commit()
        seconds = time.perf_counter() - started
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {FLOOR_SCHEMA} CASCADE")
        conn.commit()
    finally:
        conn.close()
    return {"seconds": seconds, "rows": sum(counts.values()), "counts": counts, "table_seconds": per_table}
