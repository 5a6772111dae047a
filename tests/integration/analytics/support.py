"""A history of generated cases loaded into a fresh analytics schema through the bulk consumer path."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.config import ScoringConfig, default_scoring
from analytics.handlers import processor
from shared.bus.base import InMessage
from shared.db.engine import create_engine, session_factory
from shared.db.migrations import upgrade
from tests.integration.analytics.oracle import Oracle
from tests.support.case_history import CASES_TOPIC, REPORTS_TOPIC, History

HISTORY_CASES = int(os.environ.get("CITYLOOP_ANALYTICS_TEST_CASES", "100000"))
BATCH = 50_000


async def load(sessions: async_sessionmaker[AsyncSession], history: History, batch: int = BATCH) -> float:
    """Feed every event to the consumer's batch handler, as a bus would in polls of `batch`; returns seconds."""
    projector = processor(sessions)
    started = time.perf_counter()
    for topic in (CASES_TOPIC, REPORTS_TOPIC):
        messages: list[InMessage] = []
        for message in history.messages(topic):
            messages.append(message)
            if len(messages) == batch:
                await projector.handle_batch(messages)
                messages = []
        await projector.handle_batch(messages)
    return time.perf_counter() - started


@contextmanager
def gc_paused() -> Iterator[None]:
    """A million event dicts held in memory make every cyclic-GC pass crawl; nothing here makes cycles."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@asynccontextmanager
async def analytics_db(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await upgrade("analytics", url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def oracle_for(history: History, config: ScoringConfig | None = None) -> Oracle:
    config = config or default_scoring()
    return Oracle(
        history.cases,
        as_of=history.end,
        timezone=config.timezone,
        filing_limit_minutes=config.filing_limit_minutes,
        closing_limit_hours=config.closing_limit_hours,
        composite={n: (w.weight, w.invert) for n, w in config.composite.items()},
    )
