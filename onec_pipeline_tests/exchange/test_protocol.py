"""The protocol's edges against the served endpoint (no import runs): login, sessions, file names, limits,
unknown commands, encodings, the sale transport."""

from __future__ import annotations

import time

import pytest
import requests
from dagster import DagsterInstance

from onec_pipeline.exchange import sale

from .harness import PASSWORD, USER, OneC


def _files_under(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_unknown_type_or_mode(onec, server):
    for params in ({}, {"type": "nonsense", "mode": "checkauth"}, {"type": "catalog", "mode": "nonsense"}):
        response = requests.get(server.url, params=params, timeout=10)
        assert response.status_code == 200 and response.text == "failure\nUnknown command type."
    onec.session()
    assert onec.get("nonsense") == ["failure", "Unknown command type."]
    assert OneC(server.url, type_="get_catalog").get("init") == ["failure", "Unknown command type."]


def test_checkauth_gives_a_session_cookie_and_init_the_settings(onec, server):
    lines = onec.checkauth()
    assert lines[0] == "success" and lines[1] == "onec_session" and len(lines[2]) >= 32
    assert lines[3] == f"sessid={lines[2]}" and lines[4].startswith("timestamp=")
    assert onec.checkauth()[2] != lines[2]  # checkauth twice in a row: a new session each time, both fine
    settings = onec.init()
    assert settings == {"zip": "yes", "file_limit": str(1 << 20), "sessid": onec.cookie.split("=")[1],
                        "version": "3.1"}  # fmt: skip
    # the bitrix path answers the same
    bitrix = OneC(f"{server.base}/bitrix/admin/1c_exchange.php")
    assert bitrix.session()["version"] == "3.1"
    # sessid in the URL is accepted instead of the cookie
    token = onec.cookie.split("=", 1)[1]
    plain = requests.get(server.url, params={"type": "catalog", "mode": "init", "sessid": token}, timeout=10)
    assert plain.text.startswith("zip=yes\n")


def test_wrong_password_missing_or_unknown_cookie(onec, server):
    assert onec.checkauth(password="wrong") == ["failure", "wrong user name or password"]
    assert OneC(server.url, user="someone-else").checkauth()[0] == "failure"
    response = requests.get(server.url, params={"type": "catalog", "mode": "checkauth"}, timeout=10)
    assert response.text.startswith("failure")  # no credentials at all
    for cookie in (None, "onec_session=forged-token"):
        onec.cookie = cookie
        for mode in ("init", "import", "complete"):
            answer = onec.get(mode, filename="import.xml")
            assert answer[0] == "failure" and "checkauth" in answer[1], (cookie, mode, answer)
        assert onec.file("import.xml", b"<x/>")[0] == "failure"


def test_failed_logins_are_rate_limited_per_client(onec, server):
    for _ in range(5):
        assert onec.checkauth(password="guess")[0] == "failure"
    refused = onec.checkauth()  # the right password, too late
    assert refused[0] == "failure" and "too many failed logins" in refused[1]


def test_expired_session(dirs, instance):
    from .harness import make_config, serve

    for server in serve(make_config(dirs, session_seconds=-1), instance):
        onec = OneC(server.url)
        assert onec.checkauth()[0] == "success"
        answer = onec.get("init")
        assert answer[0] == "failure" and "expired" in answer[1]


def test_hostile_file_names_are_refused_and_write_nothing(onec, dirs, tmp_path):
    onec.session()
    before = _files_under(tmp_path)
    for name in (
        "../../escape.xml",
        "goods/../../escape.xml",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "..",
        "",
        ".hidden.xml",
        "import_files/.htaccess",
        "shell.php",
        "picture.jpg.php",
        "x.phtml",
        "run.sh",
        "page.html",
        "bad\x01name.xml",
        "a<b>.xml",
    ):
        answer = onec.file(name, b"<x/>")
        assert answer[0] == "failure", (name, answer)
    assert _files_under(tmp_path) == before
    assert not (tmp_path.parent / "escape.xml").exists()


def test_kept_sub_paths_and_a_too_large_request(onec, dirs, config_overrides):
    onec.session()
    assert onec.file("goods/1/import___x.xml", b"<a>")[0] == "success"
    assert onec.file("import_files/5c/pic.jpg", b"\xff\xd8\xff")[0] == "success"
    assert onec.file("/tmp/import.xml", b"<b/>")[0] == "success"  # a leading /tmp/ is stripped (Bitrix)
    big = onec.file("goods/1/import___x.xml", b"x" * ((1 << 20) + 1))
    assert big[0] == "failure" and "file_limit" in big[1]
    [session_dir] = (dirs.incoming / ".exchange" / "sessions").iterdir()
    assert _files_under(session_dir) == {"goods/1/import___x.xml", "import_files/5c/pic.jpg", "import.xml"}
    assert (session_dir / "goods/1/import___x.xml").read_bytes() == b"<a>"  # the refused request left nothing
    assert list(dirs.incoming.iterdir()) == [dirs.incoming / ".exchange"]  # nothing visible to the sensor


def test_import_without_a_file(onec):
    onec.session()
    assert onec.get("import", filename="import.xml")[0] == "failure"
    assert onec.get("complete") == ["success", "no segmented export open"]
    assert onec.get("deactivate", timestamp="1700000000")[0] == "success"


def test_windows_1251_answers(dirs, instance):
    from .harness import make_config, serve

    for server in serve(make_config(dirs, encoding="windows-1251"), instance):
        response = requests.get(
            server.url,
            params={"type": "catalog", "mode": "checkauth"},
            auth=(USER, "нет".encode()),
            timeout=10,
        )
        assert response.headers["content-type"] == "text/plain; charset=windows-1251"
        assert response.content.decode("cp1251").startswith("failure\n")
        onec = OneC(server.url)
        onec.session()
        answer = requests.post(
            server.url,
            params={"type": "catalog", "mode": "file", "filename": "Товары.xml"},
            data="<Товары/>".encode(),
            headers={"Cookie": onec.cookie},
            timeout=10,
        )
        assert answer.content.decode("cp1251") == "success\nТовары.xml: 15 bytes"


def test_sale_transport_with_and_without_a_provider(server):
    onec = OneC(server.url, type_="sale")
    assert onec.checkauth()[0] == "success"
    assert onec.init(version="2.09")["version"] == "2.09"
    empty = onec.http.get(onec.url, params={"type": "sale", "mode": "query"}, headers=onec._headers())
    assert "КоммерческаяИнформация" in empty.content.decode("utf-8")
    assert onec.get("success") == ["success", ""]

    confirmed: list[str] = []

    def provide(request: sale.SaleRequest) -> sale.SaleDocuments:
        body = f'<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация user="{request.user}"/>'
        return sale.SaleDocuments(body.encode(), confirm=lambda: confirmed.append(request.session_id))

    sale.register_provider(provide)
    try:
        onec.session()
        answer = onec.http.get(onec.url, params={"type": "sale", "mode": "query"}, headers=onec._headers())
        assert f'user="{USER}"' in answer.content.decode()
        assert confirmed == []  # not delivered until 1C says success
        assert onec.get("success")[0] == "success"
        assert len(confirmed) == 1
        assert onec.get("success")[0] == "success" and len(confirmed) == 1  # confirmed once
        onec.session()
        onec.http.get(onec.url, params={"type": "sale", "mode": "query"}, headers=onec._headers())
        assert len(confirmed) == 1  # a query without success confirms nothing
    finally:
        sale.register_provider(None)
    assert onec.get("info")[0] == "failure"
    assert PASSWORD not in repr(server.app.state.exchange.config)


def test_abandoned_session_files_are_removed(onec, dirs):
    from onec_pipeline.exchange.files import remove_stale_sessions

    onec.session()
    onec.file("import.xml", b"<a/>")
    sessions = dirs.incoming / ".exchange" / "sessions"
    assert remove_stale_sessions(dirs.incoming, 3600) == []
    [name] = remove_stale_sessions(dirs.incoming, 3600, now=time.time() + 7200)
    assert not (sessions / name).exists()


@pytest.fixture
def instance():
    """These tests run no import: an in-memory instance is enough (and quick to make)."""
    with DagsterInstance.ephemeral() as inst:
        yield inst
