"""onec_upload_sensor on real temporary directories with a real (ephemeral) Dagster instance."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    SensorResult,
    SkipReason,
    build_sensor_context,
    materialize,
    validate_run_config,
)

from onec_pipeline import intake
from onec_pipeline.defs.catalog.assets import catalog_assets
from onec_pipeline.defs.customers.assets import customer_assets
from onec_pipeline.defs.customers.checks import customer_checks
from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.intake.sensors import onec_upload_sensor
from onec_pipeline.defs.resources import CatalogDatabase, ImportProgress, UploadDirs
from onec_pipeline_tests.conftest import SAMPLES_DIR

CML203 = SAMPLES_DIR / "cml-203"
UT11 = SAMPLES_DIR / "ut11-package-209"

pytestmark = pytest.mark.skipif(not CML203.is_dir(), reason="sample corpus not present")


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


class Dirs:
    def __init__(self, root: Path, settle: float):
        self.incoming = root / "in"
        self.archive = root / "archive"
        self.quarantine = root / "quarantine"
        self.incoming.mkdir(parents=True)
        self.resource = UploadDirs(
            import_dir=str(self.incoming),
            archive_dir=str(self.archive),
            quarantine_dir=str(self.quarantine),
            settle_seconds=settle,
        )


def tick(instance, dirs: Dirs, cursor: str | None):
    ctx = build_sensor_context(instance=instance, cursor=cursor, resources={"upload_dirs": dirs.resource})
    result = onec_upload_sensor(ctx)
    if isinstance(result, SkipReason):
        return [], [], ctx.cursor, result
    assert isinstance(result, SensorResult)
    keys = [k for req in result.dynamic_partitions_requests for k in req.partition_keys]
    instance.add_dynamic_partitions("uploads", keys)  # what Dagster does with the tick's result
    return result.run_requests, keys, result.cursor, result


def add_upload(
    dst: Path, src: Path = CML203, *, ready: bool = False, age_seconds: float | None = 3600
) -> Path:
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    if ready:
        (dst / ".ready").touch()
    if age_seconds is not None:
        set_age(dst, age_seconds)
    return dst


def set_age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (t, t))


def test_marker_upload_archived_partitioned_and_requested(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=3600)
    add_upload(dirs.incoming / "u1", ready=True, age_seconds=None)  # fresh files: only the marker counts
    requests, keys, cursor, _ = tick(instance, dirs, None)
    assert len(requests) == 1 and len(keys) == 1
    [req] = requests
    key = keys[0]
    assert intake.KEY_RE.match(key) and key.startswith("20150421T000000-")
    assert req.run_key == key and req.partition_key == key
    assert set(req.asset_selection) == {AssetKey(n) for n in ("groups", "goods", "offers", "prices", "rests")}
    assert req.tags["onec/import"] == "true" and req.tags["onec/upload"] == key
    assert {k.asset_key.path[-1] for k in req.asset_check_keys} <= {
        "groups",
        "goods",
        "offers",
        "prices",
        "rests",
    }
    assert all("audit" not in k.name for k in req.asset_check_keys)
    # a small upload: the run executes its steps on threads of its own process (a config the job accepts)
    assert req.run_config == {"execution": {"config": {"steps": "threads"}}}
    assert validate_run_config(defs.resolve_job_def("import_upload"), req.run_config)
    assert not (dirs.incoming / "u1").exists()
    assert (dirs.archive / key / "import.xml").is_file() and (dirs.archive / key / "offers.xml").is_file()
    assert json.loads(cursor) == {"failed": {}, "pending": {}}


def test_a_large_upload_runs_its_steps_in_processes(instance, tmp_path, monkeypatch):
    from onec_pipeline.defs import executor

    xml_bytes = sum(p.stat().st_size for p in CML203.glob("*.xml"))
    monkeypatch.setattr(executor, "THREADED_RUN_BELOW_BYTES", xml_bytes)  # cml-203 is just large enough
    dirs = Dirs(tmp_path, settle=3600)
    add_upload(dirs.incoming / "u1", ready=True, age_seconds=None)
    [req], _keys, _cursor, _ = tick(instance, dirs, None)
    assert req.run_config == {"execution": {"config": {"steps": "processes"}}}
    assert validate_run_config(defs.resolve_job_def("import_upload"), req.run_config)


def test_settling_needs_quiet_time_and_a_second_look(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    add_upload(dirs.incoming / "old", age_seconds=3600)
    add_upload(dirs.incoming / "fresh", src=UT11, age_seconds=None)  # written just now
    requests, keys, cursor, skip = tick(instance, dirs, None)
    assert requests == [] and keys == []
    assert set(json.loads(cursor)["pending"]) == {"old", "fresh"}
    requests, keys, cursor, _ = tick(instance, dirs, cursor)
    assert [r.partition_key for r in requests] == keys and len(keys) == 1  # only the settled one
    assert (dirs.archive / keys[0]).is_dir() and (dirs.incoming / "fresh").is_dir()
    assert set(json.loads(cursor)["pending"]) == {"fresh"}
    # the fresh upload changes between ticks: it has to be seen unchanged again before it goes
    set_age(dirs.incoming / "fresh", 3600)
    requests, keys, cursor, _ = tick(instance, dirs, cursor)
    assert requests == []
    requests, keys, cursor, _ = tick(instance, dirs, cursor)
    assert len(requests) == 1 and requests[0].asset_selection  # the package holds offers/prices/rests
    assert json.loads(cursor)["pending"] == {}


def test_half_written_file_waits_for_its_closing_root_tag(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    up = add_upload(dirs.incoming / "half", age_seconds=None)
    offers = up / "offers.xml"
    full = offers.read_bytes()
    offers.write_bytes(full[: len(full) // 2])  # the writer stalled mid-file
    set_age(up, 3600)
    cursor = None
    for _ in range(3):
        requests, keys, cursor, skip = tick(instance, dirs, cursor)
        assert requests == [] and keys == []
    assert "closing root tag" in skip.skip_message
    offers.write_bytes(full)  # the writer finishes
    set_age(up, 3600)
    requests, _, cursor, _ = tick(instance, dirs, cursor)
    assert requests == []  # changed since the last look
    requests, keys, cursor, _ = tick(instance, dirs, cursor)
    assert len(requests) == 1 and (dirs.archive / keys[0] / "offers.xml").read_bytes() == full


def test_zip_upload(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    z = dirs.incoming / "exchange.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(CML203.iterdir()):
            zf.write(f, f.name)
    (dirs.incoming / "exchange.zip.ready").touch()
    requests, keys, cursor, _ = tick(instance, dirs, None)
    assert len(requests) == 1
    key = keys[0]
    assert (dirs.archive / key / "import.xml").is_file() and (dirs.archive / f"{key}.zip").is_file()
    assert list(dirs.incoming.iterdir()) == []


def test_reupload_same_names_new_content_is_a_new_upload(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    add_upload(dirs.incoming / "exchange", ready=True)
    req1, keys1, cursor, _ = tick(instance, dirs, None)
    instance.add_dynamic_partitions("uploads", keys1)
    up = add_upload(dirs.incoming / "exchange", ready=True)
    text = (up / "import.xml").read_text(encoding="utf-8")
    (up / "import.xml").write_text(
        text.replace("</КоммерческаяИнформация>", "<!-- v2 --></КоммерческаяИнформация>")
    )
    req2, keys2, cursor, _ = tick(instance, dirs, cursor)
    assert len(req1) == len(req2) == 1
    assert req1[0].run_key != req2[0].run_key and keys2 and keys2[0] != keys1[0]
    assert keys1[0][:15] == keys2[0][:15]  # same export time, different content hash
    # the very same content again: same key, no new partition (the run key was used: Dagster skips it)
    add_upload(dirs.incoming / "exchange", ready=True)
    (dirs.incoming / "exchange" / "import.xml").write_text(
        text.replace("</КоммерческаяИнформация>", "<!-- v2 --></КоммерческаяИнформация>")
    )
    instance.add_dynamic_partitions("uploads", keys2)
    req3, keys3, cursor, _ = tick(instance, dirs, cursor)
    assert keys3 == [] and [r.run_key for r in req3] == [keys2[0]]
    assert sorted(intake.list_archived(dirs.archive)) == sorted([keys1[0], keys2[0]])


def test_several_uploads_together_and_cursor_stays_small(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    for i in range(6):
        up = add_upload(dirs.incoming / f"u{i}", age_seconds=None)
        with (up / "import.xml").open("a", encoding="utf-8") as fh:
            fh.write(f"<!-- {i} -->\n")  # after the root: distinct content, still complete
        set_age(up, 3600)
    # one more that never completes
    add_upload(dirs.incoming / "stuck", age_seconds=None)
    (dirs.incoming / "stuck" / "import.xml").write_text("<?xml version='1.0'?><КоммерческаяИнформация>")
    set_age(dirs.incoming / "stuck", 3600)
    requests, keys, cursor, _ = tick(instance, dirs, None)
    assert requests == [] and len(json.loads(cursor)["pending"]) == 7
    requests, keys, cursor, _ = tick(instance, dirs, cursor)
    assert len(requests) == 6 and len(set(keys)) == 6
    assert sorted(r.run_key for r in requests) == sorted(keys)
    state = json.loads(cursor)
    assert state == {"failed": {}, "pending": {"stuck": state["pending"]["stuck"]}}
    assert len(cursor) < 200  # only what is still waiting, never the history
    for _ in range(3):
        _, _, cursor, _ = tick(instance, dirs, cursor)
    assert len(cursor) < 200


def test_hostile_zip_quarantined_with_its_reason_and_reported_by_a_failed_run(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    z = dirs.incoming / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil.xml", "<a/>")
    (dirs.incoming / "evil.zip.ready").touch()
    requests, keys, cursor, _ = tick(instance, dirs, None)
    assert keys == [] and [r.job_name for r in requests] == ["quarantined_upload"]
    config = requests[0].run_config["ops"]["report_quarantined_upload"]["config"]
    assert "escaping the archive" in config["reason"] and config["incoming"] == "evil.zip"
    assert not (tmp_path / "evil.xml").exists() and not z.exists()
    (record,) = intake.list_quarantined(dirs.quarantine)
    assert sorted(p.name for p in Path(record.path).iterdir()) == [
        ".onec-quarantine.json",
        "evil.zip",
        "evil.zip.ready",
    ]
    requests, keys, cursor2, skip = tick(instance, dirs, cursor)
    assert requests == [] and isinstance(skip, SkipReason)


def test_prices_only_upload_selects_only_prices(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=30)
    up = dirs.incoming / "prices"
    up.mkdir()
    [prices] = [f for f in UT11.iterdir() if f.name.startswith("prices")]
    shutil.copyfile(prices, up / prices.name)
    (up / ".ready").touch()
    requests, keys, _, _ = tick(instance, dirs, None)
    assert [list(r.asset_selection) for r in requests] == [[AssetKey("prices")]]
    assert {k.asset_key for k in requests[0].asset_check_keys} == {AssetKey("prices")}


def test_an_upload_archived_by_an_interrupted_tick_is_recovered(instance, tmp_path):
    """Archived (as a tick does) but the tick died before Dagster stored its result: no partition."""
    dirs = Dirs(tmp_path, settle=0)
    add_upload(dirs.incoming / "u1", ready=True)
    [upload] = intake.scan_incoming(dirs.incoming)
    archived = intake.archive_upload(upload, dirs.archive)  # the tick's work, then the "crash"
    assert not (dirs.incoming / "u1").exists()
    requests, keys, cursor, _ = tick(instance, dirs, None)
    assert keys == [archived.key]
    [req] = requests
    assert req.run_key == req.partition_key == archived.key and AssetKey("goods") in req.asset_selection
    # once the partition exists, nothing more is offered
    instance.add_dynamic_partitions("uploads", [archived.key])
    requests, keys, _, result = tick(instance, dirs, cursor)
    assert requests == [] and keys == [] and isinstance(result, SkipReason)


def test_recovery_leaves_cli_archives_and_old_archives_alone(instance, tmp_path):
    dirs = Dirs(tmp_path, settle=0)
    # a CLI import of a path outside the incoming directory (copied): not the sensor's to run
    intake.archive_path(CML203, dirs.archive, keep_source=True)
    # an upload archived from the incoming directory long ago whose partition was removed on purpose
    add_upload(dirs.incoming / "old", src=UT11, ready=True)
    [upload] = intake.scan_incoming(dirs.incoming)
    old = intake.archive_upload(upload, dirs.archive)
    manifest = intake.read_manifest(old.path)
    manifest.archived_at = "2020-01-01T00:00:00+00:00"
    (old.path / intake.MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    requests, keys, _, result = tick(instance, dirs, None)
    assert requests == [] and keys == [] and isinstance(result, SkipReason)


def test_every_header_is_read_once_from_sensor_tick_to_finished_run(instance, tmp_path, monkeypatch):
    """Archiving reads each XML file's header once and keeps it in the manifest; the run request and every
    asset step rebuild the upload from the manifest (before: 2 + one per asset step)."""
    import onec_pipeline.commerceml.upload as upload_module
    import onec_pipeline.intake.manifest as manifest_module

    reads: Counter[str] = Counter()
    header_from, read_header = upload_module.header_from, manifest_module.read_header

    def counted_header_from(opener, rel, size):
        reads[rel] += 1
        return header_from(opener, rel, size)

    def counted_read_header(path, rel=None):
        reads[rel or Path(path).name] += 1
        return read_header(path, rel)

    monkeypatch.setattr(upload_module, "header_from", counted_header_from)
    monkeypatch.setattr(manifest_module, "read_header", counted_read_header)
    dirs = Dirs(tmp_path, settle=30)
    add_upload(dirs.incoming / "u1", ready=True)
    [request], [key], _, _ = tick(instance, dirs, None)
    assert dict(reads) == {"import.xml": 1, "offers.xml": 1}  # the archive read them, the request did not
    selection = AssetSelection.assets(*request.asset_selection) | AssetSelection.checks(
        *request.asset_check_keys
    )
    result = materialize(
        [*catalog_assets, *customer_assets, *customer_checks],
        selection=selection,
        partition_key=key,
        instance=instance,
        resources={
            "catalog_db": CatalogDatabase(database_url=f"sqlite:///{tmp_path / 'catalog.sqlite3'}"),
            "upload_dirs": dirs.resource,
            "progress": ImportProgress(),
        },
        tags=request.tags,
    )
    assert result.success
    materialised = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialised == {"groups", "goods", "offers", "prices", "rests"}
    assert dict(reads) == {"import.xml": 1, "offers.xml": 1}  # five asset steps read no header
