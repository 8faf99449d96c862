"""The docker compose stack, read as configuration (there is no Docker engine to run it here).

Checks the things that break a deployment silently: a location name that differs between the code server
and the workspace, a service started before Postgres is healthy, upload directories mounted where the
code does not look, a ``${VAR}`` missing from ``.env.example``, a Dockerfile copying files that don't exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml

from onec_pipeline_tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKER_DIR = REPO_ROOT / "docker"
WORKSPACE = DOCKER_DIR / "workspace.yaml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
INIT_DIR = DOCKER_DIR / "postgres-init"
PROD_INSTANCE = REPO_ROOT / "deploy" / "production" / "dagster.yaml"

DAGSTER_SERVICES = ("user_code", "webserver", "daemon")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def workspace() -> dict:
    return yaml.safe_load(WORKSPACE.read_text(encoding="utf-8"))


def _opt(command: list[str], *flags: str) -> str:
    """Value following the first of ``flags`` in an argv list."""
    for i, arg in enumerate(command):
        if arg in flags:
            return command[i + 1]
    raise AssertionError(f"none of {flags} in {command}")


def _interpolate(value: str) -> str:
    """Apply compose's ``${VAR:-default}`` with the defaults (what an empty .env gives)."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: m.group(2) or "", value)


def _mounts(service: dict) -> dict[str, str]:
    """target -> source of a service's short-syntax volumes."""
    result = {}
    for mount in service.get("volumes", []):
        source, target = _interpolate(mount).split(":")[:2]
        result[target] = source
    return result


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _pyproject_dagster() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dagster"]


def test_services_of_the_deploy_docker_shape(services):
    assert {"postgres", "user_code", "webserver", "daemon"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    # the three Dagster services run one image built from docker/Dockerfile at the repository root
    builds = {name: services[name]["build"] for name in DAGSTER_SERVICES}
    for build in builds.values():
        assert (REPO_ROOT / build["context"]).resolve() == REPO_ROOT
        assert (REPO_ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert len({services[name]["image"] for name in DAGSTER_SERVICES}) == 1


def test_postgres_healthcheck_and_catalog_database(services):
    pg = services["postgres"]
    test = pg["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and "pg_isready" in test[1]
    # the init script directory is mounted where the postgres image runs it on first start
    init_host = _mounts(pg)["/docker-entrypoint-initdb.d"]
    assert (REPO_ROOT / init_host).resolve() == INIT_DIR
    scripts = sorted(INIT_DIR.glob("*.sh"))
    assert scripts and all(os.access(s, os.X_OK) for s in scripts)
    # Dagster storage and the catalog are two different databases
    assert pg["environment"]["POSTGRES_DB"] != pg["environment"]["ONEC_CATALOG_DB"]
    assert "ONEC_CATALOG_DB" in scripts[0].read_text(encoding="utf-8")


def test_dagster_services_wait_for_healthy_postgres_and_code_server(services):
    for name in DAGSTER_SERVICES:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["user_code"]["condition"] == "service_healthy", name
    hc = services["user_code"]["healthcheck"]["test"]
    assert hc[1:4] == ["dagster", "api", "grpc-health-check"]
    # the catalog is migrated once, before the code location starts
    assert services["user_code"]["depends_on"]["catalog_migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["catalog_migrate"]["command"] == ["onec-pipeline", "db", "upgrade"]


def test_code_server_location_matches_workspace_and_pyproject(services, workspace):
    command = services["user_code"]["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    entries = workspace["load_from"]
    assert len(entries) == 1
    grpc = entries[0]["grpc_server"]
    assert grpc["location_name"] == _opt(command, "--location-name")
    assert grpc["host"] == "user_code"  # the compose service name is its host name on the network
    assert int(grpc["port"]) == int(_opt(command, "-p", "--port"))
    assert _opt(command, "-h", "--host") == "0.0.0.0"
    tool = _pyproject_dagster()
    assert _opt(command, "-m", "--module-name") == tool["module_name"]
    assert grpc["location_name"] == tool["code_location_name"]


def test_workspace_is_valid_for_dagster(workspace):
    from dagster._core.workspace.config_schema import process_workspace_config

    result = process_workspace_config(workspace)
    assert result.success, result.errors


def test_webserver_and_daemon_read_the_workspace_baked_into_the_image(services):
    text = DOCKERFILE.read_text(encoding="utf-8")
    home = re.search(r"^ENV DAGSTER_HOME=(\S+)", text, re.M).group(1)
    assert re.search(r"^COPY docker/workspace\.yaml \"?\$DAGSTER_HOME/workspace\.yaml", text, re.M)
    assert re.search(r"^COPY deploy/production/dagster\.yaml \"?\$DAGSTER_HOME/dagster\.yaml", text, re.M)
    for name, exe in (("webserver", "dagster-webserver"), ("daemon", "dagster-daemon")):
        command = services[name]["command"]
        assert command[0] == exe
        assert _opt(command, "-w", "--workspace") == f"{home}/workspace.yaml"
    assert _opt(services["webserver"]["command"], "-p", "--port") == "3000"
    assert any(p.endswith(":3000") for p in services["webserver"]["ports"])


def test_dockerfile_installs_the_project_like_make_install():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"pip install \.(\s|$)", text)
    for match in re.finditer(r"^COPY (.+?) (\S+)$", text, re.M):
        for src in match.group(1).split():
            assert (REPO_ROOT / src).exists(), f"Dockerfile copies missing {src}"


def test_upload_directories_are_mounted_where_the_code_looks(services):
    user_code = services["user_code"]
    env = user_code["environment"]
    targets = set(_mounts(user_code))
    for var in ("ONEC_IMPORT_DIR", "ONEC_ARCHIVE_DIR", "ONEC_OUTBOX_DIR"):
        assert env[var] in targets, var
        assert Path(env[var]).is_relative_to(env["ONEC_HOME"])
    assert env["ONEC_DATABASE_URL"].startswith("postgresql+psycopg2://")
    assert "@postgres:5432/" in env["ONEC_DATABASE_URL"]
    # compute logs written by runs in user_code are readable by the webserver
    storage = {m for name in DAGSTER_SERVICES for m in services[name]["volumes"] if m.startswith("dagster_")}
    assert len(storage) == 1


def test_dagster_services_get_the_instance_storage_settings(services):
    for name in DAGSTER_SERVICES:
        env = services[name]["environment"]
        for var in ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
            assert var in env, (name, var)
        assert env["DAGSTER_PG_HOST"] == "postgres"


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source in _mounts(service).values():
            if not source.startswith((".", "/")):
                assert source in declared, (name, source)


def test_env_example_lists_every_interpolated_variable_with_the_same_default():
    text = COMPOSE.read_text(encoding="utf-8")
    example = _env_example()
    used = re.findall(r"\$\{(\w+)(?::-([^}]*))?\}", text)
    assert used
    for name, default in used:
        assert name in example, f"{name} missing from .env.example"
        if default:
            assert example[name] == default, name


def test_dagster_pg_variables_are_the_ones_dagster_yaml_reads(services):
    wanted = set(re.findall(r"\b(DAGSTER_PG_\w+)", PROD_INSTANCE.read_text(encoding="utf-8")))
    assert wanted
    env = services["user_code"]["environment"]
    assert wanted <= set(env), wanted - set(env)


@pytest.mark.postgres
def test_init_script_creates_the_catalog_database(pg_database_url):
    """Run the real init script against the real server, the way the postgres image would."""
    from urllib.parse import urlsplit

    if shutil.which("psql") is None:
        pytest.skip("psql not installed")
    parts = urlsplit(pg_database_url)
    dbname = f"onec_init_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_DB": parts.path.lstrip("/"),
        "ONEC_CATALOG_DB": dbname,
    }
    if parts.password:
        env["PGPASSWORD"] = parts.password
    script = sorted(INIT_DIR.glob("*.sh"))[0]
    import sqlalchemy as sa

    engine = sa.create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # idempotent: a second run finds the database and does nothing
            subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, timeout=60)
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": dbname}
            ).scalar()
        assert found == 1
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        engine.dispose()
