"""``make demo`` serves the endpoint: credentials from the environment or printed demo ones, and the child
process answers 1C at /1c_exchange."""

from __future__ import annotations

import os
import signal
import time

import requests

from onec_pipeline.cli.demo_cmd import DEMO_EXCHANGE_USER, exchange_credentials, start_exchange
from onec_pipeline_tests.deploy.processes import clean_env, free_port


def test_demo_credentials():
    assert exchange_credentials({"ONEC_EXCHANGE_USER": "node", "ONEC_EXCHANGE_PASSWORD": "pw"}) == (
        "node",
        "pw",
        False,
    )
    user, password, generated = exchange_credentials({})
    assert user == DEMO_EXCHANGE_USER and len(password) >= 12 and generated
    assert exchange_credentials({})[1] != password  # random each time, never a fixed default


def test_the_demo_serves_the_endpoint(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = clean_env(ONEC_HOME=str(tmp_path / "var"), DAGSTER_HOME=str(home))
    port = free_port()
    proc, user, password, _ = start_exchange(env, "127.0.0.1", port)
    try:
        url = f"http://127.0.0.1:{port}/1c_exchange"
        answer = None
        for _ in range(300):
            try:
                answer = requests.get(
                    url, params={"type": "catalog", "mode": "checkauth"}, auth=(user, password), timeout=10
                )
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "the endpoint exited"
                time.sleep(0.2)
        assert answer is not None, "the endpoint did not answer within a minute"
        assert answer.text.startswith("success\nonec_session\n"), answer.text
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
