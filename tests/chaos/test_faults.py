"""Under steady load: SIGKILL each service in turn, restart the broker, restart PostgreSQL. Then count.

After the load stops and the system drains: every acknowledged report is stored once and is in exactly
one case (or merged into one, or waits in the dispatchers' queue), no case transition or escalation is
duplicated, no due timer is left unfired, and analytics agrees with the workflow's own counts.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from shared.contracts import Envelope
from tests.support.load import Load, demo_addresses
from tests.support.stack import Stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
RATE = float(os.environ.get("CHAOS_RATE", "200"))
"""Tickets offered per second during the faults: `make chaos` offers 200/s; `make test` (CI) keeps the gentler
8/s this test had before the throughput work (issue 12), until the platform holds 200/s on CI's machine."""


async def fetch(pg_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg_url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def test_faults_under_load_lose_and_duplicate_nothing() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="cityloop-chaos-"))
    stack = await asyncio.to_thread(Stack.create, run_dir)
    faults: list[str] = []
    try:
        await asyncio.to_thread(stack.start, "intake", "router", "workflow", "analytics")
        load = Load(stack.url("intake"), rate=RATE, addresses=demo_addresses(80))
        load_started = time.monotonic()
        load_task = asyncio.create_task(load.run())
        await asyncio.sleep(8)
        for service in ("intake", "router", "workflow", "analytics"):
            stack.kill(service)
            faults.append(f"SIGKILL {service} at {len(load.acked)} acknowledged")
            await asyncio.sleep(1)
            await asyncio.to_thread(stack.start, service)
            await asyncio.sleep(5)
        await asyncio.to_thread(stack.kafka.restart)
        faults.append(f"Kafka broker restarted at {len(load.acked)} acknowledged")
        await asyncio.sleep(8)
        stack.pg.kill()
        await asyncio.to_thread(stack.pg.start)
        faults.append(f"PostgreSQL killed (SIGKILL) and restarted at {len(load.acked)} acknowledged")
        await asyncio.sleep(10)
        load.stop.set()
        load_seconds = time.monotonic() - load_started
        await load_task
        acked = set(load.acked.values())
        acked_by = time.monotonic() - load_started
        assert load.achieved(load_seconds) >= 0.9 * RATE, f"the load ran at {load.achieved(load_seconds):.0f}/s"

        # Drain: wait until every acknowledged report is queued or in a case of the workflow's own. (Intake's
        # status gives a merged report its primary's case at once, before the workflow has attached it.)
        drain_started = time.monotonic()
        deadline = drain_started + 240 + len(acked) / 50
        while time.monotonic() < deadline:
            queued_now = await fetch(stack.pg.url, "SELECT report_id FROM intake.report_status WHERE stage = 'queued'")
            filed_now = await fetch(stack.pg.url, "SELECT report_id FROM workflow.case_reports")
            if acked <= {r["report_id"] for r in queued_now} | {r["report_id"] for r in filed_now}:
                break
            await asyncio.sleep(2)
        drained_in = time.monotonic() - drain_started
        await asyncio.sleep(5)

        stored = await fetch(stack.pg.url, "SELECT report_id FROM intake.reports")
        assert acked <= {r["report_id"] for r in stored}, "an acknowledged report was lost"
        assert len(stored) == len({r["report_id"] for r in stored})

        in_cases = await fetch(stack.pg.url, "SELECT report_id, case_id FROM workflow.case_reports")
        per_report = Counter(r["report_id"] for r in in_cases)
        assert all(n == 1 for n in per_report.values()), "a report is in more than one case"
        queued = {
            r["report_id"]
            for r in await fetch(stack.pg.url, "SELECT report_id FROM intake.report_status WHERE stage = 'queued'")
        }
        missing = acked - set(per_report) - queued
        assert not missing, f"{len(missing)} acknowledged reports in no case and not queued"

        audit = await fetch(
            stack.pg.url,
            "SELECT case_id, version, count(*) n FROM workflow.audit GROUP BY case_id, version HAVING count(*) > 1",
        )
        assert not audit, f"duplicated case transitions: {audit[:5]}"
        events = [Envelope.from_bytes(m.value) for m in await _read_cases(stack)]
        per_transition = Counter(
            (e.subject, e.type, e.data.get("version"), e.data.get("kind"), e.data.get("level"))
            for e in {e.id: e for e in events}.values()
        )
        dupes = [k for k, n in per_transition.items() if n > 1]
        assert not dupes, f"the same transition published under two event ids: {dupes[:5]}"

        overdue = await fetch(
            stack.pg.url,
            "SELECT count(*) n FROM workflow.timers "
            "WHERE status = 'pending' AND due_at < now() - interval '30 seconds'",
        )
        assert overdue[0]["n"] == 0, "a due timer was not fired"

        workflow_states = Counter(
            {
                r["state"]: r["n"]
                for r in await fetch(stack.pg.url, "SELECT state, count(*) n FROM workflow.cases GROUP BY state")
            }
        )
        analytics_states = Counter(
            {
                r["state"]: r["n"]
                for r in await fetch(stack.pg.url, "SELECT state, count(*) n FROM analytics.case_facts GROUP BY state")
            }
        )
        assert analytics_states == workflow_states
        print(
            f"\noffered {RATE:g}/s: sent {load.sent} in {load_seconds:.0f} s ({load.achieved(load_seconds):.0f}/s, "
            f"{load.late} sent over 1 s late), all acknowledged after {acked_by:.0f} s, "
            f"settled {drained_in:.0f} s after the last acknowledgement"
        )
        print("faults injected:", *faults, sep="\n  ")
        print(
            f"acknowledged {len(acked)} (client retries {load.retries}), in cases {len(per_report)}, "
            f"queued {len(queued)}, cases {sum(workflow_states.values())}, events on cases.v1 {len(events)}"
        )
    finally:
        await asyncio.to_thread(stack.stop)


async def _read_cases(stack: Stack) -> list:  # type: ignore[type-arg]
    from shared.bus.kafka import KafkaBus

    bus = KafkaBus(stack.kafka.bootstrap)
    await bus.start()
    try:
        return await bus.read_topic("cases.v1")
    finally:
        await bus.stop()
