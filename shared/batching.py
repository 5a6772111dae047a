"""Group commit: requests that arrive together share one transaction and one round trip per table.

A request hands its item to `GroupCommit.submit` and waits. While a flush is in flight the next items gather,
so the batch grows with the load by itself. Under load a flush first waits up to `linger_s` for more, in
proportion to the size of the one before (`linger_for`): an item arriving at an idle service is flushed at once.
The caller answers only after the flush that carried its item committed, so "durable before acknowledged"
holds for every item.

A flush that fails as a whole (a constraint one item broke, a lost connection) is retried item by item, so one
bad item fails alone and a lost database fails each caller with its own error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.bus.base import linger_for

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]]
"""Commits the items' effects in one transaction; returns, in order, each item's result or its refusal."""


class GroupCommit(Generic[T, R]):
    def __init__(self, flush: Flush[T, R], *, max_batch: int = 256, linger_s: float = 0.0) -> None:
        self._flush = flush
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._last = 0
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                if self.linger_s > 0 and len(self._pending) < self.max_batch:
                    await asyncio.sleep(linger_for(self._last, self.linger_s))
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                self._last = len(batch)
                await self._run(batch)
        finally:
            self._running = None

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await self._flush([item for item, _ in batch])
        except asyncio.CancelledError:  # the service is stopping: its callers get an error, not a hang
            for _, future in batch:
                if not future.done():
                    future.set_exception(RuntimeError("stopped before the transaction committed"))
            raise
        except Exception as error:
            if len(batch) == 1:
                results = [error]
            else:  # find the item that broke it: each alone, so the others still commit
                for one in batch:
                    await self._run([one])
                return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (client disconnected); its item is committed regardless
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
