"""The rollups: every score's additive parts per filing period and group, kept in the fold's transaction.

`analytics.score_rollup` holds, per (grain, period, department, street, community, category, channel),
the sum of every `scores.MEASURES` column over the case, dispatch and summons rows of cases filed in
that local day, month or year; `analytics.handling_histogram` holds the median's bucket counts at the
same grain. A case's contribution is a function of its stored rows, so the fold keeps the rollups
exact by subtracting the contribution of the cases a batch touches before it writes them and adding
it back after: two set-based statements per batch, whatever its size. The same SQL over all cases
(`rebuild`) is the bulk path: loading facts in bulk and rebuilding gives the rollups the fold keeps.

The rollups depend on `scoring.yaml`'s time zone and limits; after changing them, run `rebuild`
(or `cityloop replay analytics --rebuild`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from analytics.config import ScoringConfig
from analytics.scores import LIVE_ONLY, MEASURES, MEDIAN, SCOREBOARD_DIMENSIONS

DIMENSIONS: tuple[str, ...] = ("department", "street", "community", "category", "channel")
KEY: tuple[str, ...] = ("grain", "period", *DIMENSIONS)
_CASE_DIMENSION = {
    "street": "f.street_code",
    "community": "f.community_code",
    "category": "f.category_code",
    "channel": "f.channel",
}
_OWN_DEPARTMENT = {"case": "f.department_code", "dispatch": "d.department_code", "checkin": "w.department_code"}
_ORIGIN = {
    "case": "analytics.case_facts f",
    "dispatch": "analytics.dispatches d JOIN analytics.case_facts f ON f.case_id = d.case_id",
    "checkin": "analytics.checkins w JOIN analytics.case_facts f ON f.case_id = w.case_id",
}
_GRAINS = "(VALUES ('d', 'day'), ('m', 'month'), ('y', 'year')) g(grain, unit)"
# one writer at a time: batches of different cases add to the same day's rows, and the subtract-then-add
# of two concurrent batches would otherwise lock those rows in opposite orders
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('analytics.score_rollup'))")


def _day_key(source: str) -> list[str]:
    return [
        "(f.filed_at AT TIME ZONE :tz)::date",
        f"coalesce({_OWN_DEPARTMENT[source]}, '')",
        *(f"coalesce({_CASE_DIMENSION[d]}, '')" for d in DIMENSIONS[1:]),
    ]


_DAY_KEY = ("day", *DIMENSIONS)
_PERIOD = "date_trunc(g.unit, x.day::timestamp)::date"
_SCOREBOARD_VALUES = (
    "(VALUES "
    + ", ".join("('total', 'all')" if d == "total" else f"('{d}', x.{d})" for d in SCOREBOARD_DIMENSIONS)
    + ") v(dimension, value)"
)


def _upsert_sql(where: str) -> str:
    """Add :sign x the contribution of the cases matching `where` (over alias f) to every rollup.

    The rows are summed per filing day first and only then spread to the day, month and year rows,
    so each case's measures are evaluated once.
    """
    names = [m.name for m in MEASURES]
    selects = []
    for source in ("case", "dispatch", "checkin"):
        items = [f"{m.expression} AS {m.name}" if m.source == source else f"0 AS {m.name}" for m in MEASURES]
        keys = [f"{expr} AS {name}" for expr, name in zip(_day_key(source), _DAY_KEY, strict=True)]
        selects.append(
            f"SELECT {', '.join(keys + items)} FROM {_ORIGIN[source]} "
            f"WHERE f.filed_at IS NOT NULL AND {LIVE_ONLY[source]} AND {where}"
        )
    day_key = ", ".join(_DAY_KEY)
    key = ", ".join(KEY)
    dims = ", ".join(f"x.{d}" for d in DIMENSIONS)
    hist_keys = [f"{expr} AS {name}" for expr, name in zip(_day_key("case"), _DAY_KEY, strict=True)]
    return (
        f"WITH hd AS (SELECT {', '.join(hist_keys)}, {MEDIAN.numerator} AS bucket, count(*) AS n "
        f"FROM analytics.case_facts f WHERE f.filed_at IS NOT NULL AND {MEDIAN.denominator} AND {where} "
        f"GROUP BY {day_key}, bucket), "
        f"hist AS (INSERT INTO analytics.handling_histogram AS t ({key}, bucket, n) "
        f"SELECT g.grain, {_PERIOD}, {dims}, x.bucket, :sign * sum(x.n) FROM hd x CROSS JOIN {_GRAINS} "
        f"GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8 "
        f"ON CONFLICT ({key}, bucket) DO UPDATE SET n = t.n + excluded.n), "
        f"board AS (INSERT INTO analytics.scoreboard_histogram AS t (grain, period, dimension, value, bucket, n) "
        f"SELECT g.grain, {_PERIOD}, v.dimension, v.value, x.bucket, :sign * sum(x.n) "
        f"FROM hd x CROSS JOIN {_GRAINS} CROSS JOIN LATERAL {_SCOREBOARD_VALUES} "
        f"GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5 "
        f"ON CONFLICT (grain, period, dimension, value, bucket) DO UPDATE SET n = t.n + excluded.n), "
        f"days AS (SELECT {day_key}, {', '.join(f'sum({n}) AS {n}' for n in names)} "
        f"FROM ({' UNION ALL '.join(selects)}) c GROUP BY {day_key}) "
        f"INSERT INTO analytics.score_rollup AS t ({key}, {', '.join(names)}) "
        f"SELECT g.grain, {_PERIOD}, {dims}, {', '.join(f':sign * sum(x.{n})' for n in names)} "
        f"FROM days x CROSS JOIN {_GRAINS} GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7 "
        f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{n} = t.{n} + excluded.{n}" for n in names)
    )


# built once: the text of a statement this size is parsed for its parameters on every construction
_BATCH = text(_upsert_sql("f.case_id = ANY(CAST(:ids AS text[]))"))
ALL_SQL = _upsert_sql("true")
_LOCKED = "analytics.rollup_locked"


def params(config: ScoringConfig, sign: int) -> dict[str, Any]:
    return {
        "sign": sign,
        "tz": config.timezone,
        "filing_limit_minutes": config.filing_limit_minutes,
        "closing_limit_hours": float(config.closing_limit_hours),
    }


async def _lock(session: AsyncSession) -> None:
    if not session.info.get(_LOCKED):
        await session.execute(_LOCK)
        session.info[_LOCKED] = True  # released with the transaction: forget it then
        event.listen(session.sync_session, "after_transaction_end", _forget, once=True)


def _forget(sync_session: Session, _: object) -> None:
    sync_session.info.pop(_LOCKED, None)


async def retract(session: AsyncSession, config: ScoringConfig, case_ids: Collection[str]) -> None:
    """Subtract these stored cases' contributions (before the fold rewrites their rows)."""
    if case_ids:
        await _lock(session)
        await session.execute(_BATCH, {**params(config, -1), "ids": list(case_ids)})


async def add(session: AsyncSession, config: ScoringConfig, case_ids: Collection[str]) -> None:
    """Add these stored cases' contributions (after the fold wrote their rows)."""
    if case_ids:
        await _lock(session)
        await session.execute(_BATCH, {**params(config, 1), "ids": list(case_ids)})


async def rebuild(session: AsyncSession, config: ScoringConfig) -> None:
    """Recompute both rollups from all stored rows: the bulk path, equal to what the fold keeps."""
    await _lock(session)
    await session.execute(
        text("TRUNCATE analytics.score_rollup, analytics.handling_histogram, analytics.scoreboard_histogram")
    )
    await session.execute(text(ALL_SQL), params(config, 1))


ROLLUP_ORDER = ", ".join(KEY)
