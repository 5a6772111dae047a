"""Under steady load: SIGKILL each service in turn, restart the broker, restart PostgreSQL. Then count.

After the load stops and the system drains: every acknowledged report is stored once and is in exactly
one case (or merged into one, or waits in the dispatchers' queue), no case transition or escalation is
duplicated, no due timer is left unfired, and analytics agrees with the workflow's own counts.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from intake.signing import signed_headers
from shared.contracts import Envelope
from tests.support.stack import Stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
SECRET = "dev-only-hotline-secret"
TEXTS = ["{a}井盖破损，行人容易踩空", "{a}有人占道经营摆摊", "{a}垃圾桶满溢无人清理", "{a}路灯不亮",
         "{a}道路破损有大坑", "{a}绿化带里堆放建筑垃圾", "{a}机动车违章停在人行道上"]


class Load:
    """Hotline tickets at a steady rate; a ticket that fails is retried with the same number until acknowledged."""

    def __init__(self, url: str, rate: float, addresses: list[str]) -> None:
        self.url = url
        self.rate = rate
        self.addresses = addresses
        self.acked: dict[str, str] = {}
        self.retries = 0
        self.stop = asyncio.Event()
        self.rng = random.Random(8)

    async def ticket(self, client: httpx.AsyncClient, n: int) -> None:
        address = self.rng.choice(self.addresses)
        body = orjson.dumps({"ticket_no": f"C{n:06d}", "call_time": datetime.now(UTC).isoformat(),
                             "caller": {"name": "市民", "phone": f"1390000{n:04d}"},
                             "content": self.rng.choice(TEXTS).format(a=address), "address": address})
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                headers = signed_headers(SECRET, body, datetime.now(UTC))
                r = await client.post("/v1/hotline/tickets", content=body, headers=headers, timeout=10)
                if r.status_code in (200, 202):
                    self.acked[f"C{n:06d}"] = r.json()["report_id"]
                    return
            except httpx.HTTPError:
                pass
            self.retries += 1
            await asyncio.sleep(0.5)
        raise AssertionError(f"ticket C{n:06d} never acknowledged")

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client:
            tasks, n = [], 0
            while not self.stop.is_set():
                tasks.append(asyncio.create_task(self.ticket(client, n)))
                n += 1
                await asyncio.sleep(1 / self.rate)
            await asyncio.gather(*tasks)


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
        for service in ("intake", "router", "workflow", "analytics"):
            await asyncio.to_thread(stack.start, service)
        gazetteer = orjson.loads(Path("deploy/demo/gazetteer.json").read_bytes())
        places = gazetteer.get("places", gazetteer) if isinstance(gazetteer, dict) else gazetteer
        addresses = [p["name"] for p in places if p.get("kind") in ("road", "landmark")][:80]
        load = Load(stack.url("intake"), rate=8, addresses=addresses)
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
        await load_task
        acked = set(load.acked.values())

        # Drain: wait until every acknowledged report has a terminal routing outcome and its case exists.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            rows = await fetch(stack.pg.url, "SELECT report_id, stage, case_id FROM intake.report_status")
            settled = {r["report_id"] for r in rows if r["stage"] == "queued" or r["case_id"]}
            if acked <= settled:
                break
            await asyncio.sleep(2)
        await asyncio.sleep(5)

        stored = await fetch(stack.pg.url, "SELECT report_id FROM intake.reports")
        assert acked <= {r["report_id"] for r in stored}, "an acknowledged report was lost"
        assert len(stored) == len({r["report_id"] for r in stored})

        in_cases = await fetch(stack.pg.url, "SELECT report_id, case_id FROM workflow.case_reports")
        per_report = Counter(r["report_id"] for r in in_cases)
        assert all(n == 1 for n in per_report.values()), "a report is in more than one case"
        queued = {r["report_id"] for r in await fetch(
            stack.pg.url, "SELECT report_id FROM intake.report_status WHERE stage = 'queued'")}
        missing = acked - set(per_report) - queued
        assert not missing, f"{len(missing)} acknowledged reports in no case and not queued"

        audit = await fetch(stack.pg.url, "SELECT case_id, version, count(*) n FROM workflow.audit "
                                          "GROUP BY case_id, version HAVING count(*) > 1")
        assert not audit, f"duplicated case transitions: {audit[:5]}"
        events = [Envelope.from_bytes(m.value) for m in await _read_cases(stack)]
        per_transition = Counter((e.subject, e.type, e.data.get("version"), e.data.get("kind"),
                                  e.data.get("level")) for e in {e.id: e for e in events}.values())
        dupes = [k for k, n in per_transition.items() if n > 1]
        assert not dupes, f"the same transition published under two event ids: {dupes[:5]}"

        overdue = await fetch(stack.pg.url, "SELECT count(*) n FROM workflow.timers "
                                            "WHERE status = 'pending' AND due_at < now() - interval '30 seconds'")
        assert overdue[0]["n"] == 0, "a due timer was not fired"

        workflow_states = Counter({r["state"]: r["n"] for r in await fetch(
            stack.pg.url, "SELECT state, count(*) n FROM workflow.cases GROUP BY state")})
        analytics_states = Counter({r["state"]: r["n"] for r in await fetch(
            stack.pg.url, "SELECT state, count(*) n FROM analytics.case_facts GROUP BY state")})
        assert analytics_states == workflow_states
        print("\nfaults injected:", *faults, sep="\n  ")
        print(f"acknowledged {len(acked)} (client retries {load.retries}), in cases {len(per_report)}, "
              f"queued {len(queued)}, cases {sum(workflow_states.values())}, events on cases.v1 {len(events)}")
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
