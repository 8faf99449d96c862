"""``onec-pipeline demo-data`` stamps the current time (a newer upload sorts above an older one, also above
the demo's seed), and ``--exported-at`` keeps it fixed (byte-identical files)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from onec_pipeline import intake
from onec_pipeline.cli.demo_cmd import demo_data, seed_upload
from onec_pipeline.commerceml import discover_upload


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.xml"))}


def test_demo_data_stamps_the_current_time_so_the_newer_upload_sorts_last(tmp_path):
    seeded = seed_upload(tmp_path / "incoming")  # what `make demo` drops
    time.sleep(1.1)  # a later second: keys differ by their time part
    result = CliRunner().invoke(demo_data, [str(tmp_path / "mine"), "--offers", "30"])
    assert result.exit_code == 0, result.output
    exported = discover_upload(tmp_path / "mine").exported_at
    assert exported is not None and abs((datetime.now() - exported).total_seconds()) < 120
    assert "exported at" in result.output
    seed_key, _ = intake.compute_key(seeded)
    mine_key, _ = intake.compute_key(tmp_path / "mine")
    assert mine_key > seed_key  # the README's own example is newer than the seed: nothing reported stale


def test_exported_at_keeps_the_files_identical(tmp_path):
    args = ["--offers", "30", "--exported-at", "2026-11-20T10:15:00"]
    for name in ("a", "b"):
        result = CliRunner().invoke(demo_data, [str(tmp_path / name), *args])
        assert result.exit_code == 0, result.output
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    upload = discover_upload(tmp_path / "a")
    assert min(h.exported_at for h in upload.files) == datetime(2026, 11, 20, 10, 15)
