"""The docker compose stack, read as configuration (there is no Docker engine to run it here).

Checks the things that break a deployment silently: a location name that differs between the code server
and the workspace, a service started before Postgres is healthy, upload directories mounted where the
code does not look, a ``${VAR}`` missing from ``.env.example``, a Dockerfile copying files that don't exist;
and its security: no default password (compose's own ``${VAR:?message}`` interpolation, applied here as
compose applies it, refuses to go on and names the variable), nothing but the proxy published on the host's
public interfaces, the exchange sharing the code server's incoming directory. The proxy's Caddyfile itself
is validated and run by ``test_proxy.py``.
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
IMAGE_SERVICES = (*DAGSTER_SERVICES, "catalog_migrate", "exchange")  # the project's one image
CADDYFILE = DOCKER_DIR / "caddy" / "Caddyfile"
# secret -> what compose must refuse without (no default anywhere)
SECRETS = ("POSTGRES_PASSWORD", "ONEC_UI_PASSWORD_HASH", "ONEC_EXCHANGE_USER", "ONEC_EXCHANGE_PASSWORD")
COMPOSE_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


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


class ComposeRefusal(Exception):
    """What ``docker compose`` reports for ``${VAR:?message}`` when VAR is unset or empty."""


def _substitute(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one value (compose-spec "Interpolation"): ``${VAR}``, ``${VAR:-default}``
    (unset or empty), ``${VAR-default}`` (unset), ``${VAR:?message}`` (error when unset or empty),
    ``${VAR?message}`` (error when unset)."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise ComposeRefusal(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not value:
            return arg
        if op == "-" and value is None:
            return arg
        return value or ""

    return COMPOSE_VAR.sub(one, text)


def _compose_values(node) -> list[str]:
    """Every string value of the parsed compose file (what compose interpolates; comments are not)."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in _compose_values(value)]
    if isinstance(node, list):
        return [s for value in node for s in _compose_values(value)]
    return [node] if isinstance(node, str) else []


def _compose_interpolate(node, env: dict[str, str]):
    """The parsed compose file interpolated as ``docker compose`` does it with ``env`` as its .env."""
    if isinstance(node, dict):
        return {key: _compose_interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_compose_interpolate(value, env) for value in node]
    return _substitute(node, env) if isinstance(node, str) else node


def _compose_uses() -> list[tuple[str, str | None]]:
    """(variable, operator) of every interpolation in the compose file's values."""
    parsed = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return [(m.group(1), m.group(2)) for s in _compose_values(parsed) for m in COMPOSE_VAR.finditer(s)]


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
    # the UI's port 3000 is reached through the proxy (which asks for the login), not published itself
    assert "3000" in services["webserver"]["expose"] and "ports" not in services["webserver"]
    assert _caddy_upstreams()["ONEC_UI_UPSTREAM"] == "webserver:3000"


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
    for var in (
        "ONEC_IMPORT_DIR",
        "ONEC_ARCHIVE_DIR",
        "ONEC_OUTBOX_DIR",
        "ONEC_QUARANTINE_DIR",
        "ONEC_MEDIA_DIR",
    ):
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


# --- the exchange, the proxy and the security settings (issue 13) ---


def _caddyfile() -> str:
    """The Caddyfile without its comment lines."""
    lines = CADDYFILE.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _caddy_upstreams() -> dict[str, str]:
    """``{$VAR:default}`` placeholders of the Caddyfile -> their defaults (the compose service addresses)."""
    return dict(re.findall(r"\{\$(\w+):([^}]+)\}", _caddyfile()))


def _secrets_set() -> dict[str, str]:
    return {name: f"sentinel-{name.lower()}" for name in SECRETS}


def test_compose_refuses_to_start_without_each_secret_and_says_what_to_set(compose):
    for name in SECRETS:
        for env in ({k: v for k, v in _secrets_set().items() if k != name}, {**_secrets_set(), name: ""}):
            with pytest.raises(ComposeRefusal) as refusal:
                _compose_interpolate(compose, env)
            message = str(refusal.value)
            assert f"required variable {name} is missing" in message
            assert f"set {name} in .env" in message, message  # says what to set, and where
    # with every secret set the file interpolates and each reaches the services that need it
    values = _secrets_set()
    services = _compose_interpolate(compose, values)["services"]
    password = values["POSTGRES_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in (*DAGSTER_SERVICES, "exchange"):
        assert services[name]["environment"]["DAGSTER_PG_PASSWORD"] == password, name
    assert f":{password}@postgres:5432/" in services["user_code"]["environment"]["ONEC_DATABASE_URL"]
    exchange = services["exchange"]["environment"]
    assert exchange["ONEC_EXCHANGE_USER"] == values["ONEC_EXCHANGE_USER"]
    assert exchange["ONEC_EXCHANGE_PASSWORD"] == values["ONEC_EXCHANGE_PASSWORD"]
    assert services["proxy"]["environment"]["ONEC_UI_PASSWORD_HASH"] == values["ONEC_UI_PASSWORD_HASH"]


def test_no_secret_has_a_default_anywhere(services):
    uses = _compose_uses()
    for name in SECRETS:
        forms = {op for used, op in uses if used == name}
        assert forms == {":?"}, (name, forms)  # every use refuses when unset or empty; none has a default
    # and no literal credential: every password-like setting of every service is a required variable
    for service_name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|HASH", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), (service_name, key, value)
    example = _env_example()
    for name in SECRETS:
        assert example.get(name) == "", f".env.example must list {name} empty (no default password)"


def test_env_example_lists_every_required_variable():
    required = {name for name, op in _compose_uses() if op == ":?"}
    assert required == set(SECRETS)
    assert required <= set(_env_example())


def test_only_the_proxy_is_published_on_public_interfaces(services):
    for name, service in services.items():
        ports = [_interpolate(str(p)) for p in service.get("ports", [])]
        if name == "proxy":
            assert {p.split(":")[-1] for p in ports} == {"80", "443", "443/udp"}, ports
        elif name == "postgres":
            # the storefront on this host connects on the loopback interface
            assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
        else:
            assert not ports, (name, ports)  # user_code, webserver, daemon, exchange: network only


def test_exchange_service_shares_the_code_servers_incoming_directory(services):
    exchange, user_code = services["exchange"], services["user_code"]
    for name in IMAGE_SERVICES:
        assert services[name]["build"] == user_code["build"] and services[name]["image"] == user_code["image"]
    command = exchange["command"]
    assert command[:3] == ["onec-pipeline", "exchange", "serve"]
    assert _opt(command, "--host") == "0.0.0.0"
    port = _opt(command, "--port")
    assert port in exchange["expose"]
    assert _caddy_upstreams()["ONEC_EXCHANGE_UPSTREAM"] == f"exchange:{port}"
    env, code_env = exchange["environment"], user_code["environment"]
    # the catalog database and the Dagster instance (where it looks up the run of an upload) are the same
    for var in (
        "ONEC_DATABASE_URL",
        "ONEC_DB_SCHEMA",
        "ONEC_IMPORT_DIR",
        "ONEC_ARCHIVE_DIR",
        "ONEC_QUARANTINE_DIR",
    ):
        assert env[var] == code_env[var], var
    for var in ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        assert env[var] == code_env[var], var
    # the same host directories at the same paths as the sensor's: what the exchange renames into place in
    # the incoming directory, the sensor sees; the archive is only read
    mounts, code_mounts = _mounts(exchange), _mounts(user_code)
    for var in ("ONEC_IMPORT_DIR", "ONEC_ARCHIVE_DIR", "ONEC_QUARANTINE_DIR"):
        assert mounts[env[var]] == code_mounts[env[var]], var
    for mount in exchange["volumes"]:
        target = _interpolate(mount).split(":")[1]
        assert mount.endswith(":ro") == (target == env["ONEC_ARCHIVE_DIR"]), mount
    assert exchange["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert exchange["depends_on"]["catalog_migrate"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in exchange


def test_proxy_service_runs_the_repository_caddyfile(services, compose):
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:2")
    mounts = {target: source for target, source in _mounts(proxy).items()}
    assert (REPO_ROOT / mounts["/etc/caddy/Caddyfile"]).resolve() == CADDYFILE
    assert "./docker/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert {"caddy_data", "caddy_config"} <= set(compose["volumes"])  # certificates survive a recreate
    assert mounts["/data"] == "caddy_data"
    # media: the host directory the code server writes ONEC_MEDIA_DIR to, served read-only
    media_root = _caddy_upstreams()["ONEC_MEDIA_ROOT"]
    media_env = services["user_code"]["environment"]["ONEC_MEDIA_DIR"]
    assert mounts[media_root] == _mounts(services["user_code"])[media_env]
    assert any(v.endswith(f":{media_root}:ro") for v in proxy["volumes"])
    # every placeholder of the Caddyfile without a default is set by the proxy's environment
    bare = set(re.findall(r"\{\$(\w+)\}", _caddyfile()))
    assert bare == {"ONEC_UI_USER", "ONEC_UI_PASSWORD_HASH"}
    assert bare | {"ONEC_SITE_ADDRESS"} <= set(proxy["environment"])
    assert set(proxy["depends_on"]) == {"webserver", "exchange"}
