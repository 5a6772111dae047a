"""Acceptance: on a generated history of 100,000 cases, every score of every group of every dimension equals
an independent computation over the raw events (docs/metrics.md implemented twice)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from analytics import rollup
from analytics.config import default_scoring
from analytics.scores import MEDIAN_ALPHA, MEDIAN_FLOOR_HOURS, SCORES, Dimension, Row, compute
from shared.db.engine import create_engine, session_factory
from tests.integration.analytics.oracle import Oracle
from tests.integration.analytics.support import HISTORY_CASES, analytics_db, gc_paused, load, oracle_for
from tests.support.case_history import History, generate


@dataclass
class Loaded:
    url: str
    history: History
    oracle: Oracle
    timings: dict[str, float]


@pytest.fixture(scope="module")
def loaded(module_pg_url: str) -> Loaded:
    timings: dict[str, float] = {}

    async def fill() -> None:
        async with analytics_db(module_pg_url) as sessions:
            timings["load"] = await load(sessions, history)

    with gc_paused():
        started = time.perf_counter()
        history = generate(HISTORY_CASES)
        timings["generate"] = time.perf_counter() - started
        asyncio.run(fill())
        started = time.perf_counter()
        oracle = oracle_for(history)
        timings["oracle"] = time.perf_counter() - started
    print(
        f"\n{HISTORY_CASES} cases, {len(history.cases)} case events, {len(history.reports)} reports: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    )
    return Loaded(module_pg_url, history, oracle, timings)


async def production(
    loaded: Loaded, dimension: Dimension, start: datetime, end: datetime, filters: Mapping[str, str] | None = None
) -> list[Row]:
    engine = create_engine(loaded.url)
    try:
        async with session_factory(engine)() as session:
            return await compute(session, default_scoring(), dimension, start, end, loaded.history.end, filters=filters)
    finally:
        await engine.dispose()


def assert_same(rows: list[Row], expected: dict[str | None, dict[str, Any]]) -> int:
    """Every score of every group equal; returns how many values were compared."""
    got = {row.key: row for row in rows}
    assert set(got) == set(expected), f"groups differ: {set(got) ^ set(expected)}"
    compared = 0
    for key, row in got.items():
        want = expected[key]
        for score in SCORES:
            value = row.scores[score.name]
            if score.kind == "rate":
                actual: Any = (value.numerator, value.denominator)
                assert actual == want.get(score.name, (0, 0)), (key, score.name)
            elif score.kind == "count":
                assert value.value == want.get(score.name, 0), (key, score.name)
            else:
                w = want.get(score.name)
                assert (value.value is None) == (w is None), (key, score.name, value.value, w)
                if w is not None:
                    assert value.value is not None
                    if score.kind == "median":  # from the histogram: within its stated bound
                        bound = MEDIAN_ALPHA * abs(w) + MEDIAN_FLOOR_HOURS + 1e-9
                        assert abs(value.value - w) <= bound, (key, score.name, value.value, w)
                        assert value.denominator == want["closed"], (key, score.name)
                    else:
                        assert math.isclose(value.value, w, rel_tol=1e-9, abs_tol=1e-9), (key, score.name)
            compared += 1
    return compared


def test_history_is_big_and_has_every_exception(loaded: Loaded) -> None:
    cases = loaded.oracle.cases
    assert len(cases) >= HISTORY_CASES * 0.95
    assert cases["reopened"].sum() and cases["extended"].sum() and cases["merged"].sum()
    assert (~cases["live"]).sum() and cases["overdue"].sum() and cases["escalations"].sum()
    assert (~loaded.oracle.dispatches["accurate_num"]).sum(), "no returned dispatch"
    assert len(loaded.oracle.summonses), "no whistle"


@pytest.mark.parametrize("dimension", list(Dimension))
async def test_every_score_of_every_group_equals_the_independent_computation(
    loaded: Loaded, dimension: Dimension
) -> None:
    start, end = loaded.history.start - timedelta(days=1), loaded.history.end + timedelta(days=1)
    rows = await production(loaded, dimension, start, end)
    compared = assert_same(rows, loaded.oracle.scores(dimension.value, start, end))
    assert compared >= len(SCORES)


@pytest.mark.parametrize(
    ("dimension", "filters"),
    [
        (Dimension.DEPARTMENT, {"street": "330102003"}),
        (Dimension.CELL, {"department": "D05"}),
        (Dimension.STREET, {"category": "1114", "channel": "hotline"}),
        (Dimension.WEEK, {"community": "330102002004"}),
    ],
)
async def test_filters_and_a_custom_range_match_too(
    loaded: Loaded, dimension: Dimension, filters: dict[str, str]
) -> None:
    start = loaded.history.start + timedelta(days=40, hours=5)
    end = start + timedelta(days=75)
    rows = await production(loaded, dimension, start, end, filters)
    assert rows, "the filter selects nothing: the test would prove nothing"
    assert_same(rows, loaded.oracle.scores(dimension.value, start, end, filters))


async def rollup_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Both rollup tables, rows that sum to something only (a case moving away leaves zeros behind)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            out = {}
            for table, nonzero in (
                ("score_rollup", "case_rows + dispatch_rows + checkin_rows <> 0"),
                ("handling_histogram", "n <> 0"),
                ("scoreboard_histogram", "n <> 0"),
            ):
                result = await conn.exec_driver_sql(f"SELECT * FROM analytics.{table} WHERE {nonzero}")
                out[table] = sorted(tuple(r) for r in result)
            return out
    finally:
        await engine.dispose()


async def test_rollups_kept_by_the_fold_equal_the_bulk_rebuild_from_the_facts(loaded: Loaded) -> None:
    """The bulk path (`rollup.rebuild`, used by the benchmark and the migration) gives the fold's rollups."""
    live = await rollup_rows(loaded.url)
    assert all(len(rows) > 1000 for rows in live.values()), {table: len(rows) for table, rows in live.items()}
    engine = create_engine(loaded.url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await rollup.rebuild(session, default_scoring())
    finally:
        await engine.dispose()
    rebuilt = await rollup_rows(loaded.url)
    for table in live:
        assert rebuilt[table] == live[table], table
