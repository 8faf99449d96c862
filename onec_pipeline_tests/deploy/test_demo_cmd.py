"""``onec-pipeline demo-data`` and the preparation half of ``onec-pipeline demo`` (the part before it
becomes ``dagster dev``; the browser test runs the whole command)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from onec_pipeline import intake
from onec_pipeline.cli import demo_cmd
from onec_pipeline_tests.conftest import REPO_ROOT

CLI = str(Path(sys.executable).parent / "onec-pipeline")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEC_", "DAGSTER_"))}
    env.update(extra)
    return env


def test_demo_data_writes_a_complete_split_package(tmp_path):
    incoming = tmp_path / "incoming"
    out = incoming / "upload1"
    proc = subprocess.run(
        [CLI, "demo-data", str(out), "--offers", "40", "--ready"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "offers 40" in proc.stdout
    (found,) = intake.scan_incoming(incoming)
    assert found.name == "upload1" and found.marker == out / ".ready"
    names = [f.rel for f in found.files]
    # the 1C:УТ 11 split package: classifier/goods, offers (+ offer classifier), prices, rests, customers
    for prefix in ("import___", "offers___", "prices___", "rests___", "contragents___"):
        assert any(Path(n).name.startswith(prefix) for n in names), (prefix, names)
    assert all(intake.xml_is_complete(p) for p in found.xml_paths)
    verdict = intake.check_complete(found, now=time.time(), settle_seconds=30, previous_fingerprint=None)
    assert verdict.complete and verdict.reason == "marker"


def test_demo_data_without_ready_leaves_the_upload_to_settle(tmp_path):
    out = tmp_path / "incoming" / "u"
    proc = subprocess.run(
        [CLI, "demo-data", str(out)], env=_clean_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    (found,) = intake.scan_incoming(tmp_path / "incoming")
    assert found.marker is None
    verdict = intake.check_complete(found, now=time.time(), settle_seconds=30, previous_fingerprint=None)
    assert not verdict.complete


def test_prepare_demo_builds_the_local_instance_and_seeds_once(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ONEC_", "DAGSTER_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    env = demo_cmd.prepare_demo(home)
    assert "ONEC_HOME" not in os.environ  # the environment goes to dagster dev, not into this process
    dagster_home = Path(env["DAGSTER_HOME"])
    assert dagster_home == home / "dagster_home"
    assert (dagster_home / "dagster.yaml").read_text() == (
        REPO_ROOT / "deploy" / "local" / "dagster.yaml"
    ).read_text()
    workspace = yaml.safe_load((dagster_home / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert entry["python_module"]["location_name"] == "onec_pipeline"
    assert entry["python_module"]["module_name"] == "onec_pipeline.defs.definitions"
    assert env["ONEC_IMPORT_DIR"] == str(home / "1c_import")
    assert env["ONEC_DATABASE_URL"] == f"sqlite:///{home / 'catalog.sqlite3'}"

    uploads = intake.scan_incoming(home / "1c_import")
    assert len(uploads) == 1 and uploads[0].marker is not None
    assert not [p for p in (home / "1c_import").iterdir() if p.name.startswith(".staging")]

    # a restart does not drop a second copy
    demo_cmd.prepare_demo(home)
    assert len(intake.scan_incoming(home / "1c_import")) == 1
    # --no-seed on a fresh home seeds nothing
    env2 = demo_cmd.prepare_demo(tmp_path / "other", seed=False)
    assert intake.scan_incoming(env2["ONEC_IMPORT_DIR"]) == []


def test_ready_marker_is_the_one_intake_looks_for():
    assert demo_cmd.READY_MARKER == intake.READY_MARKER
