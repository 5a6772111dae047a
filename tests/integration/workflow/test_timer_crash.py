"""Kill timer pollers (SIGKILL) while they fire: after a restart every due timer has fired exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.contracts import Envelope
from shared.db.engine import create_engine
from shared.db.migrations import upgrade
from tests.integration.workflow.conftest import DEPARTMENTS
from tools.bench_timers import Plan, seed

REPO = Path(__file__).resolve().parents[3]
PLAN = Plan(total=2000, cohort=500, stream=0)
STEPS = 3 * PLAN.cohort + 4 * PLAN.filler
"""Every step of every clock is overdue: the cohort's reminder and two supervision levels (warned already),
the filler's warning, reminder and two levels. Each step's timer is written when the one before fires."""


@pytest.fixture
def pollers(pg_url: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def start_poller(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITYLOOP_WORKFLOW_DEPARTMENTS_PATH": str(DEPARTMENTS)}
    return subprocess.Popen(
        [sys.executable, "-m", "tools.timers_alone", "--url", url, "--batch-size", "25", "--interval", "0.05"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_killed_pollers_lose_no_timer_and_duplicate_no_escalation(
    pg_url: str, pollers: list[subprocess.Popen[bytes]]
) -> None:
    await upgrade("workflow", pg_url)
    engine = create_engine(pg_url)
    # Anchor 100 days back: every step, up to the second supervision level (≤ 62 days after it), is overdue.
    await seed(engine, PLAN, anchor=datetime.now(UTC) - timedelta(days=100))

    async def fired() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM workflow.outbox"))).scalar_one())

    async def wait_until(condition: int, timeout_s: float = 120) -> int:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (n := await fired()) < condition:
            assert asyncio.get_running_loop().time() < deadline, f"only {n} fired"
            await asyncio.sleep(0.05)
        return n

    try:
        pollers += [start_poller(pg_url), start_poller(pg_url)]  # two replicas share the rows
        await wait_until(1000)
        pollers[0].send_signal(signal.SIGKILL)
        killed_at = await wait_until(3000)
        pollers[1].send_signal(signal.SIGKILL)
        for proc in pollers:
            proc.wait(timeout=10)
        assert killed_at < STEPS, "the pollers finished before they could be killed"
        pollers.append(start_poller(pg_url))  # the restart
        await wait_until(STEPS)
        await asyncio.sleep(0.5)  # a duplicate, if any, would show up now
        pollers[-1].terminate()

        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT status, count(*) FROM workflow.timers GROUP BY status"))
            timers = {status: int(n) for status, n in rows.all()}
            payloads = (await conn.execute(text("SELECT payload FROM workflow.outbox"))).scalars().all()
            audit = (await conn.execute(text("SELECT count(*) FROM workflow.audit"))).scalar_one()
    finally:
        await engine.dispose()

    assert timers == {"fired": STEPS + PLAN.cohort}  # the cohort's warnings were seeded as fired
    events = [Envelope.from_bytes(p) for p in payloads]
    per_step = Counter((e.subject, e.type, e.data.get("level")) for e in events)
    assert len(events) == STEPS and max(per_step.values()) == 1
    escalations = [e for e in events if e.type == "cityloop.case.escalated.v1"]
    assert len(escalations) == 2 * (PLAN.cohort + PLAN.filler)
    assert {(e.data["level"], e.data["escalated_to"]) for e in escalations} == {(1, "UTIL"), (2, "GOV")}
    assert audit == STEPS
