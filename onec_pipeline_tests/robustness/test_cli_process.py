"""``onec-pipeline import`` as a real process on poison uploads: exit code 1, one clear line naming the file
on stderr, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .corpus import BY_ID

CLI = Path(sys.executable).with_name("onec-pipeline")


@pytest.mark.parametrize(
    ("case_id", "named"),
    [
        ("zip-encrypted", "import.xml"),
        ("truncated-offers.xml-90pct", "offers.xml"),
        ("name-not-utf8", "caf\ufffd.xml"),
        ("doctype-attlist-default-deleted-import.xml", "import.xml"),
    ],
)
def test_the_cli_refuses_a_poison_upload_in_one_line(case_id, named, tmp_path):
    src = BY_ID[case_id].build(tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["ONEC_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [str(CLI), "import", str(src), "--archive-dir", str(tmp_path / "archive")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and named in errors[0] and "nothing was imported" in errors[0], done.stderr
