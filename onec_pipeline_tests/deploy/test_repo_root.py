"""A Dagster user's habits work in the repository root with nothing configured (issue 17, item 1).

Each test works in a clean copy of the repository root (the files a fresh clone has, nothing generated)
with no ``DAGSTER_*`` or ``ONEC_*`` variable set: Dagster's commands find the code location through
``pyproject.toml`` and run on the embedded default instance, never on the production config, which lives
in ``deploy/production/`` and reaches ``$DAGSTER_HOME`` only through the image (or an operator's copy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest

from onec_pipeline_tests.conftest import REPO_ROOT
from onec_pipeline_tests.deploy.processes import (
    BIN,
    clean_env,
    free_port,
    http_get,
    stop_group,
    tail,
    wait_until,
)

DEFS_MODULE = "onec_pipeline.defs.definitions"
LOCATION = "onec_pipeline"
ASSETS = {"groups", "goods", "offers", "prices", "rests", "customers"}
# dagster/_cli/dev.py prints this when DAGSTER_HOME is set and the working directory holds a dagster.yaml
DEMO_WARNING = "Found a dagster instance configuration value"
NOT_COPIED = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".env"}

WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


def _tracked_files() -> list[str] | None:
    """The files a fresh clone would have (plus new, not ignored ones), or None outside a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return [name for name in proc.stdout.decode().split("\0") if name]


@pytest.fixture
def clean_root(tmp_path) -> Path:
    root = tmp_path / "checkout"
    files = _tracked_files()
    if files is None:
        shutil.copytree(
            REPO_ROOT,
            root,
            ignore=lambda _d, names: [n for n in names if n in NOT_COPIED or n.endswith(".egg-info")],
        )
    else:
        for name in files:
            source = REPO_ROOT / name
            if source.is_file():  # tracked but deleted in the working tree: not copied
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / name)
    return root


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300
    )


def test_the_root_holds_no_instance_config():
    """No dagster.yaml where `dagster dev` / `make demo` look (the working directory): the production one
    is in deploy/production/ and the demo's in deploy/local/."""
    assert not (REPO_ROOT / "dagster.yaml").exists() and not (REPO_ROOT / "dagster.yml").exists()
    assert (REPO_ROOT / "deploy" / "production" / "dagster.yaml").is_file()
    assert (REPO_ROOT / "deploy" / "local" / "dagster.yaml").is_file()


def test_validate_and_asset_list_succeed_in_a_clean_copy(clean_root):
    validate = _run(["dagster", "definitions", "validate"], clean_root)
    output = validate.stdout + validate.stderr
    assert validate.returncode == 0, output
    assert "All code locations passed validation" in output
    assert f"code location {LOCATION}" in output  # found through pyproject.toml's [tool.dagster]
    assert "DAGSTER_PG" not in output and "PostProcessingError" not in output
    # on a temporary instance in the working directory, removed on exit
    assert ".tmp_dagster_home_" in output
    assert not list(clean_root.glob(".tmp_dagster_home_*"))

    # Dagster 1.13's `asset` commands do not read [tool.dagster]; they take the module (README says so)
    listing = _run(["dagster", "asset", "list", "-m", DEFS_MODULE], clean_root)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert ASSETS <= set(listing.stdout.split()), listing.stdout


def test_dg_config_names_the_same_code_location():
    tool = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert tool["dg"]["directory_type"] == "project"
    project = tool["dg"]["project"]
    assert project["code_location_target_module"] == tool["dagster"]["module_name"] == DEFS_MODULE
    assert project["code_location_name"] == tool["dagster"]["code_location_name"] == LOCATION
    assert DEFS_MODULE.startswith(project["root_module"] + ".")


def test_dg_works_in_a_clean_copy_where_installed(clean_root):
    """`dg` ships in dagster-dg-cli, which the project does not install: checked where it is present."""
    dg = BIN / "dg" if (BIN / "dg").exists() else shutil.which("dg")
    if dg is None:
        pytest.skip("dg (package dagster-dg-cli) is not installed")
    env = clean_env()
    check = subprocess.run(
        [str(dg), "check", "defs"], cwd=clean_root, env=env, capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout + check.stderr
    listing = subprocess.run(
        [str(dg), "list", "defs", "--json"],
        cwd=clean_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listing.returncode == 0, listing.stderr
    assert ASSETS <= {a["asset_key"] for a in json.loads(listing.stdout)["assets"]}


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _loaded_location(base: str) -> dict | None:
    entries = _graphql(base, WORKSPACE_QUERY)["data"]["workspaceOrError"]["locationEntries"]
    return next((e for e in entries if e["loadStatus"] == "LOADED"), None)


@pytest.mark.slow
def test_dagster_dev_in_a_clean_copy_runs_on_the_embedded_default(clean_root, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
            cwd=clean_root,
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        entry = wait_until(
            lambda: _loaded_location(base), proc, log, what="code location loaded", seconds=240
        )
        assert entry["name"] == LOCATION
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
        assert http_get(f"{base}/server_info")[0] == 200
    finally:
        stop_group(proc)
    text = log.read_text(errors="replace")
    assert f"Using temporary directory {clean_root}/.tmp_dagster_home_" in text, tail(log)
    assert "DAGSTER_PG" not in text and "PostProcessingError" not in text, tail(log)
    assert DEMO_WARNING not in text


@pytest.mark.slow
def test_demo_from_the_root_prints_no_instance_config_warning(clean_root, tmp_path):
    """What `make demo` does: `onec-pipeline demo` in the repository root with DAGSTER_HOME elsewhere."""
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "onec-pipeline"), "demo", "--no-seed", "--home", str(tmp_path / "home")]
            + ["--host", "127.0.0.1", "--port", str(free_port())],
            cwd=clean_root,
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # the warning would come before this line (dagster/_cli/dev.py)
        wait_until(
            lambda: "Launching Dagster services" in log.read_text(errors="replace"),
            proc,
            log,
            what="dagster dev started",
            seconds=180,
        )
    finally:
        stop_group(proc)
    text = log.read_text(errors="replace")
    assert f"DAGSTER_HOME={tmp_path / 'home' / 'dagster_home'}" in text
    assert DEMO_WARNING not in text, tail(log)
