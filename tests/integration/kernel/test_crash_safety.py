"""SIGKILL at random points loses nothing and duplicates nothing, on Kafka and on the in-process bus."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from services.runtime import Platform
from shared.bus.base import OutMessage, TopicSpec
from shared.contracts import make_envelope
from shared.contracts.reports import ReportUpdated
from shared.db.migrations import upgrade
from tests.support.harness import platform_settings
from tests.support.ledger.definition import SERVICE

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[3]
EVENTS = 10_000
KILLS = 5


def worker_env(database_url: str, bus: str, bootstrap: str, topic: str) -> dict[str, str]:
    return {
        **os.environ,
        "CITYLOOP_DATABASE_URL": database_url,
        "CITYLOOP_BUS": bus,
        "CITYLOOP_KAFKA_BOOTSTRAP": bootstrap,
        "LEDGER_TOPIC": topic,
        "CITYLOOP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.ledger_worker", "consume"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def effect_counts(platform: Platform) -> tuple[int, int]:
    async with platform.engine.connect() as conn:
        row = (await conn.execute(text("SELECT count(*), count(DISTINCT event_id) FROM ledger.effects"))).one()
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("bus_kind", ["local", "kafka"])
async def test_consumer_killed_five_times_applies_every_event_exactly_once(
    bus_kind: str, pg_url: str, request: pytest.FixtureRequest
) -> None:
    bootstrap = request.getfixturevalue("kafka_bootstrap") if bus_kind == "kafka" else ""
    topic = f"crash.{uuid.uuid4().hex[:8]}"
    settings = platform_settings(pg_url, bus=bus_kind, kafka_bootstrap=bootstrap or "127.0.0.1:1", run_workers=False)
    platform = Platform([], settings)  # only used as a producer and to read the ledger's tables
    await upgrade(SERVICE.package, pg_url)
    await platform.bus.start()
    await platform.bus.ensure_topics([TopicSpec(topic, 6), TopicSpec(f"{topic}.dlq", 1)])
    env = worker_env(pg_url, bus_kind, bootstrap, topic)
    rng = random.Random(20261123)
    worker = start_worker(env)
    kills = 0
    try:
        for chunk in range(20):
            messages = []
            for i in range(chunk * 500, (chunk + 1) * 500):
                body = ReportUpdated(report_id=f"r{i % 97}", kind="repeated", count=i, at=datetime.now(UTC))
                envelope = make_envelope(body, source="/test", subject=body.report_id)
                messages.append(OutMessage(topic, body.report_id, envelope.to_bytes()))
            await platform.bus.publish(messages)
            if chunk % 4 == 3 and kills < KILLS:
                await asyncio.sleep(rng.uniform(0.5, 2.5))  # let it get going, then kill it mid-stream
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = start_worker(env)
        assert kills == KILLS
        deadline = asyncio.get_running_loop().time() + 240
        while asyncio.get_running_loop().time() < deadline:
            total, distinct = await effect_counts(platform)
            if distinct >= EVENTS:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # anything redelivered after the last effect would show now
        total, distinct = await effect_counts(platform)
        assert (total, distinct) == (EVENTS, EVENTS)
        async with platform.engine.connect() as conn:
            seqs = (await conn.execute(text("SELECT count(DISTINCT seq) FROM ledger.effects"))).scalar_one()
        assert seqs == EVENTS
    finally:
        worker.kill()
        worker.wait()
        await platform.stop()


async def test_committed_outbox_row_is_published_after_the_writer_dies(pg_url: str) -> None:
    await upgrade(SERVICE.package, pg_url)
    env = worker_env(pg_url, "local", "", "reports.received.v1")
    for report_id, mode in (("kept", "commit"), ("dropped", "rollback")):
        proc = subprocess.run(
            [sys.executable, "-m", "tests.support.ledger_worker", "stage-and-die", report_id, mode],
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    platform = Platform([SERVICE], platform_settings(pg_url))
    await platform.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        published: list[str] = []
        while asyncio.get_running_loop().time() < deadline and not published:
            published = [m.key or "" for m in await platform.bus.read_topic("reports.received.v1")]
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        published = [m.key or "" for m in await platform.bus.read_topic("reports.received.v1")]
        assert published == ["kept"]
    finally:
        await platform.stop()
