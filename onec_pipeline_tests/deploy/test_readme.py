"""The README's commands are true: the cheap ones are run exactly as written.

Every line of a ```bash block of README.md that starts with ``.venv/bin/onec-pipeline`` is run, in order
of appearance, from a scratch working directory (so relative paths like ``var/try/upload`` land there)
with ``ONEC_HOME=<scratch>/var`` as ``make`` exports it, ``.venv/bin/`` meaning this interpreter's
bin directory, and ``../`` paths (the shared sample corpus beside the checkout) taken from the
repository root. Lines with placeholders (``<key>``) and the long-running commands (``demo``, ``bench``)
are not run; ``make demo`` itself is covered by the browser test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from onec_pipeline_tests.conftest import IN_CI, REPO_ROOT, SAMPLES_DIR

README = REPO_ROOT / "README.md"
BIN = Path(sys.executable).parent
NOT_RUN = {"demo", "bench"}  # start servers / take minutes


def bash_lines(text: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped in ("```bash", "```sh", "```shell") if not inside else False
            continue
        if inside and stripped and not stripped.startswith("#"):
            lines.append(stripped.split("  #")[0].strip())
    return lines


def runnable_commands() -> list[str]:
    commands = []
    for line in bash_lines(README.read_text(encoding="utf-8")):
        if not line.startswith(".venv/bin/onec-pipeline"):
            continue
        argv = shlex.split(line)
        if "<" in line or (len(argv) > 1 and argv[1] in NOT_RUN):
            continue
        commands.append(line)
    return commands


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first_block = bash_lines(text)[:2]
    assert [line.split()[:2] for line in first_block] == [["make", "demo"], ["make", "test"]]
    assert text.index("make demo") < text.index("## ")


def test_readme_documents_every_cli_subcommand():
    from onec_pipeline.cli import SUBCOMMANDS

    text = README.read_text(encoding="utf-8")
    for name in SUBCOMMANDS:
        assert f"onec-pipeline {name}" in text, name


def test_readme_lists_every_setting():
    """Every environment variable the package reads is in the configuration reference."""
    text = README.read_text(encoding="utf-8")
    used = set()
    for path in (REPO_ROOT / "onec_pipeline").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""_env\(\s*["'](\w+)["']""", source))
        used |= set(re.findall(r"""["'](ONEC_[A-Z0-9_]+)["']""", source))  # our variables' names
        used |= set(re.findall(r"""EnvVar\(\s*["'](\w+)["']""", source))
    assert "ONEC_HOME" in used
    for name in sorted(used):
        assert f"`{name}`" in text, f"{name} missing from the README's configuration reference"


def test_readme_commands_run(tmp_path):
    commands = runnable_commands()
    subcommands = {shlex.split(c)[1] for c in commands}
    # the block must keep covering the commands an operator tries first
    assert {"--help", "demo-data", "inspect", "import", "db"} <= subcommands, subcommands
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEC_", "DAGSTER_"))}
    env["ONEC_HOME"] = str(tmp_path / "var")
    for command in commands:
        argv = shlex.split(command)
        argv[0] = str(BIN / Path(argv[0]).name)
        # paths outside the checkout (the shared sample corpus) are relative to the repository root
        argv = [str((REPO_ROOT / a).resolve()) if a.startswith("../") else a for a in argv]
        missing = [a for a in argv if a.startswith(str(SAMPLES_DIR)) and not Path(a).exists()]
        if missing:
            if IN_CI:
                pytest.fail(f"{missing[0]} (named in the README) is missing")
            print(f"not run, sample corpus absent: {command}")
            continue
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def test_readme_names_every_compose_service():
    import yaml

    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    text = README.read_text(encoding="utf-8")
    for name in services:
        assert f"`{name}`" in text, name


def test_readme_names_every_job_schedule_sensor_and_asset():
    from onec_pipeline.defs.definitions import defs

    text = README.read_text(encoding="utf-8")
    repo = defs.get_repository_def()
    names = [job.name for job in repo.get_all_jobs() if not job.name.startswith("__")]
    names += [s.name for s in repo.schedule_defs] + [s.name for s in repo.sensor_defs]
    names += [key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()]
    assert "import_catalog" in names and "onec_upload_sensor" in names
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"not documented in README.md: {missing}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_readme_internal_links_resolve():
    text = README.read_text(encoding="utf-8")
    anchors = {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links
    assert not [link for link in links if link not in anchors], anchors
    for target in re.findall(r"\]\((?!#|https?:)([^)]+)\)", text):
        assert (REPO_ROOT / target).exists(), target
