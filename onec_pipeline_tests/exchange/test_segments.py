"""A segmented 3.1 export (one file per session, FORMAT.md §7) is one export: its segments are isolated,
gathered into one upload and imported once, so a full export deactivates once — only what the whole export
lacks — never per segment."""

from __future__ import annotations

import time
from datetime import datetime

import sqlalchemy as sa
from dagster import DagsterRunStatus

from onec_pipeline import intake
from onec_pipeline.exchange.exports import SEGMENT_NAME, is_segment
from onec_pipeline.synth.segments import generate_segmented_export

from .harness import OneC

SEGMENTS = {"goods": 3, "offers": 3, "prices": 2, "rests": 2}


def _send_segments(onec: OneC, files) -> list[list[str]]:
    """One exchange session per file, as 1C sends a per-entity export: checkauth, init, file, import."""
    answers = []
    for path in files:
        onec.session()
        assert onec.file(path.name, path.read_bytes())[0] == "success"
        answers.append(onec.get("import", filename=path.name))
    return answers


def _active(catalog, table: str) -> tuple[int, int]:
    t = catalog.tables[table]
    with catalog.engine.connect() as conn:
        total, active = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(sa.case((t.c.is_active, 1), else_=0)))
        ).one()
    return int(total), int(active or 0)


def _import_export(onec, dagster) -> str:
    closed = onec.get("complete")
    assert closed[0] == "success" and "handed to the sensor" in closed[1], closed
    [request] = dagster.tick()
    assert dagster.run_next() == DagsterRunStatus.SUCCESS
    return request.partition_key


def test_segment_names():
    assert SEGMENT_NAME.match("goods_1_3_0b3c8d6e-1f2a-4b5c-8d9e-0123456789ab.xml")
    assert SEGMENT_NAME.match("priceLists_1_1_0B3C8D6E-1F2A-4B5C-8D9E-0123456789AB.xml")
    assert not SEGMENT_NAME.match("import.xml") and not SEGMENT_NAME.match("goods_1_3.xml")
    assert is_segment(["goods_1_3_0b3c8d6e-1f2a-4b5c-8d9e-0123456789ab.xml", "import_files/ab/x.jpg"])
    assert not is_segment(["import.xml"]) and not is_segment(["import_files/ab/x.jpg"])


def _full_export(out, *, offers: int, goods: int, day: int):
    """A full export of one generated catalog (the same seed: the same ids), exported on November ``day``."""
    return generate_segmented_export(
        out, offers=offers, goods=goods, segments=SEGMENTS, seed=5, exported_at=datetime(2026, 11, day, 10)
    )


def test_a_full_export_in_many_sessions_deactivates_once(onec, dagster, catalog, dirs, tmp_path):
    first = _full_export(tmp_path / "a", offers=200, goods=60, day=20)
    answers = _send_segments(onec, first)
    assert [a[0] for a in answers] == ["success"] * len(first)
    assert answers[-1][1].startswith(f"segment {len(first)} of the export received")
    assert dagster.tick() == []  # nothing handed to the sensor before the export completes
    sessions = (dirs.incoming / ".exchange" / "exports").iterdir()
    [export] = list(sessions)
    assert len([p for p in export.iterdir() if p.is_dir()]) == len(first)  # one directory per segment
    key_a = _import_export(onec, dagster)
    assert _active(catalog, "goods") == (60, 60) and _active(catalog, "offers") == (200, 200)

    # the next full export lacks 10 goods and 50 offers; its early segments must survive its later ones
    second = _full_export(tmp_path / "b", offers=150, goods=50, day=21)
    _send_segments(onec, second)
    key_b = _import_export(onec, dagster)
    assert key_b > key_a
    assert _active(catalog, "goods") == (60, 50)
    # offer ids follow their product (synth: offer i of product i % goods): export B's 150 are all active,
    # every other offer (A's, which B lacks) is not
    offers_total, offers_active = _active(catalog, "offers")
    assert offers_active == 150 and offers_total > 200
    assert _active(catalog, "prices")[1] == 150 * 3 and _active(catalog, "rests")[1] == 150 * 5
    [manifest_files] = [intake.read_manifest(dirs.archive / key_b).files]
    assert len(manifest_files) == len(second)  # one upload: every segment, each in its own directory
    assert len({f.name.split("/")[0] for f in manifest_files}) == len(second)
    assert dagster.instance.get_runs_count() == 2  # one run per export, not one per segment


def test_a_reference_data_only_export_succeeds_on_an_empty_catalog(onec, dagster, catalog, tmp_path):
    files = generate_segmented_export(tmp_path / "ref", offers=40, segments={}, seed=9)
    assert [f.name.split("_")[0] for f in files] == [
        "priceLists", "storages", "propertiesGoods", "propertiesOffers", "units", "groups",
    ]  # fmt: skip
    assert all(a[0] == "success" for a in _send_segments(onec, files))
    _import_export(onec, dagster)
    counts = catalog.counts()
    assert counts["price_types"] == 3 and counts["warehouses"] == 5 and counts["groups"] > 0
    assert counts["goods"] == 0


def test_an_export_closes_when_something_else_arrives_or_when_idle(onec, dagster, server, dirs, tmp_path):
    files = generate_segmented_export(tmp_path / "s", offers=40, segments={"goods": 2}, seed=3)
    _send_segments(onec, files[:3])
    onec.session()  # a classic upload after segments: the export is handed over first, then the upload
    onec.file("import.xml", files[-1].read_bytes())
    assert onec.get("import", filename="import.xml")[0] == "progress"
    names = sorted(p.name for p in dirs.incoming.iterdir() if not p.name.startswith("."))
    assert len(names) == 2 and names[0].startswith("1c-") and any("export" in n for n in names)
    # an export nobody completes is handed over once idle
    _send_segments(onec, files[3:5])
    exports, config = server.app.state.exchange.exports, server.app.state.exchange.config
    assert exports.close_idle() == []  # not idle yet
    # a full export waits for complete longer than an export of changes only
    assert exports.close_idle(now=time.time() + config.delta_idle_seconds + 1) == []
    [closed] = exports.close_idle(now=time.time() + config.export_idle_seconds + 1)
    assert closed.files == 2 and (dirs.incoming / closed.name / intake.READY_MARKER).exists()
    # changes only (1C sends no complete then): closed after the short idle time
    deltas = generate_segmented_export(
        tmp_path / "d", offers=40, segments={"prices": 2}, seed=3, only_changes=True
    )
    _send_segments(onec, deltas[-2:])
    [closed] = exports.close_idle(now=time.time() + config.delta_idle_seconds + 1)
    assert closed.files == 2
