"""The endpoint's settings: no default credentials, a password from a file or as a hash, clear refusals;
the request log names what happened and never a password."""

from __future__ import annotations

import logging
import subprocess

import pytest

from onec_pipeline.exchange.config import ConfigError, Credentials, ExchangeConfig, hash_password
from onec_pipeline_tests.deploy.processes import BIN, clean_env

from .harness import PASSWORD, USER


def _clear(monkeypatch, tmp_path) -> None:
    for name in ("USER", "PASSWORD", "PASSWORD_FILE", "PASSWORD_HASH", "ENCODING", "ZIP", "FILE_LIMIT"):
        monkeypatch.delenv(f"ONEC_EXCHANGE_{name}", raising=False)
    monkeypatch.setenv("ONEC_HOME", str(tmp_path))


def test_no_credentials_no_endpoint(monkeypatch, tmp_path):
    _clear(monkeypatch, tmp_path)
    with pytest.raises(ConfigError, match="set ONEC_EXCHANGE_USER"):
        ExchangeConfig.from_env()
    monkeypatch.setenv("ONEC_EXCHANGE_USER", "node")
    with pytest.raises(ConfigError, match="set ONEC_EXCHANGE_PASSWORD"):
        ExchangeConfig.from_env()
    monkeypatch.setenv("ONEC_EXCHANGE_PASSWORD", "secret")
    monkeypatch.setenv("ONEC_EXCHANGE_ENCODING", "koi8-r")
    with pytest.raises(ConfigError, match="ONEC_EXCHANGE_ENCODING"):
        ExchangeConfig.from_env()
    monkeypatch.setenv("ONEC_EXCHANGE_ENCODING", "windows-1251")
    monkeypatch.setenv("ONEC_EXCHANGE_ZIP", "no")
    monkeypatch.setenv("ONEC_EXCHANGE_FILE_LIMIT", "204800")
    config = ExchangeConfig.from_env()
    assert (config.encoding, config.zip, config.file_limit) == ("windows-1251", False, 204800)
    assert config.import_dir == (tmp_path / "1c_import").resolve()
    assert "secret" not in repr(config)


def test_password_from_a_file_or_as_a_hash(monkeypatch, tmp_path):
    _clear(monkeypatch, tmp_path)
    monkeypatch.setenv("ONEC_EXCHANGE_USER", "node")
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("ONEC_EXCHANGE_PASSWORD_FILE", str(secret))
    credentials = ExchangeConfig.from_env().credentials
    assert credentials.check("node", "from-a-file") and not credentials.check("node", "from-a-file\n")
    monkeypatch.setenv("ONEC_EXCHANGE_PASSWORD_HASH", hash_password("hashed one", iterations=1000))
    credentials = ExchangeConfig.from_env().credentials
    assert credentials.check("node", "hashed one")
    assert not credentials.check("node", "hashed on") and not credentials.check("nod", "hashed one")
    monkeypatch.setenv("ONEC_EXCHANGE_PASSWORD_HASH", "md5$abc")
    with pytest.raises(ConfigError, match="hash-password"):
        ExchangeConfig.from_env()
    assert not Credentials("node", password="").check("node", "")  # never an empty password


def test_serve_refuses_to_start_without_credentials(tmp_path):
    proc = subprocess.run(
        [str(BIN / "onec-pipeline"), "exchange", "serve", "--port", "1"],
        env=clean_env(ONEC_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "set ONEC_EXCHANGE_USER" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_request_is_logged_without_the_password(onec, caplog):
    caplog.set_level(logging.INFO, logger="onec_pipeline.exchange")
    onec.checkauth(password="not-the-password")
    onec.session()
    token = onec.cookie.split("=", 1)[1]
    onec.file("goods/1/import.xml", b"<a/>")
    lines = [r.getMessage() for r in caplog.records if r.name == "onec_pipeline.exchange"]
    assert any("mode=checkauth" in line and "-> failure" in line for line in lines), lines
    assert any(f"user={USER}" in line and "mode=init" in line for line in lines), lines
    [file_line] = [line for line in lines if "mode=file" in line]
    assert "file=goods/1/import.xml bytes=4 -> success" in file_line
    assert not any(PASSWORD in line or "not-the-password" in line or token in line for line in lines)
    assert any("mode=checkauth" in line and "onec_session | <token>" in line for line in lines), lines
