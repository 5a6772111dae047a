"""Durable before acknowledged: a report intake answered 2xx for survives `kill -9` of the intake process.

The intake process runs for real (`python -m services.cli run intake`, local bus on PostgreSQL). While
the test holds the outbox relay's leadership lock nothing can be published, so every acknowledged
report must be sitting in intake's tables and outbox when the process is killed, mid-stream, with
requests still in flight. After a restart each acknowledged report reaches `reports.received.v1`,
and each exactly once in effect (one event id per report).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from intake.signing import signed_headers
from services.pgserver import free_port
from shared.bus.local import LocalBus
from shared.contracts import Envelope
from shared.db.engine import create_engine

SECRET = "durability-secret"
ROOT = Path(__file__).resolve().parents[2]
RELAY_LOCK = zlib.crc32(b"cityloop-outbox|intake.outbox") - 2**31  # the key OutboxRelay leads with


@contextmanager
def intake_process(pg_url: str, port: int, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CITYLOOP_DATABASE_URL": pg_url,
        "CITYLOOP_BUS": "local",
        "CITYLOOP_HTTP_PORT": str(port),
        "CITYLOOP_HOTLINE_HMAC_SECRET": SECRET,
        "CITYLOOP_MEDIA_DIR": str(tmp_path / "media"),
        "CITYLOOP_LOG_LEVEL": "WARNING",
        "CITYLOOP_ENVIRONMENT": "test",
        "CITYLOOP_RATE_LIMIT_HOTLINE": "",
    }  # the test floods the webhook on purpose
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "intake"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"intake exited: {process.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("intake did not become ready")


def ticket(i: int) -> bytes:
    return orjson.dumps(
        {
            "ticket_no": f"KILL-{i:04d}",
            "call_time": datetime.now(UTC).isoformat(),
            "caller": {"phone": "13812345678"},
            "content": f"第 {i} 件：井盖缺失",
        }
    )


@pytest.mark.timeout(240)
async def test_acknowledged_reports_survive_a_kill_right_after_the_answer(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    acked: dict[str, str] = {}
    holder = await asyncpg.connect(dsn)
    try:
        with intake_process(pg_url, port, tmp_path) as first:
            await wait_ready(base_url, first)
            await holder.execute("SELECT pg_advisory_lock($1)", RELAY_LOCK)  # no relay may publish now
            killed = asyncio.Event()

            async def send(client: httpx.AsyncClient, i: int) -> None:
                body = ticket(i)
                try:
                    response = await client.post(
                        "/v1/hotline/tickets", content=body, headers=signed_headers(SECRET, body, datetime.now(UTC))
                    )
                except httpx.TransportError:
                    return  # in flight when the process died: never acknowledged
                if response.status_code == 202 and not killed.is_set():
                    acked[f"KILL-{i:04d}"] = response.json()["report_id"]
                    if len(acked) >= 60:
                        os.kill(first.pid, signal.SIGKILL)  # right after this answer, others still in flight
                        killed.set()

            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
                await asyncio.gather(*(send(client, i) for i in range(200)))
            first.wait(timeout=30)
        assert killed.is_set() and len(acked) >= 60
        stored = {r["report_id"] for r in await holder.fetch("SELECT report_id FROM intake.reports")}
        staged = await holder.fetchval("SELECT count(*) FROM intake.outbox")
        assert set(acked.values()) <= stored and staged >= len(acked)  # durable before acknowledged

        await holder.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK)
        with intake_process(pg_url, port, tmp_path) as second:
            await wait_ready(base_url, second)
            deadline = time.monotonic() + 60
            while await holder.fetchval("SELECT count(*) FROM intake.outbox") and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            second.send_signal(signal.SIGTERM)
    finally:
        await holder.close()

    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        messages = await LocalBus(engine).read_topic("reports.received.v1")
    finally:
        await engine.dispose()
    event_ids: dict[str, set[str]] = {}
    for message in messages:
        envelope = Envelope.from_bytes(message.value)
        event_ids.setdefault(envelope.subject, set()).add(envelope.id)
    assert set(acked.values()) <= set(event_ids)
    assert all(len(ids) == 1 for ids in event_ids.values())
    assert set(event_ids) == stored  # nothing published that was not stored
