"""The exchange under test: the real app served by uvicorn on a free port (a thread of this process), 1C's
side spoken with ``requests``, the real upload sensor evaluated against a real temporary Dagster instance,
and its runs created queued and executed in this process like the daemon would launch them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    build_sensor_context,
)
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run

from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.executor import threaded_in_process_executor
from onec_pipeline.defs.intake.sensors import onec_upload_sensor
from onec_pipeline.defs.resources import UploadDirs
from onec_pipeline.exchange import ExchangeConfig, create_app
from onec_pipeline.exchange.config import Credentials
from onec_pipeline.exchange.server import serve_in_thread

USER, PASSWORD = "onec-node", "1c-exchange-secret"


@dataclass
class Dirs:
    root: Path
    incoming: Path = field(init=False)
    archive: Path = field(init=False)
    quarantine: Path = field(init=False)

    def __post_init__(self) -> None:
        self.incoming, self.archive, self.quarantine = (
            self.root / "in",
            self.root / "archive",
            self.root / "quarantine",
        )
        self.incoming.mkdir(parents=True, exist_ok=True)


def make_config(dirs: Dirs, **overrides) -> ExchangeConfig:
    values = {
        "credentials": Credentials(USER, password=PASSWORD),
        "import_dir": dirs.incoming,
        "archive_dir": dirs.archive,
        "quarantine_dir": dirs.quarantine,
        "file_limit": 1 << 20,
        **overrides,
    }
    return ExchangeConfig(**values)


@dataclass
class Server:
    url: str
    app: Any

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]


def serve(config: ExchangeConfig, instance: DagsterInstance) -> Iterator[Server]:
    """The app served by uvicorn on a free port, in a thread; stopped when the generator closes."""
    app = create_app(config, instance)
    with serve_in_thread(config, instance, app=app) as url:
        yield Server(url, app)


class OneC:
    """1C's side of the protocol (FORMAT.md §11), with ``requests``."""

    def __init__(self, url: str, user: str = USER, password: str = PASSWORD, type_: str = "catalog") -> None:
        self.url, self.auth, self.type = url, (user, password), type_
        self.http = requests.Session()
        self.cookie: str | None = None

    def get(self, mode: str, **params) -> list[str]:
        response = self.http.get(
            self.url, params={"type": self.type, "mode": mode, **params}, headers=self._headers(), timeout=30
        )
        assert response.status_code == 200, response.text
        return response.content.decode(response.encoding or "utf-8").split("\n")

    def _headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie} if self.cookie else {}

    def checkauth(self, password: str | None = None) -> list[str]:
        auth = (self.auth[0], password) if password is not None else self.auth
        response = requests.get(
            self.url, params={"type": self.type, "mode": "checkauth"}, auth=auth, timeout=30
        )
        lines = response.text.split("\n")
        if lines[0] == "success":
            self.cookie = f"{lines[1]}={lines[2]}"
        return lines

    def init(self, **params) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.get("init", **params) if "=" in line)

    def file(self, filename: str, body: bytes) -> list[str]:
        response = self.http.post(
            self.url,
            params={"type": self.type, "mode": "file", "filename": filename},
            data=body,
            headers=self._headers(),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.text.split("\n")

    def send(self, filename: str, body: bytes, limit: int) -> None:
        """A file in ``limit``-byte chunks, as 1C sends a file larger than file_limit."""
        for start in range(0, max(len(body), 1), limit):
            assert self.file(filename, body[start : start + limit])[0] == "success"

    def session(self) -> dict[str, str]:
        assert self.checkauth()[0] == "success"
        return self.init()


class Dagster:
    """The sensor and the daemon's part, on a real temporary instance: ``tick`` evaluates the real
    ``onec_upload_sensor`` and queues a run per request; ``run_next`` executes the oldest queued run here."""

    def __init__(self, instance: DagsterInstance, dirs: Dirs, database_url: str, schema: str | None) -> None:
        self.instance, self.dirs = instance, dirs
        self.cursor: str | None = None
        self.queued: list[tuple[str, object]] = []
        self.resources = {
            "catalog_db": {
                "config": {"database_url": database_url, **({"db_schema": schema} if schema else {})}
            },
            "upload_dirs": {"config": {"archive_dir": str(dirs.archive), "import_dir": str(dirs.incoming)}},
        }
        self.upload_dirs = UploadDirs(
            import_dir=str(dirs.incoming),
            archive_dir=str(dirs.archive),
            quarantine_dir=str(dirs.quarantine),
            settle_seconds=0,
        )

    def tick(self) -> list[RunRequest]:
        context = build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources={"upload_dirs": self.upload_dirs}
        )
        result = onec_upload_sensor(context)
        if not isinstance(result, SensorResult):
            self.cursor = context.cursor
            return []
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions("uploads", list(request.partition_keys or []))
        for request in result.run_requests or []:
            self.queue(request)
        return list(result.run_requests or [])

    def queue(self, request: RunRequest) -> None:
        """Create the request's run as the queued run coordinator does (status QUEUED... NOT_STARTED here:
        the state a run is in until it is launched)."""
        job = defs.resolve_job_def(request.job_name or "import_upload")
        if request.asset_selection is not None:
            job = job.get_subset(
                asset_selection=set(request.asset_selection),
                asset_check_selection=set(request.asset_check_keys or []),
            )
        job = job.with_executor_def(threaded_in_process_executor)  # the demo's: steps on threads
        tags = dict(request.tags)
        if request.partition_key:
            tags["dagster/partition"] = request.partition_key
        resources = {k: v for k, v in self.resources.items() if k in job.resource_defs}
        run = self.instance.create_run_for_job(
            job_def=job,
            run_config={
                **(request.run_config or {}),
                "resources": resources,
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
            },
            tags=tags,
            status=DagsterRunStatus.NOT_STARTED,
            asset_selection=frozenset(request.asset_selection) if request.asset_selection else None,
        )
        self.queued.append((run.run_id, job))

    def run_next(self) -> DagsterRunStatus:
        run_id, job = self.queued.pop(0)
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        result = execute_run(InMemoryJob(job), run, self.instance)  # type: ignore[arg-type]
        final = self.instance.get_run_by_id(result.run_id)
        assert final is not None
        return final.status

    def run_all(self) -> list[DagsterRunStatus]:
        statuses = []
        while self.queued:
            statuses.append(self.run_next())
        return statuses
