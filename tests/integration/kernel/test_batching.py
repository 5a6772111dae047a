"""A batch costs one transaction, one inbox statement and one outbox statement, and keeps every guarantee."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from shared.bus.base import InMessage, OutMessage
from shared.bus.local import LocalBus
from shared.clock import SystemClock
from shared.contracts import make_envelope
from shared.contracts.reports import TOPIC, ReportUpdated
from shared.db.engine import create_engine, session_factory
from shared.db.migrations import upgrade
from shared.db.outbox import Inbox, Outbox
from shared.db.relay import OutboxRelay
from shared.handling import HandlerContext, InboxProcessor
from tests.support.ledger.definition import SERVICE
from tests.support.ledger.models import effects

FAILING = "fail-this-batch"


def message(report_id: str, seq: int, text_: str = "note") -> InMessage:
    body = ReportUpdated(report_id=report_id, kind="supplement", text=text_, count=seq, at=datetime.now(UTC))
    envelope = make_envelope(body, source="/test", subject=report_id)
    return InMessage(TOPIC, 0, seq, report_id, envelope.to_bytes())


async def record_and_echo(ctx: HandlerContext, body: ReportUpdated) -> None:
    """The ledger's effect plus an event per handled event, so a batch stages several outbox rows."""
    if body.text == FAILING:
        raise RuntimeError("this batch fails")
    await ctx.session.execute(insert(effects).values(event_id=ctx.envelope.id, key=body.report_id, seq=body.count))
    await ctx.emit(body, subject=f"echo-{body.count}")


@pytest.fixture
async def ledger(pg_url: str):  # type: ignore[no-untyped-def]
    await upgrade(SERVICE.package, pg_url)
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


async def rows(engine, query: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(query))).all()]


async def test_a_batch_applies_each_new_event_once_and_stages_its_events_in_order(ledger) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(ledger)
    outbox = Outbox(SERVICE.outbox_table, "/test", SystemClock())
    processor = InboxProcessor(
        "ledger",
        {"cityloop.report.updated.v1": record_and_echo},
        sessions,
        Inbox(SERVICE.inbox_table),
        outbox,
        SystemClock(),
    )
    first, second, third, seen_before = (message(f"r{i}", i) for i in range(1, 5))
    await processor.handle_batch([seen_before])

    await processor.handle_batch([first, second, first, seen_before, third])  # a redelivery and a repeat inside

    assert await rows(ledger, "SELECT key, seq FROM ledger.effects ORDER BY id") == [
        ("r4", 4),
        ("r1", 1),
        ("r2", 2),
        ("r3", 3),
    ]
    assert await rows(ledger, "SELECT key FROM ledger.outbox ORDER BY id") == [
        ("echo-4",),
        ("echo-1",),
        ("echo-2",),
        ("echo-3",),
    ]


async def test_a_failing_batch_leaves_no_effect_no_claim_and_no_event(ledger) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(ledger)
    processor = InboxProcessor(
        "ledger",
        {"cityloop.report.updated.v1": record_and_echo},
        sessions,
        Inbox(SERVICE.inbox_table),
        Outbox(SERVICE.outbox_table, "/test", SystemClock()),
        SystemClock(),
    )
    with pytest.raises(RuntimeError):
        await processor.handle_batch([message("ok", 1), message("bad", 2, FAILING)])
    for table in ("effects", "inbox", "outbox"):
        assert await rows(ledger, f"SELECT count(*) FROM ledger.{table}") == [(0,)], table

    await processor.handle_batch([message("ok", 1)])  # the good one alone goes through afterwards
    assert await rows(ledger, "SELECT key FROM ledger.outbox") == [("echo-1",)]


class RecordingBus(LocalBus):
    """Publishes nothing; remembers what it was asked to publish, or fails when told to."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine)
        self.published: list[str] = []
        self.fail = False

    async def publish(self, messages: Sequence[OutMessage]) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.published += [m.key for m in messages]


async def stage(engine, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    outbox = Outbox(SERVICE.outbox_table, "/test", SystemClock())
    async with session_factory(engine)() as session, session.begin():
        for key in keys:
            body = ReportUpdated(report_id=key, kind="supplement", text="x", at=datetime.now(UTC))
            await outbox.add(session, body, subject=key)


async def test_relay_publishes_in_order_only_as_leader_and_keeps_rows_it_could_not_publish(ledger) -> None:  # type: ignore[no-untyped-def]
    bus = RecordingBus(ledger)
    relay = OutboxRelay(ledger, SERVICE.outbox_table, bus, service="ledger", batch_size=3)
    await stage(ledger, ["a", "b"])
    await stage(ledger, ["c", "d"])

    async with ledger.connect() as other:  # another relay leads: this one publishes nothing and keeps the rows
        await other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": relay._lock_id})
        assert await relay.publish_once() == 0
        await other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": relay._lock_id})
    assert await relay.backlog() == 4

    bus.fail = True
    with pytest.raises(ConnectionError):
        await relay.publish_once()
    assert await relay.backlog() == 4

    bus.fail = False
    assert await relay.publish_once() == 3
    assert await relay.publish_once() == 1
    assert bus.published == ["a", "b", "c", "d"]
    assert await relay.backlog() == 0


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    """The relay's loop as a service runs it, stopped (and awaited) on the way out."""
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        relay.stop()
        relay.wakeup.set()
        await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Wait for `condition`, checking every 50 ms, at most `timeout_s` (the assertions after it say what failed)."""
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_relay_woken_by_commits_sends_close_commits_together(ledger) -> None:  # type: ignore[no-untyped-def]
    bus = RecordingBus(ledger)
    calls: list[int] = []
    original = bus.publish

    async def counting(messages: Sequence[OutMessage]) -> None:
        calls.append(len(messages))
        await original(messages)

    bus.publish = counting  # type: ignore[method-assign]
    relay = OutboxRelay(ledger, SERVICE.outbox_table, bus, service="ledger", linger_s=1.0)
    async with running(relay):
        await asyncio.sleep(0.3)
        for key in ("x", "y", "z"):
            await stage(ledger, [key])
            relay.wakeup.set()
        await until(lambda: len(bus.published) == 3, 5.0)
    assert bus.published == ["x", "y", "z"]
    assert len(calls) < 3, calls  # the linger gathered commits that woke it separately


async def test_a_relay_fed_by_its_own_commits_does_not_poll_the_empty_outbox_between_them(ledger) -> None:  # type: ignore[no-untyped-def]
    """Steady commits every 60 ms each wake the relay: it claims about once per commit, not also at 10 and
    20 ms after each one. Rows no wakeup announced (another replica's) are still found by its polls."""
    bus = RecordingBus(ledger)
    relay = OutboxRelay(ledger, SERVICE.outbox_table, bus, service="ledger", linger_s=0, max_idle_s=0.5)
    claims = 0
    original = relay.publish_once

    async def counting() -> int:
        nonlocal claims
        claims += 1
        return await original()

    relay.publish_once = counting  # type: ignore[method-assign]
    async with running(relay):
        await asyncio.sleep(1.0)  # idle: the poll has backed off to max_idle_s
        before = claims
        for i in range(15):
            await stage(ledger, [f"own-{i}"])
            relay.wakeup.set()
            await asyncio.sleep(0.06)
        steady = claims - before
        await stage(ledger, ["foreign"])  # committed by someone else: no wakeup
        await until(lambda: "foreign" in bus.published, 2.0)
    assert bus.published == [*(f"own-{i}" for i in range(15)), "foreign"]
    assert steady <= 20, steady  # 15 commits; re-polling after each send would make it about 40


async def test_only_a_batch_that_staged_events_wakes_the_relay(ledger) -> None:  # type: ignore[no-untyped-def]
    """A consumer that only updates its own tables (intake's status, analytics) must not cost the relay a claim
    per batch that finds nothing; a batch that emits wakes it at once."""

    async def record_only(ctx: HandlerContext, body: ReportUpdated) -> None:
        await ctx.session.execute(insert(effects).values(event_id=ctx.envelope.id, key=body.report_id, seq=body.count))

    outbox = Outbox(SERVICE.outbox_table, "/test", SystemClock())
    quiet = InboxProcessor(
        "quiet",
        {"cityloop.report.updated.v1": record_only},
        session_factory(ledger),
        Inbox(SERVICE.inbox_table),
        outbox,
        SystemClock(),
    )
    loud = InboxProcessor(
        "loud",
        {"cityloop.report.updated.v1": record_and_echo},
        session_factory(ledger),
        Inbox(SERVICE.inbox_table),
        outbox,
        SystemClock(),
    )

    await quiet.handle_batch([message("quiet-1", 1), message("quiet-2", 2)])
    assert not outbox.committed.is_set()
    await loud.handle_batch([message("loud-1", 3)])
    assert outbox.committed.is_set()


async def test_staged_rows_are_written_at_commit_by_one_statement_per_run_in_staging_order(ledger) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import Column, DateTime, Identity, Integer, MetaData, Table, Text, event
    from sqlalchemy.dialects.postgresql import JSONB

    from shared.db.staging import stage as stage_rows

    probe = Table(
        "staged_probe",
        MetaData(schema="ledger"),
        Column("id", Integer, Identity(), primary_key=True),
        Column("note", Text),
        Column("at", DateTime(timezone=True)),
        Column("doc", JSONB, nullable=False, server_default=text("'{\"default\": true}'::jsonb")),
    )
    async with ledger.begin() as conn:
        await conn.run_sync(probe.create)
    statements: list[tuple[str, bool]] = []

    def seen(_conn, _cursor, statement, _params, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "staged_probe" in statement:
            statements.append((statement, executemany))

    event.listen(ledger.sync_engine, "before_cursor_execute", seen)
    at = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    async with session_factory(ledger)() as session, session.begin():
        stage_rows(
            session, probe, [{"note": f"n{i}", "at": at, "doc": {"i": i, "名": ["井盖", None]}} for i in range(3)]
        )
        stage_rows(session, probe, [{"note": None, "at": None, "doc": {}}])
        stage_rows(session, probe, [{"note": "default doc", "at": at}])  # other columns: a run of its own
        assert statements == []  # nothing is written before the commit
    event.remove(ledger.sync_engine, "before_cursor_execute", seen)

    assert [executemany for _, executemany in statements] == [False, False]  # two runs, one statement each
    assert await rows(ledger, "SELECT note, at, doc FROM ledger.staged_probe ORDER BY id") == [
        ("n0", at, {"i": 0, "名": ["井盖", None]}),
        ("n1", at, {"i": 1, "名": ["井盖", None]}),
        ("n2", at, {"i": 2, "名": ["井盖", None]}),
        (None, None, {}),
        ("default doc", at, {"default": True}),
    ]
