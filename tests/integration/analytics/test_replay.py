"""Acceptance: dropping the read models and replaying the topics from offset zero gives every score exactly again.

This runs the live path (the runtime's consumer with the per-event handler table over the local bus),
so it also shows the live path and the bulk path agree with the independent computation.
"""

from __future__ import annotations

from datetime import timedelta

from analytics import rebuild
from analytics.config import default_scoring
from analytics.definition import SERVICE
from analytics.handlers import CONSUMER, TOPICS
from analytics.scores import Dimension, Row, compute
from shared.bus.base import OutMessage
from shared.bus.local import LocalBus
from shared.clock import ManualClock
from shared.db.engine import create_engine, session_factory
from tests.integration.analytics.support import oracle_for
from tests.integration.analytics.test_scores import assert_same, rollup_rows
from tests.support.case_history import CASES_TOPIC, REPORTS_TOPIC, History, generate
from tests.support.harness import RunningPlatform, running_platform

CASES = 200


async def publish(p: RunningPlatform, history: History) -> None:
    for topic, envelopes in ((CASES_TOPIC, history.cases), (REPORTS_TOPIC, history.reports)):
        messages = [OutMessage(topic, m.key or "", m.value) for m in history.messages(topic)]
        assert len(messages) == len(envelopes)
        for i in range(0, len(messages), 2000):
            await p.bus.publish(messages[i : i + 2000])


async def snapshot(p: RunningPlatform, history: History) -> dict[Dimension, list[Row]]:
    start, end = history.start - timedelta(days=1), history.end + timedelta(days=1)
    async with p.runtime("analytics").sessions() as session:
        return {d: await compute(session, default_scoring(), d, start, end, history.end) for d in Dimension}


async def test_replay_from_offset_zero_after_dropping_the_read_models_gives_the_same_scores(pg_url: str) -> None:
    history = generate(CASES, seed=11)
    clock = ManualClock(history.end)
    async with running_platform(pg_url, [SERVICE], clock=clock) as p:
        await publish(p, history)
        await p.drain(timeout_s=300)
        first = await snapshot(p, history)
    first_rollups = await rollup_rows(pg_url)

    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await rebuild(session)
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM analytics.case_facts")).scalar_one() == 0
        bus = LocalBus(engine)
        for topic in TOPICS:
            await bus.reset_offsets(CONSUMER, topic)
    finally:
        await engine.dispose()

    async with running_platform(pg_url, [SERVICE], clock=clock) as p:
        await p.drain(timeout_s=300)
        again = await snapshot(p, history)
    assert await rollup_rows(pg_url) == first_rollups, "the replay's rollups differ from the live ones"

    differences = [
        (d, a.key, name)
        for d in Dimension
        for a, b in zip(again[d], first[d], strict=True)
        for name in a.scores
        if (a.key, a.scores[name]) != (b.key, b.scores[name])
    ]
    assert not differences, differences[:10]
    oracle = oracle_for(history)
    start, end = history.start - timedelta(days=1), history.end + timedelta(days=1)
    for dimension, rows in again.items():
        assert_same(rows, oracle.scores(dimension.value, start, end))
