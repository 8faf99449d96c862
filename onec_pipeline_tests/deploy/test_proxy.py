"""The compose stack's reverse proxy (``docker/caddy/Caddyfile``), checked with a real Caddy.

Debian's ``caddy`` package (2.6; ``.ci/run`` installs it, this test installs nothing) validates and adapts
the file with the environment docker-compose.yml gives the ``proxy`` service, then runs it on free local
ports in front of a real ``dagster-webserver`` serving the project's definitions, and an exchange upstream:
the UI and its GraphQL API need the proxy's login, ``/1c_exchange`` and ``/bitrix/admin/1c_exchange.php``
pass through with 1C's own credentials untouched, ``/media/`` serves files read-only.

Skips where ``caddy`` is not installed, except under CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from onec_pipeline_tests.conftest import IN_CI, REPO_ROOT
from onec_pipeline_tests.deploy.processes import BIN, clean_env, free_port, stop_group, tail, wait_until

CADDYFILE = REPO_ROOT / "docker" / "caddy" / "Caddyfile"
COMPOSE = REPO_ROOT / "docker-compose.yml"
UI_USER, UI_PASSWORD = "operator", "correct horse battery staple"
ONEC_AUTH = ("onec-node", "1c-exchange-secret")  # 1C's own credentials, never the UI's


@pytest.fixture(scope="module")
def caddy() -> str:
    path = shutil.which("caddy")
    if path is None:
        reason = "caddy not installed (Debian's package: apt-get install caddy; .ci/run installs it)"
        if IN_CI:
            pytest.fail(f"{reason}; the proxy tests must run under CI=true")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def ui_hash(caddy) -> str:
    """The bcrypt hash the README tells the operator to make, made the same way."""
    proc = subprocess.run(
        [caddy, "hash-password", "--plaintext", UI_PASSWORD], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _proxy_environment(**overrides: str) -> dict[str, str]:
    """The ``proxy`` service's environment as compose gives it with .env.example's defaults."""
    proxy = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["proxy"]
    env = {}
    for key, value in proxy["environment"].items():
        if ":?" not in value:  # the required ones come from overrides
            env[key] = value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value
    env.update(overrides)
    return env


def _caddy_env(home: Path, **settings: str) -> dict[str, str]:
    """A clean environment for a Caddy process whose state (autosave, certificates) stays under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    env.update(settings)
    return env


def _caddy(caddy: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [caddy, *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _adapt(caddy: str, tmp_path: Path, **settings: str) -> dict:
    proc = _caddy(caddy, "adapt", env=_caddy_env(tmp_path / "caddy-home", **settings))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _route_for(routes: list[dict], path: str) -> dict:
    return next(r for r in routes if any(path in m.get("path", []) for m in r.get("match", [])))


def _handlers(route: dict) -> list[str]:
    """Names of every handler in a route, subroutes included."""
    names = []
    for handler in route.get("handle", []):
        names.append(handler["handler"])
        for sub in handler.get("routes", []):
            names += _handlers(sub)
    return names


# --- the file as compose runs it ---


def test_caddyfile_is_valid_and_formatted(caddy, ui_hash, tmp_path):
    env = _caddy_env(tmp_path / "caddy-home", **_proxy_environment(ONEC_UI_PASSWORD_HASH=ui_hash))
    proc = _caddy(caddy, "validate", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Valid configuration" in proc.stdout + proc.stderr
    proc = _caddy(caddy, "validate", env={**env, "ONEC_SITE_ADDRESS": "shop.example.com"})
    assert proc.returncode == 0, proc.stderr
    # unformatted Caddyfiles make Caddy warn on every start
    formatted = subprocess.run([caddy, "fmt", str(CADDYFILE)], capture_output=True, text=True, timeout=60)
    assert formatted.stdout == CADDYFILE.read_text(encoding="utf-8")


def test_caddy_refuses_the_file_without_the_ui_password_hash(caddy, tmp_path):
    env = _caddy_env(tmp_path / "caddy-home", **_proxy_environment(ONEC_UI_PASSWORD_HASH=""))
    proc = _caddy(caddy, "validate", env=env)
    assert proc.returncode != 0
    assert "password cannot be empty" in proc.stderr


def test_without_a_domain_plain_http_on_port_80(caddy, ui_hash, tmp_path):
    config = _adapt(caddy, tmp_path, **_proxy_environment(ONEC_UI_PASSWORD_HASH=ui_hash))
    [server] = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":80"]
    assert "tls" not in config["apps"]
    routes = server["routes"]
    exchange = _route_for(routes, "/1c_exchange")
    assert exchange["match"][0]["path"] == ["/1c_exchange", "/1c_exchange/*", "/bitrix/admin/1c_exchange.php"]
    assert "authentication" not in _handlers(exchange)  # 1C's credentials are the endpoint's business
    assert "reverse_proxy" in _handlers(exchange)
    media = _route_for(routes, "/media/*")
    assert "authentication" not in _handlers(media) and "file_server" in _handlers(media)
    ui = next(r for r in routes if "match" not in r)  # the catch-all: UI and GraphQL
    assert _handlers(ui).index("authentication") < _handlers(ui).index("reverse_proxy")
    accounts = ui["handle"][0]["routes"][0]["handle"][0]["providers"]["http_basic"]["accounts"]
    assert accounts == [{"username": "admin", "password": ui_hash}]  # compose's default user, the hash


def test_with_a_domain_https_with_an_automatic_certificate(caddy, ui_hash, tmp_path):
    config = _adapt(
        caddy,
        tmp_path,
        **_proxy_environment(ONEC_UI_PASSWORD_HASH=ui_hash, ONEC_SITE_ADDRESS="shop.example.com"),
    )
    [server] = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]
    assert server["routes"][0]["match"] == [{"host": ["shop.example.com"]}]
    assert "automatic_https" not in server  # certificate and the HTTP->HTTPS redirect are Caddy's defaults


# --- the proxy running in front of a real Dagster webserver ---


class _ExchangeStandIn(BaseHTTPRequestHandler):
    """A small real HTTP upstream in the exchange's place: answers like the endpoint's checkauth and
    records what reached it."""

    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "forwarded_for": self.headers.get("X-Forwarded-For"),
                "body": body,
            }
        )
        reply = b"success\nonec_session\ntoken\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _request(url: str, *, auth: str | None = None, data: bytes | None = None, headers=None):
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _start_caddy(caddy: str, home: Path, **settings: str) -> tuple[subprocess.Popen, str, Path]:
    """``caddy run`` with the repository's Caddyfile on a free port (admin API off), its own process group;
    returns the process, the base URL and the log."""
    port = free_port()
    env = _caddy_env(home, **_proxy_environment(ONEC_SITE_ADDRESS=f":{port}", CADDY_ADMIN="off", **settings))
    log = home / "caddy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, f"http://127.0.0.1:{port}", log


@pytest.fixture(scope="module")
def stack(caddy, ui_hash, tmp_path_factory):
    """dagster-webserver (the project's definitions, the demo's instance config) + the exchange upstream +
    Caddy with the repository's Caddyfile on free ports. Yields the proxy's base URL and the media dir."""
    tmp = tmp_path_factory.mktemp("proxy")
    dagster_home = tmp / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", dagster_home / "dagster.yaml")
    media = tmp / "media"
    (media / "goods" / ".staging").mkdir(parents=True)
    (media / "goods" / "pic.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg bytes")
    (media / ".hidden").write_text("not for the web")
    (media / "goods" / ".staging" / "half.jpg").write_bytes(b"partial")

    exchange = ThreadingHTTPServer(("127.0.0.1", 0), _ExchangeStandIn)
    threading.Thread(target=exchange.serve_forever, daemon=True).start()

    ui_port = free_port()
    ui_log = tmp / "webserver.log"
    ui_env = clean_env(DAGSTER_HOME=str(dagster_home), ONEC_HOME=str(tmp / "var"))
    with ui_log.open("wb") as out:
        webserver = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(ui_port)]
            + ["-w", str(REPO_ROOT / "workspace.yaml")],  # the code location, in-process from the package
            cwd=tmp,
            env=ui_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui_upstream = f"127.0.0.1:{ui_port}"
    proxy, base, proxy_log = _start_caddy(
        caddy,
        tmp / "caddy",
        ONEC_UI_USER=UI_USER,
        ONEC_UI_PASSWORD_HASH=ui_hash,
        ONEC_UI_UPSTREAM=ui_upstream,
        ONEC_EXCHANGE_UPSTREAM=f"127.0.0.1:{exchange.server_address[1]}",
        ONEC_MEDIA_ROOT=str(media),
    )
    try:
        wait_until(
            lambda: _request(f"{base}/media/goods/pic.jpg")[0] == 200,
            proxy,
            proxy_log,
            what="caddy",
            seconds=60,
        )
        wait_until(
            lambda: _request(f"{base}/server_info", auth=_basic(UI_USER, UI_PASSWORD))[0] == 200,
            webserver,
            ui_log,
            what="dagster-webserver through the proxy",
            seconds=240,
        )
        yield {
            "base": base,
            "exchange": _ExchangeStandIn.seen,
            "media": media,
            "logs": (ui_log, proxy_log),
            "ui_upstream": ui_upstream,
        }
    finally:
        stop_group(proxy)
        stop_group(webserver)
        exchange.shutdown()
        exchange.server_close()


def test_the_ui_is_refused_without_the_password(stack):
    base = stack["base"]
    for path in ("/", "/runs", "/server_info", "/graphql"):
        status, headers, body = _request(base + path)
        assert status == 401, path
        assert headers.get("Www-Authenticate", "").startswith("Basic"), headers
        assert b"dagster" not in body.lower(), path
    status, _, _ = _request(base + "/", auth=_basic(UI_USER, "wrong password"))
    assert status == 401
    status, _, _ = _request(base + "/", auth=_basic(*ONEC_AUTH))  # 1C's credentials don't open the UI
    assert status == 401
    status, _, _ = _request(
        base + "/graphql",
        data=json.dumps({"query": "{ version }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 401


def test_the_ui_and_its_api_are_let_through_with_the_password(stack):
    base, auth = stack["base"], _basic(UI_USER, UI_PASSWORD)
    status, _, body = _request(base + "/", auth=auth)
    assert status == 200 and b">Dagster</title>" in body
    status, _, body = _request(
        base + "/graphql",
        auth=auth,
        data=json.dumps({"query": "{ version }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body
    assert json.loads(body)["data"]["version"] == "1.13.27"


def test_the_exchange_passes_through_without_the_ui_password(stack):
    base, seen = stack["base"], stack["exchange"]
    seen.clear()
    onec = _basic(*ONEC_AUTH)
    for path in ("/1c_exchange", "/bitrix/admin/1c_exchange.php"):
        status, headers, body = _request(f"{base}{path}?type=catalog&mode=checkauth", auth=onec)
        assert status == 200 and body.startswith(b"success\n"), (path, status, body)
    status, _, body = _request(  # no credentials at all, and a forged client address
        f"{base}/1c_exchange?type=catalog&mode=init", headers={"X-Forwarded-For": "203.0.113.7"}
    )
    assert status == 200 and body.startswith(b"success\n")  # the proxy did not ask: the endpoint decides
    upload = os.urandom(256 * 1024)
    status, _, _ = _request(
        f"{base}/1c_exchange?type=catalog&mode=file&filename=import.xml",
        auth=onec,
        data=upload,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 200
    assert [(r["method"], r["path"]) for r in seen] == [
        ("GET", "/1c_exchange?type=catalog&mode=checkauth"),
        ("GET", "/bitrix/admin/1c_exchange.php?type=catalog&mode=checkauth"),
        ("GET", "/1c_exchange?type=catalog&mode=init"),
        ("POST", "/1c_exchange?type=catalog&mode=file&filename=import.xml"),
    ]
    assert [r["authorization"] for r in seen] == [onec, onec, None, onec]  # untouched, never the UI's
    assert seen[-1]["body"] == upload  # the file's bytes arrive as sent
    # the client's real address, for the endpoint's rate limits: a forged one is replaced, not passed on
    assert [r["forwarded_for"] for r in seen] == ["127.0.0.1"] * 4


def test_only_the_exchange_paths_skip_the_login(stack):
    base = stack["base"]
    for path in ("/1c_exchangeX", "/1c_exchange.php", "/bitrix/admin/", "/1c_exchange/../graphql"):
        status, _, _ = _request(base + path, auth=_basic(*ONEC_AUTH))
        assert status == 401, path


def test_media_is_served_read_only_without_login(stack):
    base = stack["base"]
    status, _, body = _request(base + "/media/goods/pic.jpg")
    assert status == 200 and body == b"\xff\xd8\xff\xe0 jpeg bytes"
    for hidden in ("/media/.hidden", "/media/goods/.staging/half.jpg", "/media/", "/media/goods/"):
        status, _, body = _request(base + hidden)
        assert status == 404, hidden  # no hidden files, no directory listings
    # read-only: no method but GET/HEAD on a file, nothing written
    status, _, _ = _request(base + "/media/goods/pic.jpg", data=b"overwrite attempt")
    assert status == 405
    status, _, _ = _request(base + "/media/goods/new.jpg", data=b"upload attempt")
    assert status in (404, 405)
    assert (stack["media"] / "goods" / "pic.jpg").read_bytes() == b"\xff\xd8\xff\xe0 jpeg bytes"
    assert not (stack["media"] / "goods" / "new.jpg").exists()
    status, _, body = _request(base + "/media/../pyproject.toml")
    assert status == 401 and b"[project]" not in body  # the cleaned path is the UI's: login


def test_the_media_store_layout_is_served_as_goods_images_name_it(stack, tmp_path):
    """A picture the goods asset stores (``MediaStore.put``) is served at ``/media/<goods.images media>``;
    a write in progress (its hidden temporary name) is not."""
    from onec_pipeline.media import MediaStore
    from onec_pipeline_tests.media.images import png

    source = tmp_path / "import_files" / "ab" / "p.png"
    source.parent.mkdir(parents=True)
    source.write_bytes(png((3, 4, 5)))
    stored = MediaStore(stack["media"], max_bytes=1_000_000).put(source, "png")
    status, headers, body = _request(f"{stack['base']}/media/{stored.media}")
    assert status == 200 and body == source.read_bytes()
    assert headers.get("Content-Type") == "image/png"
    half = stack["media"] / stored.media.split("/")[0] / f".tmp-0123-{stored.media.split('/')[1]}"
    half.write_bytes(b"partial")
    assert _request(f"{stack['base']}/media/{stored.media.split('/')[0]}/{half.name}")[0] == 404


def test_logs_carry_no_credentials(stack):
    ui_log, proxy_log = stack["logs"]
    text = proxy_log.read_text(errors="replace")
    assert "/1c_exchange" in text  # access log written
    for secret in (UI_PASSWORD, ONEC_AUTH[1], _basic(UI_USER, UI_PASSWORD)[6:], _basic(*ONEC_AUTH)[6:]):
        assert secret not in text, tail(proxy_log)
    assert ui_log.exists()


# --- the proxy in front of the real endpoint ---


@pytest.fixture(scope="module")
def real_exchange(caddy, ui_hash, stack, tmp_path_factory):
    """``onec-pipeline exchange serve`` (1C's credentials from ONEC_EXCHANGE_USER / _PASSWORD) behind a second
    Caddy with the same Caddyfile and the same UI upstream. Yields the proxy's base URL."""
    tmp = tmp_path_factory.mktemp("real-exchange")
    dagster_home = tmp / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", dagster_home / "dagster.yaml")
    port = free_port()
    env = clean_env(
        DAGSTER_HOME=str(dagster_home),
        ONEC_HOME=str(tmp / "var"),
        ONEC_EXCHANGE_USER=ONEC_AUTH[0],
        ONEC_EXCHANGE_PASSWORD=ONEC_AUTH[1],
    )
    log = tmp / "exchange.log"
    with log.open("wb") as out:
        endpoint = subprocess.Popen(
            [str(BIN / "onec-pipeline"), "exchange", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proxy, base, proxy_log = _start_caddy(
        caddy,
        tmp / "caddy",
        ONEC_UI_USER=UI_USER,
        ONEC_UI_PASSWORD_HASH=ui_hash,
        ONEC_UI_UPSTREAM=stack["ui_upstream"],
        ONEC_EXCHANGE_UPSTREAM=f"127.0.0.1:{port}",
        ONEC_MEDIA_ROOT=str(tmp),
    )
    try:
        wait_until(  # no `type`: the endpoint's own refusal, not a login attempt
            lambda: _request(f"{base}/1c_exchange")[2].startswith(b"failure"),
            endpoint,
            log,
            what="the exchange endpoint through the proxy",
            seconds=120,
        )
        assert proxy.poll() is None, tail(proxy_log)
        yield base
    finally:
        stop_group(proxy)
        stop_group(endpoint)


def test_1c_signs_in_to_the_real_endpoint_through_the_proxy(real_exchange):
    base = real_exchange
    for path in ("/1c_exchange", "/bitrix/admin/1c_exchange.php"):
        status, _, body = _request(f"{base}{path}?type=catalog&mode=checkauth", auth=_basic(*ONEC_AUTH))
        lines = body.decode().splitlines()
        assert status == 200 and lines[0] == "success", body
        cookie = f"{lines[1]}={lines[2]}"  # 1C sends the session back as this cookie
        status, _, body = _request(f"{base}{path}?type=catalog&mode=init", headers={"Cookie": cookie})
        assert status == 200 and body.decode().splitlines()[0] in ("zip=yes", "zip=no"), body
    # the UI's login opens nothing at the endpoint: it checks 1C's own user
    status, _, body = _request(
        f"{base}/1c_exchange?type=catalog&mode=checkauth", auth=_basic(UI_USER, UI_PASSWORD)
    )
    assert status == 200 and body.startswith(b"failure"), body
