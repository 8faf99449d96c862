"""Serving the endpoint with uvicorn (``onec-pipeline exchange serve`` and ``make demo``)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from dagster import DagsterInstance

from .app import create_app
from .config import ExchangeConfig
from .orders import install_from_env as install_orders

DEFAULT_PORT = 8081


def configure_logging() -> None:
    """Exchange log lines on stderr with a timestamp (uvicorn configures only its own loggers)."""
    logger = logging.getLogger("onec_pipeline.exchange")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def serve(
    config: ExchangeConfig,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    instance: DagsterInstance | None = None,
) -> None:
    """Run the endpoint until interrupted. The client address of a request from an address in
    ``ONEC_EXCHANGE_FORWARDED_ALLOW_IPS`` (default: 127.0.0.1, i.e. a proxy on this host) is taken from
    its ``X-Forwarded-For``: failed logins are then limited per real client."""
    configure_logging()
    config.import_dir.mkdir(parents=True, exist_ok=True)
    install_orders()  # type=sale: the site's orders for mode=query / mode=info
    app = create_app(config, instance)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("ONEC_EXCHANGE_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1",
        log_level=os.environ.get("ONEC_EXCHANGE_LOG_LEVEL", "info").lower(),
        access_log=False,  # the endpoint logs every exchange request itself (without credentials)
    )


@contextlib.contextmanager
def serve_in_thread(
    config: ExchangeConfig,
    instance: DagsterInstance | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    app: Any = None,
) -> Iterator[str]:
    """The endpoint served by uvicorn in a thread of this process (tests, the exchange bench); yields its
    URL (``http://host:port/1c_exchange``) and stops the server on exit. ``port=0``: a free port."""
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app or create_app(config, instance), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="onec-exchange", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the exchange endpoint did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}/1c_exchange"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
