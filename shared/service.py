"""What a domain package declares so the runtime can run it, and what it gets at run time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.base import Bus, TopicSpec
from shared.bus.consumer import BatchHandler
from shared.clock import Clock
from shared.db.outbox import Inbox, Outbox, inbox_table, outbox_table
from shared.handling import BatchFold, BatchPrepare, EventHandler
from shared.settings import Settings


@dataclass
class ConsumerSpec:
    """A consumer group and its handler table: event type → handler."""

    group: str
    handlers: Mapping[str, EventHandler]
    topics: list[str]
    batch: Callable[[ServiceRuntime], BatchHandler] | None = None
    """Optional fast path for a whole poll in one go; it must keep the same inbox semantics as `handlers`."""
    prepare: Callable[[ServiceRuntime], BatchPrepare] | None = None
    """Optional first step of each batch's transaction, before its handlers (see `InboxProcessor`)."""
    fold: BatchFold | None = None
    """All new events of a batch at once, after the kernel's inbox claim (`handlers` still names the types)."""
    follower: bool = False
    """Off the path from report to case (a read model or a fan-out): lingers `follower_linger_ms`, not
    `consumer_linger_ms`, for bigger batches at a fraction of a second of freshness."""


@dataclass
class ServiceRuntime:
    """Everything a running service holds: given to endpoints, handlers and workers."""

    name: str
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: Bus
    clock: Clock
    outbox: Outbox
    inbox: Inbox
    services: dict[str, Any] = field(default_factory=dict)
    """Domain singletons built at start-up (rule engine, grid index, calendar…)."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, so an HTTP answer is sent only after the data is durable."""
        async with self.sessions() as session, session.begin():
            yield session
        self.outbox.notify(session)


Worker = Callable[[ServiceRuntime], Awaitable[None]]
Hook = Callable[[ServiceRuntime], Awaitable[None]]


@dataclass
class ServiceDefinition:
    name: str
    package: str
    metadata: MetaData
    routers: list[APIRouter] = field(default_factory=list)
    consumers: list[ConsumerSpec] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    topics: list[TopicSpec] = field(default_factory=list)
    on_startup: Hook | None = None
    """Builds `runtime.services` (and seeds data in dev); runs after migrations, before traffic."""
    reset: Callable[[AsyncSession], Awaitable[None]] | None = None
    """Drops the service's read models (and inbox) so a replay from offset zero rebuilds them."""
    is_idle: Callable[[ServiceRuntime], Awaitable[bool]] | None = None
    """Whether the workers have nothing due (e.g. no timer past due): lets tests and tools wait for quiet."""

    def __post_init__(self) -> None:
        schema = self.metadata.schema
        assert schema, "a service's MetaData must name its schema"
        self.schema: str = schema
        tables = self.metadata.tables
        self.outbox_table = tables[f"{schema}.outbox"] if f"{schema}.outbox" in tables else outbox_table(self.metadata)
        self.inbox_table = tables[f"{schema}.inbox"] if f"{schema}.inbox" in tables else inbox_table(self.metadata)


def runtime_of(name: str) -> Callable[[Request], Awaitable[ServiceRuntime]]:
    """FastAPI dependency giving a router its own service's runtime, also when all run in one app."""

    async def dependency(request: Request) -> ServiceRuntime:
        runtime: ServiceRuntime = request.app.state.runtimes[name]
        return runtime

    return dependency
