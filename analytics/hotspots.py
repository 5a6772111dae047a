"""Hot spots (cells with the most cases per category per week) and recurrence (回潮), in SQL.

Both relate several cases, so they are computed at query time, never folded into a case's row:
a replay may interleave different cases' events in any order.

A case is *recurring* when another case of the same category in the same grid cell had its first
closure at most N days before this case was filed (and not after it). Withdrawn cases neither
recur nor make another case recur.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.scores import period_expr

_FILTER_COLUMNS = {
    "street": "street_code",
    "community": "community_code",
    "cell": "cell_code",
    "category": "category_code",
    "channel": "channel",
    "department": "department_code",
}

_PREVIOUS = """
    SELECT a.case_id, a.first_closed_at FROM analytics.case_facts a
    WHERE a.cell_code = f.cell_code AND a.category_code = f.category_code AND a.case_id <> f.case_id
      AND a.withdrawn_at IS NULL AND a.first_closed_at <= f.filed_at
      AND a.first_closed_at >= f.filed_at - make_interval(days => CAST(:days AS int))
    ORDER BY a.first_closed_at DESC, a.case_id LIMIT 1
"""


def _where(filters: Mapping[str, str]) -> str:
    """Cases filed in [from, to), not withdrawn, with a cell and a category, matching the filters."""
    clauses = "".join(f" AND f.{_FILTER_COLUMNS[name]} = :{name}" for name in sorted(filters))
    return (
        f"WHERE f.filed_at >= :from AND f.filed_at < :to "
        f"AND f.withdrawn_at IS NULL AND f.cell_code IS NOT NULL AND f.category_code IS NOT NULL{clauses}"
    )


def recurrences_sql(filters: Mapping[str, str]) -> str:
    return (
        f"SELECT f.case_id, f.case_no, f.cell_code, f.category_code, f.filed_at, "
        f"p.case_id AS previous_case_id, p.first_closed_at AS previous_closed_at "
        f"FROM analytics.case_facts f JOIN LATERAL ({_PREVIOUS}) p ON true {_where(filters)} "
        "ORDER BY f.filed_at, f.case_id LIMIT :limit"
    )


def hotspots_sql(filters: Mapping[str, str]) -> str:
    week = period_expr("week")
    return (
        f"WITH c AS (SELECT {week} AS week, f.category_code, f.cell_code, "
        f"EXISTS ({_PREVIOUS}) AS recurring FROM analytics.case_facts f {_where(filters)}), "
        "g AS (SELECT week, category_code, cell_code, count(*) AS cases, "
        "count(*) FILTER (WHERE recurring) AS recurring FROM c GROUP BY 1, 2, 3), "
        "r AS (SELECT *, row_number() OVER (PARTITION BY week, category_code ORDER BY cases DESC, cell_code) AS rank "
        "FROM g) "
        "SELECT week, category_code, cell_code, cases, recurring, rank FROM r WHERE rank <= :top "
        "ORDER BY week, category_code, rank"
    )


async def hotspots(
    session: AsyncSession, start: datetime, end: datetime, *, tz: str, days: int, top: int, filters: Mapping[str, str]
) -> list[dict[str, Any]]:
    params = {"from": start, "to": end, "tz": tz, "days": days, "top": top, **filters}
    rows = await session.execute(text(hotspots_sql(filters)), params)
    return [dict(r) for r in rows.mappings()]


async def recurrences(
    session: AsyncSession, start: datetime, end: datetime, *, days: int, limit: int, filters: Mapping[str, str]
) -> list[dict[str, Any]]:
    params = {"from": start, "to": end, "days": days, "limit": limit, **filters}
    rows = await session.execute(text(recurrences_sql(filters)), params)
    return [dict(r) for r in rows.mappings()]
