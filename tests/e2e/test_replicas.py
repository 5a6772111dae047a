"""Two routers and two workflows, each its own process, on the real broker and database.

Kafka spreads the partitions over the replicas of a service; near duplicates taken by two routers at
once still make one case; a replica killed with SIGKILL under load leaves its partitions and its timers
to the other, and nothing is lost or done twice.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from intake.signing import signed_headers
from shared.bus.kafka import KafkaBus
from shared.contracts import Envelope
from tests.support.kafka import group_members
from tests.support.load import SECRET, Load, demo_addresses
from tests.support.stack import Stack

pytestmark = pytest.mark.kafka
PARTITIONS = 4
SPEED = 3600
"""City seconds per wall second: an urgent case's timers (0.4 h … 4 h after filing) fire within seconds."""
URGENT = ["{a}污水井盖丢了", "{a}雨水箅子丢了", "{a}路灯井盖丢失了"]
"""A missing manhole cover is urgent-2h: acknowledge within 30 min and handle within 2 h, in wall-clock hours."""
TIMER_EVENTS = {"cityloop.case.deadline_warned.v1", "cityloop.case.deadline_breached.v1", "cityloop.case.escalated.v1"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    run_dir = Path(tempfile.mkdtemp(prefix="cityloop-replicas-"))
    stack = Stack.create(run_dir, partitions=PARTITIONS, env={"CITYLOOP_CLOCK_SPEED": str(SPEED)})
    try:
        stack.start("intake", "router", "router-2", "workflow", "workflow-2")
        yield stack
    finally:
        stack.stop()


async def fetch(stack: Stack, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.pg.url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def read(stack: Stack, topic: str) -> list[tuple[int, Envelope]]:
    """(partition, envelope) of every message on the topic, each envelope id once."""
    bus = KafkaBus(stack.kafka.bootstrap, client_id="replica-test")
    await bus.start()
    try:
        messages = await bus.read_topic(topic)
    finally:
        await bus.stop()
    seen: dict[str, tuple[int, Envelope]] = {}
    for m in messages:
        envelope = Envelope.from_bytes(m.value)
        seen.setdefault(envelope.id, (m.partition, envelope))
    return list(seen.values())


async def settle(stack: Stack, report_ids: Iterable[str], timeout_s: float) -> None:
    """Until every report is queued for a dispatcher or in a case, as intake reports it to the citizen."""
    wanted = set(report_ids)
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await fetch(
            stack,
            "SELECT report_id FROM intake.report_status "
            "WHERE report_id = ANY($1) AND (stage = 'queued' OR case_id IS NOT NULL)",
            list(wanted),
        )
        left = wanted - {r["report_id"] for r in rows}
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(left)} of {len(wanted)} reports reached no case and no queue")
        await asyncio.sleep(1)


async def owners(stack: Stack, group: str, topic: str) -> list[set[int]]:
    """The partitions of `topic` each live member of `group` holds."""
    return [m.get(topic, set()) for m in await group_members(stack.kafka.bootstrap, group)]


async def city_now(stack: Stack, instance: str) -> datetime:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{stack.url(instance)}/v1/clock", timeout=10)
    return datetime.fromisoformat(r.json()["now"])


async def settled_owners(stack: Stack, group: str, topic: str, timeout_s: float = 60) -> list[set[int]]:
    """The members' partitions once the group has finished a rebalance (members hold nothing while it runs)."""
    deadline = time.monotonic() + timeout_s
    while True:
        held = await owners(stack, group, topic)
        if (len(held) == 2 and all(held)) or time.monotonic() > deadline:
            return held
        await asyncio.sleep(1)


async def test_partitions_are_shared_and_near_duplicates_on_two_routers_make_one_case(stack: Stack) -> None:
    for group, topic in (("router", "reports.received.v1"), ("workflow", "routing.decided.v1")):
        held = await settled_owners(stack, group, topic)
        assert len(held) == 2 and all(held), f"{group}: each replica holds partitions of {topic}: {held}"
        assert set().union(*held) == set(range(PARTITIONS))

    # Pairs of tickets about one missing manhole cover, sent at the same instant: Kafka puts the two
    # reports of a pair on partitions that one router or the other takes, and each pair must be one case.
    addresses = demo_addresses()[100:130]
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=30) as client:

        async def ticket(n: int, address: str) -> str:
            body = orjson.dumps(
                {
                    "ticket_no": f"P{n:04d}",
                    "call_time": datetime.now(UTC).isoformat(),
                    "caller": {"name": "市民", "phone": f"1370000{n:04d}"},
                    "content": URGENT[0].format(a=address),
                    "address": address,
                }
            )
            r = await client.post(
                "/v1/hotline/tickets", content=body, headers=signed_headers(SECRET, body, datetime.now(UTC))
            )
            assert r.status_code == 202, r.text
            return str(r.json()["report_id"])

        ids = await asyncio.gather(*(ticket(2 * i + k, a) for i, a in enumerate(addresses) for k in (0, 1)))
    pairs = [(ids[2 * i], ids[2 * i + 1]) for i in range(len(addresses))]
    await settle(stack, ids, timeout_s=60)

    partition_of = {e.subject: p for p, e in await read(stack, "reports.received.v1")}
    held = await owners(stack, "router", "reports.received.v1")
    member_of = {p: i for i, partitions in enumerate(held) for p in partitions}
    across = [pair for pair in pairs if member_of[partition_of[pair[0]]] != member_of[partition_of[pair[1]]]]
    assert across, "no pair was split over the two routers: the test proved nothing"

    case_of = {
        r["report_id"]: r["case_id"]
        for r in await fetch(
            stack, "SELECT report_id, case_id FROM workflow.case_reports WHERE report_id = ANY($1)", ids
        )
    }
    split = [(a, b) for a, b in pairs if case_of.get(a) is None or case_of.get(a) != case_of.get(b)]
    assert not split, f"{len(split)} of {len(pairs)} pairs ({len(across)} across routers) became two cases"


async def test_sigkilled_router_and_workflow_leave_their_partitions_and_timers_to_the_others(stack: Stack) -> None:
    load = Load(
        stack.url("intake"),
        rate=12,
        addresses=demo_addresses()[200:500],
        texts=[*URGENT, "{a}有人占道经营摆摊", "{a}垃圾桶满溢无人清理"],
        prefix="K",
    )
    task = asyncio.create_task(load.run())
    await asyncio.sleep(6)
    killed_at = await city_now(stack, "workflow")
    stack.kill("router-2")
    stack.kill("workflow-2")
    await asyncio.sleep(12)  # the broker notices the dead members after their 10 s session timeout
    load.stop.set()
    await task
    assert load.sent > 150, f"the load did not run: {load.sent} tickets"

    deadline = time.monotonic() + 30
    for group, topic in (("router", "reports.received.v1"), ("workflow", "routing.decided.v1")):
        while (held := await owners(stack, group, topic)) != [set(range(PARTITIONS))]:
            assert time.monotonic() < deadline, f"{group}: the survivor does not hold every partition: {held}"
            await asyncio.sleep(1)

    acked = set(load.acked.values())
    await settle(stack, acked, timeout_s=90)

    decided: dict[str, list[str]] = defaultdict(list)
    for _, e in await read(stack, "routing.decided.v1"):
        decided[e.data["report_id"]].append(e.type)
    assert not [r for r in acked if len(decided[r]) != 1], "a report decided twice or never"

    cases = [e for _, e in await read(stack, "cases.v1")]
    filed = Counter(e.data["report_id"] for e in cases if e.type == "cityloop.case.filed.v1")
    assert not [r for r, n in filed.items() if n > 1], "a case filed twice for one report"
    in_cases = Counter(
        r["report_id"]
        for r in await fetch(
            stack, "SELECT report_id FROM workflow.case_reports WHERE report_id = ANY($1)", list(acked)
        )
    )
    queued = {
        r["report_id"]
        for r in await fetch(stack, "SELECT report_id FROM router.queue WHERE report_id = ANY($1)", list(acked))
    }
    assert all(n == 1 for n in in_cases.values()), "a report in two cases"
    assert acked == set(in_cases) | queued, "a report in no case and not queued"

    # Every timer due by now fired once, also those that fell due after its replica died.
    deadline = time.monotonic() + 60
    while True:
        now = await city_now(stack, "workflow")
        late = await fetch(
            stack,
            "SELECT count(*) n FROM workflow.timers WHERE status = 'pending' AND due_at < $1",
            now - timedelta(hours=1),
        )
        if late[0]["n"] == 0:
            break
        assert time.monotonic() < deadline, f"{late[0]['n']} due timers left unfired after the kill"
        await asyncio.sleep(1)
    fired = await fetch(stack, "SELECT id, fired_at FROM workflow.timers WHERE status = 'fired'")
    assert any(r["fired_at"] > killed_at for r in fired), "no timer fired after the kill"
    per_timer = await fetch(
        stack,
        "SELECT payload->>'timer_id' t, count(*) n FROM workflow.audit "
        "WHERE payload ? 'timer_id' GROUP BY 1 HAVING count(*) > 1",
    )
    assert not per_timer, f"a timer fired twice: {per_timer[:5]}"
    timer_events = Counter(
        (e.subject, e.type, e.data["kind"], e.data.get("level"), e.data["due_at"])
        for e in cases
        if e.type in TIMER_EVENTS
    )
    assert not [k for k, n in timer_events.items() if n > 1], "a warning, reminder or escalation published twice"
    committed = {
        r["event_id"]
        for r in await fetch(stack, "SELECT event_id FROM workflow.audit WHERE payload ? 'timer_id' AND at < $1", now)
    }
    await asyncio.sleep(2)  # the relay publishes what the last sweeps committed
    published = {e.id for _, e in await read(stack, "cases.v1") if e.type in TIMER_EVENTS}
    assert committed <= published, f"{len(committed - published)} fired timers' events never published"
