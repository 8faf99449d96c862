"""Helpers for the deployment tests that start real servers: free ports, clean environments, bounded waits
for an HTTP answer, and stopping a started process group by its id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``DAGSTER_*`` or ``ONEC_*`` variable: nothing configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ONEC_"))}
    env.update(extra)
    return env


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(
    check: Callable[[], object], proc: subprocess.Popen, log: Path, *, what: str, seconds: float
) -> object:
    """Poll ``check`` (a falsy result or a connection error means "not yet") until it returns something
    truthy; fail with the log's tail when the process exits or the deadline passes."""
    deadline = time.monotonic() + seconds
    last_error = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}\n{tail(log)}")
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            result, last_error = None, str(exc)
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"{what}: not within {seconds:.0f} s ({last_error})\n{tail(log)}")


def http_get(url: str, *, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def stop_group(proc: subprocess.Popen, *, grace: float = 20) -> None:
    """Stop the process group this test started (``start_new_session=True``) by its id: SIGINT as Ctrl+C
    would, then SIGKILL for whatever is left after the grace period."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGINT:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their parent
            except ProcessLookupError:
                pass
        break
    proc.wait(timeout=10)
