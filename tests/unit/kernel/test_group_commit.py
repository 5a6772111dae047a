"""Group commit: callers that arrive together share a flush; a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.batching import GroupCommit


class Store:
    """A flush that commits all of its items or none, like one transaction."""

    def __init__(self) -> None:
        self.committed: list[int] = []
        self.flushes: list[list[int]] = []

    async def flush(self, items: Sequence[int]) -> list[str | Exception]:
        self.flushes.append(list(items))
        await asyncio.sleep(0.01)  # the round trip, during which the next callers gather
        if any(i < 0 for i in items):
            raise ValueError("a negative number breaks the transaction")
        self.committed.extend(items)
        return [f"ok {i}" if i % 10 else ValueError(f"{i} refused") for i in items]


async def test_callers_arriving_together_share_flushes_and_each_gets_its_own_answer() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store.flush)
    results = await asyncio.gather(*(commit.submit(i) for i in range(1, 51)), return_exceptions=True)
    assert [r if isinstance(r, str) else str(r) for r in results] == [
        f"ok {i}" if i % 10 else f"{i} refused" for i in range(1, 51)
    ]
    assert sorted(store.committed) == list(range(1, 51))
    assert len(store.flushes) <= 2  # the first caller's flush, then everyone who arrived meanwhile


async def test_an_item_that_breaks_the_transaction_fails_alone() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store.flush)
    first = asyncio.create_task(commit.submit(1))  # in flight while the next three gather
    await asyncio.sleep(0)
    results = await asyncio.gather(commit.submit(2), commit.submit(-3), commit.submit(4), return_exceptions=True)
    assert await first == "ok 1"
    assert results[0] == "ok 2" and results[2] == "ok 4"
    assert isinstance(results[1], ValueError)
    assert sorted(store.committed) == [1, 2, 4]


async def test_batches_are_bounded() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store.flush, max_batch=8)
    await asyncio.gather(*(commit.submit(i) for i in range(1, 41)), return_exceptions=True)
    assert max(len(f) for f in store.flushes) == 8
    assert sorted(store.committed) == list(range(1, 41))


async def test_a_stopping_service_fails_its_waiting_callers() -> None:
    async def never(items: Sequence[int]) -> list[str]:
        await asyncio.Event().wait()
        raise AssertionError

    commit: GroupCommit[int, str] = GroupCommit(never)
    waiting = asyncio.create_task(commit.submit(1))
    await asyncio.sleep(0.01)
    assert commit._running is not None
    commit._running.cancel()
    with pytest.raises(RuntimeError, match="stopped"):
        await waiting


async def steady_stream(commit: GroupCommit[int, str], n: int = 40, every_s: float = 0.004) -> None:
    tasks = []
    for i in range(1, n + 1):
        tasks.append(asyncio.create_task(commit.submit(i)))
        await asyncio.sleep(every_s)
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_steady_stream_gathers_for_the_linger_into_fewer_flushes() -> None:
    """Under load each flush waits its linger first, so callers that arrive a few ms apart share it."""
    eager, lingering = Store(), Store()
    await steady_stream(GroupCommit(eager.flush))
    await steady_stream(GroupCommit(lingering.flush, linger_s=0.06))
    assert sorted(lingering.committed) == sorted(eager.committed) == list(range(1, 41))
    assert len(lingering.flushes) * 2 <= len(eager.flushes), (lingering.flushes, eager.flushes)


async def test_a_caller_at_an_idle_service_is_not_held_for_the_linger() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store.flush, linger_s=5.0)
    assert await asyncio.wait_for(commit.submit(1), 1.0) == "ok 1"
