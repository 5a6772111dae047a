"""Things to do later: a heap of (wall time, job) run by a bounded pool, stopped by one event."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable

from shared.logging import get_logger

log = get_logger("tools.simulate")
Job = Callable[[], Awaitable[None]]


class Scheduler:
    def __init__(self, stop: asyncio.Event, concurrency: int = 8) -> None:
        self.stop = stop
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()

    def after(self, wall_seconds: float, job: Job) -> None:
        heapq.heappush(self._heap, (time.monotonic() + max(0.0, wall_seconds), next(self._seq), job))
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._heap)

    async def run(self) -> None:
        """Start each job when its time comes, never more than `concurrency` at once, until stopped."""
        while not self.stop.is_set():
            self._wake.clear()
            wait = self._heap[0][0] - time.monotonic() if self._heap else 1.0
            if wait > 0:
                await self.sleep(min(wait, 1.0), self._wake)
                continue
            _, _, job = heapq.heappop(self._heap)
            await self._slots.acquire()
            task = asyncio.create_task(self._guarded(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        await self.drain()

    async def drain(self, within_s: float = 10.0) -> None:
        """Let running jobs finish (their answers are worth counting), cancelling stragglers."""
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=within_s)
            for task in pending:
                task.cancel()

    async def _guarded(self, job: Job) -> None:
        try:
            await job()
        except Exception:  # one broken job must not stop the city
            log.exception("simulator_job_failed")
        finally:
            self._slots.release()

    async def sleep(self, seconds: float, *also: asyncio.Event) -> None:
        """Sleep, but wake early when stopped (or when any of `also` is set)."""
        events = [self.stop, *also]
        waiters = [asyncio.create_task(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
