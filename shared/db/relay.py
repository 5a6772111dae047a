"""Publishes a service's outbox to the bus: one leader per schema, batches, delete after publish."""

from __future__ import annotations

import asyncio
import contextlib
import zlib

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.base import Bus, OutMessage
from shared.logging import get_logger
from shared.metrics import EVENTS_PRODUCED, OUTBOX_BACKLOG

log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self, engine: AsyncEngine, table: Table, bus: Bus, *, service: str, batch_size: int = 500,
        wakeup: asyncio.Event | None = None, max_idle_s: float = 0.5,
    ) -> None:
        self.engine = engine
        self.table = table
        self.bus = bus
        self.service = service
        self.batch_size = batch_size
        self.wakeup = wakeup or asyncio.Event()
        self.max_idle_s = max_idle_s
        self._lock_id = zlib.crc32(f"cityloop-outbox|{table.fullname}".encode()) - 2**31
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def publish_once(self) -> int:
        """Publish up to one batch; returns how many rows went out (0 if another relay leads)."""
        t = self.table
        async with self.engine.begin() as conn:
            leader = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": self._lock_id}))
            if not leader.scalar_one():
                return 0
            query = select(t.c.id, t.c.topic, t.c.key, t.c.payload).order_by(t.c.id).limit(self.batch_size)
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            await self.bus.publish([OutMessage(r.topic, r.key, bytes(r.payload)) for r in rows])
            await conn.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
        for r in rows:
            EVENTS_PRODUCED.labels(self.service, r.topic).inc()
        return len(rows)

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(self.table))).scalar_one())

    async def run(self) -> None:
        """Publish while there is work; when idle, sleep until this process commits (or, for rows written by
        other processes, until a poll whose interval doubles up to `max_idle_s`)."""
        idle = 0.01
        ticks = 0
        while not self._stopping.is_set():
            self.wakeup.clear()  # before reading: a commit during the publish wakes the next round at once
            try:
                sent = await self.publish_once()
            except Exception as exc:  # the bus or database is away: keep the rows, try again
                log.warning("outbox_publish_failed", service=self.service, error=repr(exc))
                sent = 0
                await asyncio.sleep(1.0)
            ticks += 1
            if ticks % 50 == 0:
                try:
                    OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())
                except Exception:
                    pass
            if sent:
                idle = 0.01
            if sent < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), idle)
                idle = min(idle * 2, self.max_idle_s)
