"""Publishes a service's outbox to the bus: one leader per schema, batches, delete after publish."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import Counter

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.base import Bus, OutMessage, linger_for
from shared.logging import get_logger
from shared.metrics import EVENTS_PRODUCED, OUTBOX_BACKLOG

log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        bus: Bus,
        *,
        service: str,
        batch_size: int = 500,
        wakeup: asyncio.Event | None = None,
        max_idle_s: float = 0.5,
        linger_s: float = 0.005,
    ) -> None:
        self.engine = engine
        self.table = table
        self.bus = bus
        self.service = service
        self.batch_size = batch_size
        self.wakeup = wakeup or asyncio.Event()
        self.max_idle_s = max_idle_s
        self.linger_s = linger_s
        self._lock_id = zlib.crc32(f"cityloop-outbox|{table.fullname}".encode()) - 2**31
        name = ".".join(f'"{part}"' for part in table.fullname.split("."))
        # Leadership, claim and delete in one round trip. The lock is taken once (a volatile CTE is not
        # inlined); the rows come back only to the leader and reappear if the publish fails (rollback).
        self._claim = text(
            f"WITH leader AS (SELECT pg_try_advisory_xact_lock(:lock) AS ok), "
            f"batch AS (SELECT o.id FROM {name} o, leader WHERE leader.ok ORDER BY o.id LIMIT :n) "
            f"DELETE FROM {name} t USING batch WHERE t.id = batch.id RETURNING t.id, t.topic, t.key, t.payload"
        )
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def publish_once(self) -> int:
        """Publish up to one batch; returns how many rows went out (0 if another relay leads).

        The rows are deleted in the transaction that is committed only after the bus acknowledged them, so a
        failed publish (or a crash) leaves them for the next round.
        """
        async with self.engine.begin() as conn:
            rows = sorted((await conn.execute(self._claim, {"lock": self._lock_id, "n": self.batch_size})).all())
            if not rows:
                return 0
            await self.bus.publish([OutMessage(r.topic, r.key, bytes(r.payload)) for r in rows])
        for topic, n in Counter(r.topic for r in rows).items():
            EVENTS_PRODUCED.labels(self.service, topic).inc(n)
        return len(rows)

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(self.table))).scalar_one())

    async def run(self) -> None:
        """Publish while there is work; when idle, sleep until this process commits (or, for rows written by
        other processes, until a poll whose interval doubles up to `max_idle_s`).

        Only rows that no wakeup announced (another replica's, or a failed round's) bring the poll back to its
        shortest interval: this process's own commits wake the relay anyway, and resetting after each of them
        cost two claims that found nothing for every real one under steady load.
        """
        idle = 0.01
        woken = False  # rows found at start-up were announced by no one here
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
            if sent and not woken:
                idle = 0.01
            if sent < self.batch_size:
                woken = False
                with contextlib.suppress(TimeoutError):
                    woken = await asyncio.wait_for(self.wakeup.wait(), idle)
                idle = min(idle * 2, self.max_idle_s)
                if woken and self.linger_s > 0:  # commits close together go out in one batch
                    await asyncio.sleep(linger_for(max(sent, 1), self.linger_s))
