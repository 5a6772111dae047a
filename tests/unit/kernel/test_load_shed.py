"""Overload is answered at once with 503 and Retry-After, and the requests already running still finish."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy.exc
from fastapi import FastAPI

from services.runtime import LoadShedMiddleware, install_error_handlers


def app_with(limit: int, queue_s: float, max_waiting: int | None = None) -> tuple[FastAPI, asyncio.Event]:
    release = asyncio.Event()
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(LoadShedMiddleware, service="test", limit=limit, queue_s=queue_s, max_waiting=max_waiting)

    @app.post("/slow")
    async def slow() -> dict[str, str]:
        await release.wait()
        return {"status": "done"}

    @app.get("/read")
    async def read() -> dict[str, str]:
        return {"status": "read"}

    @app.post("/db-away")
    async def db_away() -> None:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, ConnectionResetError("server closed the connection"))

    return app, release


async def test_writes_past_the_limit_are_shed_with_retry_after_and_the_running_ones_complete() -> None:
    app, release = app_with(limit=2, queue_s=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        running = [asyncio.create_task(client.post("/slow")) for _ in range(2)]
        await asyncio.sleep(0.05)
        shed = await client.post("/slow")
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "1"
        assert shed.json()["error"]["code"] == "overloaded"
        assert (await client.get("/read")).status_code == 200  # reads are never queued behind writes
        release.set()
        assert [r.status_code for r in await asyncio.gather(*running)] == [200, 200]
        assert (await client.post("/slow")).status_code == 200  # capacity is back


async def test_a_write_that_waits_less_than_the_queue_time_is_served() -> None:
    app, release = app_with(limit=1, queue_s=2.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        first = asyncio.create_task(client.post("/slow"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(client.post("/slow"))
        await asyncio.sleep(0.1)
        release.set()
        assert [(await first).status_code, (await second).status_code] == [200, 200]


async def test_a_write_that_finds_the_queue_full_is_shed_at_once_and_the_queued_one_still_runs() -> None:
    app, release = app_with(limit=1, queue_s=30.0, max_waiting=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        running = asyncio.create_task(client.post("/slow"))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(client.post("/slow"))
        await asyncio.sleep(0.05)
        shed = await asyncio.wait_for(client.post("/slow"), 5)  # not after the 30 s a queued one may wait
        assert (shed.status_code, shed.headers["Retry-After"]) == (503, "1")
        release.set()
        assert [(await running).status_code, (await queued).status_code] == [200, 200]


async def test_a_lost_database_connection_is_503_with_retry_after() -> None:
    app, _ = app_with(limit=2, queue_s=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.post("/db-away")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "unavailable"
