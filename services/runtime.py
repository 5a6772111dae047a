"""Wires domain packages into a running process: HTTP app, outbox relays, consumers and workers."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console import mount_console
from shared.auth import UserDirectory, auth_router
from shared.bus.base import Bus
from shared.bus.consumer import ConsumerLoop, is_transient
from shared.bus.kafka import KafkaBus
from shared.bus.local import LocalBus
from shared.bus.topics import platform_topics
from shared.calendar import default_calendar
from shared.clock import Clock, clock_for
from shared.db.engine import create_engine, session_factory
from shared.db.migrations import upgrade
from shared.db.outbox import Inbox, Outbox
from shared.db.relay import OutboxRelay
from shared.errors import DomainError
from shared.handling import InboxProcessor
from shared.logging import get_logger
from shared.metrics import HTTP_LATENCY, SHED_REQUESTS
from shared.ratelimit import RateLimiter
from shared.service import ServiceDefinition, ServiceRuntime
from shared.settings import Settings

log = get_logger(__name__)


def _city_start(settings: Settings) -> datetime | None:
    if settings.clock_start == "next-opening":
        return default_calendar().opening(datetime.now(UTC), workdays=2)
    return None


class Platform:
    """One or more services in one process, sharing an engine and a bus connection."""

    POOL_SIZE = 20
    """Connections kept open: enough for each relay, consumer and worker and the writing requests below (the
    admissions of a group commit share one), so that none is opened and closed per request under load (a new
    connection is a TLS attempt and a backend)."""
    HTTP_WRITES = 24
    """Writing requests that run at once; more wait up to `HTTP_QUEUE_S` for a turn, then get 503. It also
    bounds a group commit: at 300 reports/s, 12 made intake's flushes small and shed 100-300 requests a minute
    whenever a flush was slow; 24 with a 20 ms linger shed none, at 5.02-5.05 instead of 5.38-5.40 ms CPU per
    report."""
    HTTP_QUEUE_S = 0.5
    """Past it, overload is answered at once: at 300 reports/s offered (1.5x what the bench machine takes) a
    2 s wait answered every excess request 503 only after 2 s, and the accepted ones after up to 2 s too."""

    def __init__(
        self,
        definitions: Sequence[ServiceDefinition],
        settings: Settings,
        clock: Clock | None = None,
        bus: Bus | None = None,
    ) -> None:
        settings.refuse_unsafe()
        if not settings.database_url:
            raise ValueError("CITYLOOP_DATABASE_URL is not set")
        self.definitions = list(definitions)
        self.settings = settings
        self.clock = clock or clock_for(
            settings.clock_speed, settings.data_dir / "city-clock.txt", _city_start(settings)
        )
        self.engine = create_engine(settings.database_url, pool_size=self.POOL_SIZE, max_overflow=10)
        self.sessions = session_factory(self.engine)
        self.bus: Bus = bus or (
            KafkaBus(settings.kafka_bootstrap, settings.kafka_client_id, settings.kafka_replication_factor)
            if settings.bus == "kafka"
            else LocalBus(self.engine)
        )
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.relays: list[OutboxRelay] = []
        self.loops: list[ConsumerLoop] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.started = False

    @property
    def name(self) -> str:
        return "+".join(d.name for d in self.definitions)

    async def migrate(self) -> None:
        for definition in self.definitions:
            await upgrade(definition.package, self.settings.database_url)

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await self.migrate()
        await self.bus.start()
        specs = {t.name: t for t in platform_topics()}
        for definition in self.definitions:
            specs.update({t.name: t for t in definition.topics})
        await self.bus.ensure_topics(list(specs.values()))
        for d in self.definitions:
            runtime = ServiceRuntime(
                name=d.name,
                settings=self.settings,
                engine=self.engine,
                sessions=self.sessions,
                bus=self.bus,
                clock=self.clock,
                outbox=Outbox(d.outbox_table, f"/cityloop/{d.name}", self.clock),
                inbox=Inbox(d.inbox_table),
            )
            self.runtimes[d.name] = runtime
            if d.on_startup:
                await d.on_startup(runtime)
        for d in self.definitions:
            runtime = self.runtimes[d.name]
            relay = OutboxRelay(
                self.engine,
                d.outbox_table,
                self.bus,
                service=d.name,
                batch_size=self.settings.outbox_batch_size,
                linger_s=self.settings.outbox_linger_ms / 1000,
                wakeup=runtime.outbox.committed,
            )
            self.relays.append(relay)
            self._spawn(f"{d.name}:relay", relay.run())
            for spec in d.consumers:
                processor = InboxProcessor(
                    spec.group,
                    spec.handlers,
                    self.sessions,
                    runtime.inbox,
                    runtime.outbox,
                    self.clock,
                    runtime.services,
                    spec.prepare(runtime) if spec.prepare else None,
                    spec.fold,
                )
                handle = spec.batch(runtime) if spec.batch else processor.handle_batch
                loop = ConsumerLoop(
                    self.bus,
                    spec.group,
                    spec.topics,
                    handle,
                    service=d.name,
                    max_attempts=self.settings.consumer_max_attempts,
                    batch_size=self.settings.consumer_batch_size,
                    linger_s=(self.settings.follower_linger_ms if spec.follower else self.settings.consumer_linger_ms)
                    / 1000,
                )
                self.loops.append(loop)
                self._spawn(f"{d.name}:consumer:{spec.group}", loop.run())
            if self.settings.run_workers:
                for i, worker in enumerate(d.workers):
                    self._spawn(f"{d.name}:worker:{i}", worker(runtime))
        self.started = True
        settle_collector()
        log.info("platform_started", services=[d.name for d in self.definitions], bus=type(self.bus).__name__)

    def _spawn(self, name: str, coro: Any) -> None:
        task = asyncio.create_task(self._supervise(name, coro), name=name)
        self.tasks[name] = task

    async def _supervise(self, name: str, coro: Any) -> None:
        """A background loop that dies is logged and its task ends; /readyz then reports the service unready."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background_task_died", task=name)
            raise

    async def stop(self) -> None:
        for relay in self.relays:
            relay.stop()
        for loop in self.loops:
            loop.stop()
        for name, task in self.tasks.items():
            if ":worker:" in name:
                task.cancel()  # workers hold no state outside a transaction: an interrupted sweep rolls back
        tasks = list(self.tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            for task in pending:
                with suppress(asyncio.CancelledError, Exception):
                    await task
        with suppress(Exception):
            await self.bus.stop()
        await self.engine.dispose()
        self.started = False

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {exc.__class__.__name__}"
        for d in self.definitions:
            dead = [n for n, t in self.tasks.items() if n.startswith(f"{d.name}:") and t.done()]
            checks[d.name] = "ok" if self.started and not dead else f"stopped: {', '.join(dead) or 'starting'}"
        checks["ready"] = all(v == "ok" for v in checks.values())
        return checks

    async def idle(self) -> bool:
        """Nothing waiting in any outbox, every consumer group caught up, every worker quiet."""
        for relay in self.relays:
            if await relay.backlog():
                return False
        for d in self.definitions:
            for spec in d.consumers:
                if await self.bus.group_lag(spec.group, spec.topics):
                    return False
            if d.is_idle and not await d.is_idle(self.runtimes[d.name]):
                return False
        return True


def create_app(platform: Platform, *, manage_lifecycle: bool = True) -> FastAPI:
    """The HTTP face of a platform: every service's routers plus health, readiness, metrics and token."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await platform.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await platform.stop()

    app = FastAPI(
        title=f"CityLoop {platform.name}",
        version="1",
        lifespan=lifespan,
        description="City grid management: intake, routing, closed-loop workflow, analytics.",
    )
    app.state.runtimes = platform.runtimes
    app.state.settings = platform.settings
    app.state.platform = platform
    app.state.rate_limiter = RateLimiter(platform.settings)
    users_file = platform.settings.users_file
    app.state.users = UserDirectory.from_yaml(users_file) if users_file.exists() else UserDirectory({})
    install_error_handlers(app)
    service_label = platform.name

    app.add_middleware(
        LoadShedMiddleware, service=service_label, limit=platform.HTTP_WRITES, queue_s=platform.HTTP_QUEUE_S
    )
    if platform.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=platform.settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=platform.settings.max_body_bytes,
        max_upload_bytes=platform.settings.max_upload_bytes,
        by_path=platform.settings.max_body_bytes_by_path,
    )
    app.add_middleware(LatencyMiddleware, service=service_label)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Readiness: database reachable and every service loop running")
    async def readyz() -> JSONResponse:
        checks = await platform.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @app.get("/v1/clock", tags=["ops"], summary="City time as the platform sees it (faster than real in demos)")
    async def city_clock() -> dict[str, object]:
        return {"now": platform.clock.now().isoformat(), "speed": platform.settings.clock_speed}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(auth_router, responses=EVERYWHERE)
    for d in platform.definitions:
        for router in d.routers:
            app.include_router(router, responses=EVERYWHERE)
    mount_console(app)
    return app


EVERYWHERE: dict[int | str, dict[str, Any]] = {
    413: {"description": "body larger than the limit (refused before it is parsed)"},
    429: {"description": "rate limit passed: retry after `Retry-After` seconds"},
}
"""Answers the body-limit middleware and the rate limiter may give on any route."""


class LatencyMiddleware:
    """Request latency by route template, as plain ASGI (Starlette's BaseHTTPMiddleware costs a task per request)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_LATENCY.labels(self.service, scope["method"], path, str(status)).observe(time.perf_counter() - started)


GC_YOUNG_THRESHOLD = 10_000
"""Net container allocations between two young collections (Python's default: 700)."""


def settle_collector() -> None:
    """Once started, keep the cyclic garbage collector to what requests and events leave behind.

    What startup built (models, taxonomy, geometry, SQL and schema caches) lives as long as the process, yet
    every full collection walked it again: 125–150 ms each, several a minute under load. Frozen, it is never
    walked (a rules reload leaves its replaced objects to reference counting alone). A request's and an
    event's objects die young, freed by reference counting, so a young collection every 700 net allocations
    mostly found nothing to free. Measured with `gc.callbacks` at 150 reports/s for 45 s, the four services
    spent 3.2 s of CPU collecting before (0.47 ms per report) and 0.06 s after.
    """
    gc.collect()  # startup's garbage is freed now, not frozen with what lives on
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)


class LoadShedMiddleware:
    """Overload is refused at once rather than queued until every caller times out.

    At most `limit` writing requests run together (past that they only compete for the same CPU and
    connections, and each takes longer). A request that cannot start within `queue_s` is answered 503 with
    `Retry-After` before any work is done, and so is one that finds `max_waiting` already waiting: a shed
    request then costs its parsing and an answer, not a timer and a connection held for `queue_s`. At 900
    reports/s offered (4.5x what the bench machine takes), holding every shed request made intake acknowledge
    130/s; answering it at once, 192/s, what it acknowledges at 300/s.
    """

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, service: str, limit: int, queue_s: float, max_waiting: int | None = None) -> None:
        self.app = app
        self.service = service
        self.queue_s = queue_s
        self.max_waiting = 4 * limit if max_waiting is None else max_waiting
        self._slots = asyncio.Semaphore(limit)
        self._waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.WRITES:
            await self.app(scope, receive, send)
            return
        if not await self._turn():
            SHED_REQUESTS.labels(self.service).inc()
            response = JSONResponse(
                {"error": {"code": "overloaded", "reason": "too many requests at once; retry after the given seconds"}},
                status_code=503,
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _turn(self) -> bool:
        """A running slot: at once if one is free, else after waiting in a queue of bounded length and time."""
        if not self._slots.locked():
            await self._slots.acquire()
            return True
        if self._waiting >= self.max_waiting:
            return False
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1


class BodyLimitMiddleware:
    """413 for a body over the limit, decided before any endpoint reads or parses it.

    A declared Content-Length is judged at once (the server enforces it); a chunked body is buffered up
    to the limit and refused as soon as it passes it. Multipart (photo) bodies get the larger limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int, by_path: dict[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.by_path = sorted(by_path.items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.max_upload_bytes if media == b"multipart/form-data" else self.max_bytes
        path: str = scope["path"]
        limit = next((n for prefix, n in self.by_path if path.startswith(prefix)), limit)
        declared = headers.get(b"content-length")
        if declared is not None:
            size = int(declared) if declared.isdigit() else -1
            if size > limit:
                await _too_large(send, f"body is {size} bytes, the limit is {limit}")
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _too_large(send, f"body is more than {limit} bytes, the limit")
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, reason: str) -> None:
    payload = orjson.dumps({"error": {"code": "too_large", "field": "body", "reason": reason}})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(sqlalchemy.exc.SQLAlchemyError)
    async def database_error(_: Request, exc: sqlalchemy.exc.SQLAlchemyError) -> JSONResponse:
        """The database is away or the pool is exhausted: nothing was committed, the caller may retry."""
        if not (is_transient(exc) or isinstance(exc, sqlalchemy.exc.TimeoutError)):
            raise exc
        log.warning("database_unavailable", error=repr(exc))
        return JSONResponse(
            {"error": {"code": "unavailable", "reason": "the database is unavailable; retry"}},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "reason": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "reason": "invalid request"}
        return JSONResponse({"error": {"code": "invalid", **first, "errors": errors}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
        }.get(exc.status_code, "error")
        return JSONResponse(
            {"error": {"code": code, "reason": str(exc.detail)}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
