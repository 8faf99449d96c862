"""The ASGI app (Starlette): 1C's CommerceML HTTP exchange at ``/1c_exchange`` and
``/bitrix/admin/1c_exchange.php`` (FORMAT.md §11).

Every answer is plain text, the status word first (``success`` / ``progress`` / ``failure``), in UTF-8 or
windows-1251 (``ONEC_EXCHANGE_ENCODING``). Every request is logged (client, user, session, type, mode, file,
bytes, answer) on the logger ``onec_pipeline.exchange``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from dagster import DagsterInstance
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onec_pipeline import intake
from onec_pipeline.intake.scan import make_upload, walk_files

from . import sale
from .auth import COOKIE_NAME, RateLimiter, Session, Sessions, basic_credentials
from .config import ExchangeConfig
from .exports import Exports, is_segment
from .files import ClosedUpload, RefusedFile, SessionFiles, clean_filename, remove_stale_sessions
from .status import Answer, UploadStatus

log = logging.getLogger("onec_pipeline.exchange")

PATHS = ("/1c_exchange", "/1c_exchange/", "/bitrix/admin/1c_exchange.php")
TYPES = ("catalog", "sale")
UNKNOWN = Answer("failure", "Unknown command type.")


@dataclass
class Call:
    """One request, as the handlers see it."""

    request: Request
    type: str
    mode: str
    client: str
    session: Session | None = None
    filename: str = ""
    bytes: int = 0


@dataclass
class SessionUpload:
    """A session's upload state (kept in ``Session.state``)."""

    part: int = 0
    files: SessionFiles | None = None  # being assembled (not closed yet)
    closed: ClosedUpload | None = None  # the last upload handed to the sensor
    segment: str | None = None  # the last upload was a segment of an export: what import answers


class Exchange:
    """The endpoint's state: sessions, failed-login counters, open exports, the Dagster instance."""

    def __init__(
        self, config: ExchangeConfig, instance: DagsterInstance | Callable[[], DagsterInstance] | None = None
    ) -> None:
        self.config = config
        self.sessions = Sessions(config.session_seconds)
        self.limiter = RateLimiter(config.max_failures, config.failure_window)
        self.exports = Exports(config.import_dir, config.export_idle_seconds, config.delta_idle_seconds)
        self._instance = instance if instance is not None else DagsterInstance.get
        self._status: UploadStatus | None = None

    def status(self) -> UploadStatus:
        if self._status is None:
            instance = self._instance if isinstance(self._instance, DagsterInstance) else self._instance()
            self._status = UploadStatus(
                import_dir=self.config.import_dir,
                archive_dir=self.config.archive_dir,
                quarantine_dir=self.config.quarantine_dir,
                instance=instance,
                sensor_wait_seconds=self.config.sensor_wait_seconds,
            )
        return self._status

    # --------------------------------------------------------------------------------------- requests

    async def handle(self, request: Request) -> Response:
        call = Call(
            request=request,
            type=request.query_params.get("type", "").strip().lower(),
            mode=request.query_params.get("mode", "").strip().lower(),
            client=request.client.host if request.client else "unknown",
            filename=request.query_params.get("filename", ""),
        )
        try:
            answer = await self.dispatch(call)
        except Exception as exc:  # noqa: BLE001 - 1C hears a failure line, the log has the traceback
            log.exception("exchange %s/%s failed", call.type, call.mode)
            answer = Answer("failure", f"internal error: {type(exc).__name__}")
        if isinstance(answer, Response):
            self._log(call, "xml", f"{len(answer.body)} bytes")
            return answer
        self._log(call, answer.status, answer.text)
        response = Response(
            answer.body().encode(self.config.encoding, errors="replace"),
            media_type=f"text/plain; charset={self.config.encoding}",
        )
        if call.mode == "checkauth" and answer.status == "success" and call.session is not None:
            response.set_cookie(COOKIE_NAME, call.session.token, httponly=True, samesite="strict")
        return response

    def _log(self, call: Call, status: str, text: str) -> None:
        session = call.session
        if session is not None:  # the token is a credential while it lives: never in a log
            text = text.replace(session.token, "<token>")
        log.info(
            "client=%s user=%s session=%s type=%s mode=%s file=%s bytes=%d -> %s %s",
            call.client,
            session.user if session else "-",
            session.id if session else "-",
            call.type or "-",
            call.mode or "-",
            call.filename or "-",
            call.bytes,
            status,
            text.replace("\n", " | ")[:300],
        )

    async def dispatch(self, call: Call) -> Answer | Response:
        if call.type not in TYPES:
            return UNKNOWN
        if call.mode == "checkauth":
            return self.checkauth(call)
        token = call.request.query_params.get("sessid") or call.request.cookies.get(COOKIE_NAME)
        call.session = self.sessions.find(token)
        handler = (CATALOG_MODES if call.type == "catalog" else SALE_MODES).get(call.mode)
        if handler is None:
            return UNKNOWN
        if call.session is None:
            return Answer("failure", "no session or the session expired: call mode=checkauth first")
        return await handler(self, call)

    def checkauth(self, call: Call) -> Answer:
        wait = self.limiter.blocked_for(call.client)
        if wait:
            return Answer("failure", f"too many failed logins from {call.client}: try again in {wait:.0f} s")
        given = basic_credentials(call.request.headers.get("authorization"))
        if given is None or not self.config.credentials.check(*given):
            self.limiter.failed(call.client)
            return Answer("failure", "wrong user name or password")
        session = self.sessions.open(given[0], call.type)
        call.session = session
        return Answer(
            "success", f"{COOKIE_NAME}\n{session.token}\nsessid={session.token}\ntimestamp={int(time.time())}"
        )

    async def init(self, call: Call) -> Answer:
        assert call.session is not None
        state = upload_state(call.session)
        if state.files is not None:  # init starts a new file set (Bitrix empties its folder)
            state.files.discard()
            state.files = None
        version = self.config.catalog_version if call.type == "catalog" else self.config.sale_version
        call.session.state["version"] = call.request.query_params.get("version", "") or version
        lines = [
            f"zip={'yes' if self.config.zip else 'no'}",
            f"file_limit={self.config.file_limit}",
            f"sessid={call.session.token}",
            f"version={version}",
        ]
        return Answer(lines[0], "\n".join(lines[1:]))

    async def file(self, call: Call) -> Answer:
        assert call.session is not None
        try:
            rel = clean_filename(call.filename)
        except RefusedFile as exc:
            return Answer("failure", str(exc))
        state = upload_state(call.session)
        if state.files is None:
            state.part += 1
            state.files = SessionFiles(self.config.import_dir, call.session.id, state.part)
        try:
            call.bytes = await state.files.append(rel, call.request.stream(), self.config.file_limit)
        except RefusedFile as exc:
            return Answer("failure", str(exc))
        return Answer("success", f"{rel}: {call.bytes} bytes")

    async def import_(self, call: Call) -> Answer:
        assert call.session is not None
        state = upload_state(call.session)
        if state.files is not None:
            refused = await run_in_threadpool(self._close, call.session, state)
            if refused is not None:
                return refused
        if state.segment is not None:
            return Answer("success", state.segment)
        if state.closed is None:
            return Answer("failure", "no file was received in this session (mode=file first)")
        return await run_in_threadpool(self.status().answer, state.closed)

    def _close(self, session: Session, state: SessionUpload) -> Answer | None:
        """Close the session's upload (extract its zips; a segment joins its export, anything else goes to
        the sensor); a refused upload is quarantined and answered with the reason."""
        files = state.files
        assert files is not None
        state.files = None
        try:
            files.extract_zips()
        except (intake.IntakeError, OSError) as exc:
            record = _quarantine(files, self.config, str(exc))
            return Answer("failure", f"upload refused: {record.reason}")
        if is_segment(files.names()):
            export = self.exports.add(session.user, files)
            state.segment = f"segment {export.segments} of the export received; imported when it completes"
            state.closed = None
            return None
        self.exports.close(session.user)  # an export in progress ends where something else begins
        state.segment = None
        state.closed = files.close()
        log.info(
            "session %s: upload %s handed to the sensor (%d files)",
            session.id,
            state.closed.name,
            state.closed.files,
        )
        return None

    async def complete(self, call: Call) -> Answer:
        assert call.session is not None
        closed = await run_in_threadpool(self.exports.close, call.session.user)
        if closed is None:
            return Answer("success", "no segmented export open")
        return Answer("success", f"export of {closed.files} files handed to the sensor as {closed.name}")

    # ------------------------------------------------------------------------------------------- sale

    async def query(self, call: Call) -> Answer | Response:
        # the provider reads and writes the catalog database: off the event loop, like every blocking call here
        return await run_in_threadpool(self._documents, call, "query")

    async def info(self, call: Call) -> Answer | Response:
        if sale.provider("info") is None:
            return Answer("failure", "mode=info is not provided here")
        return await run_in_threadpool(self._documents, call, "info")

    def _documents(self, call: Call, mode: str) -> Response:
        assert call.session is not None
        version = call.session.state.get("version") or self.config.sale_version
        request = sale.SaleRequest(call.session.user, call.session.id, version)
        provide = sale.provider(mode)
        documents = provide(request) if provide else sale.empty_documents(version)
        if mode == "query":
            call.session.state["confirm"] = documents.confirm
        return Response(documents.body, media_type=documents.media_type)

    async def success(self, call: Call) -> Answer:
        assert call.session is not None
        confirm = call.session.state.pop("confirm", None)
        if confirm is not None:
            await run_in_threadpool(confirm)
        return Answer("success")

    # ----------------------------------------------------------------------------------------- server

    async def close_idle_exports(self) -> None:
        while True:
            idle = min(self.config.export_idle_seconds, self.config.delta_idle_seconds)
            await asyncio.sleep(max(1.0, min(30.0, idle / 4)))
            try:
                for closed in await run_in_threadpool(self.exports.close_idle):
                    log.info("idle export handed to the sensor as %s (%d files)", closed.name, closed.files)
                stale = await run_in_threadpool(
                    remove_stale_sessions, self.config.import_dir, max(self.config.session_seconds, 60) * 2
                )
                for name in stale:
                    log.warning("session files %s abandoned (never imported): removed", name)
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("housekeeping of the exchange directory failed")


def upload_state(session: Session) -> SessionUpload:
    state = session.state.get("upload")
    if state is None:
        state = session.state["upload"] = SessionUpload()
    return state


def _quarantine(files: SessionFiles, config: ExchangeConfig, reason: str) -> intake.QuarantineRecord:
    items = list(walk_files(files.root))
    upload = make_upload(files.root.name, "dir", files.root, items, None)
    return intake.quarantine_upload(upload, config.quarantine_dir, reason)


Handler = Callable[[Exchange, Call], Any]
CATALOG_MODES: dict[str, Handler] = {
    "init": Exchange.init,
    "file": Exchange.file,
    "import": Exchange.import_,
    "complete": Exchange.complete,
    "deactivate": Exchange.complete,
}
SALE_MODES: dict[str, Handler] = {
    "init": Exchange.init,
    "file": Exchange.file,
    "import": Exchange.import_,
    "query": Exchange.query,
    "success": Exchange.success,
    "info": Exchange.info,
}


def create_app(
    config: ExchangeConfig, instance: DagsterInstance | Callable[[], DagsterInstance] | None = None
) -> Starlette:
    """The Starlette app of the endpoint; ``instance``: the Dagster instance (or a factory; default
    ``DagsterInstance.get``, i.e. ``$DAGSTER_HOME``) asked for the runs of uploads."""
    exchange = Exchange(config, instance)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(exchange.close_idle_exports())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes = [Route(path, exchange.handle, methods=["GET", "POST"]) for path in PATHS]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.exchange = exchange
    return app
