"""Reading the KPI questions: time windows, who may see which units, rankings, CSV, target progress. Never commits."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from analytics.config import ScoringConfig
from analytics.scores import BY_NAME, SCORES, Dimension, Row, compute
from analytics.targets import Period, progress, recent_window
from shared.auth import Principal, Role
from shared.errors import Forbidden, Invalid

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime
    as_of: datetime


def parse_time(raw: str, field: str, tz: ZoneInfo) -> datetime:
    """An ISO date (local midnight) or date-time; without an offset it is local time."""
    try:
        value = (
            datetime.fromisoformat(raw)
            if "T" in raw or " " in raw
            else datetime.combine(date.fromisoformat(raw), time())
        )
    except ValueError as exc:
        raise Invalid(f"{raw!r} is not an ISO date or date-time", field=field) from exc
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def window(
    raw_from: str | None,
    raw_to: str | None,
    raw_as_of: str | None,
    *,
    now: datetime,
    tz: ZoneInfo,
) -> TimeWindow:
    """[from, to) of filing times; by default the last 30 local days including today."""
    end = (
        parse_time(raw_to, "to", tz)
        if raw_to
        else datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(), tz)
    )
    start = parse_time(raw_from, "from", tz) if raw_from else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise Invalid("`from` must be before `to` (`to` is exclusive)", field="from")
    as_of = parse_time(raw_as_of, "as_of", tz) if raw_as_of else now
    return TimeWindow(start, end, as_of)


def scoped_filters(principal: Principal, filters: Mapping[str, str | None]) -> dict[str, str]:
    """The filters asked for, narrowed to the caller's own department or street."""
    active = {k: v for k, v in filters.items() if v}
    own = {Role.DEPARTMENT: "department", Role.STREET: "street"}.get(principal.role)
    if own is None:
        return active
    if principal.unit is None:
        raise Forbidden(f"a {principal.role.value} account needs a unit to read scores", field="unit")
    if active.get(own, principal.unit) != principal.unit:
        raise Forbidden(f"{principal.role.value} {principal.unit} may only read its own {own}", field=own)
    active[own] = principal.unit
    return active


def check_size(rows: Sequence[Row], limit: int) -> None:
    if len(rows) > limit:
        raise Invalid(
            f"{len(rows)} groups exceed the limit of {limit}: narrow the time range or add filters", field="dimension"
        )


@dataclass(frozen=True)
class Ranked:
    rank: int
    value: float
    row: Row


def rank(rows: Iterable[Row], score: str) -> tuple[list[Ranked], list[str | None]]:
    """Best first by the score's direction; equal values share a rank (1, 2, 2, 4); no value is unranked."""
    definition = BY_NAME[score]
    valued = [(r.scores[score].value, r) for r in rows]
    present = sorted(
        ((v, r) for v, r in valued if v is not None),
        key=lambda vr: (-vr[0] if definition.higher_is_better else vr[0], vr[1].key or ""),
    )
    ranked: list[Ranked] = []
    for i, (value, row) in enumerate(present):
        position = ranked[-1].rank if ranked and ranked[-1].value == value else i + 1
        ranked.append(Ranked(position, value, row))
    return ranked, [r.key for v, r in valued if v is None]


def csv_columns(names: Sequence[str] | None = None) -> list[str]:
    columns: list[str] = []
    for s in SCORES:
        if names is not None and s.name not in names:
            continue
        columns.append(s.name)
        if s.kind == "rate":
            columns += [f"{s.name}_numerator", f"{s.name}_denominator"]
        elif s.kind in ("mean", "median"):
            columns.append(f"{s.name}_denominator")
    return columns


def to_csv(
    rows: Sequence[Row],
    *,
    key_header: str,
    with_period: bool = False,
    names: Sequence[str] | None = None,
    ranks: Sequence[int] | None = None,
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = csv_columns(names)
    writer.writerow((["rank"] if ranks else []) + (["period"] if with_period else []) + [key_header, *columns])
    for i, row in enumerate(rows):
        cells: list[object] = [ranks[i]] if ranks else []
        if with_period:
            cells.append(row.period)
        cells.append(row.key)
        for column in columns:
            base, _, part = (
                column.rpartition("_") if column.endswith(("_numerator", "_denominator")) else (column, "", "value")
            )
            value = row.scores[base]
            cells.append({"value": value.value, "numerator": value.numerator, "denominator": value.denominator}[part])
        writer.writerow(["" if c is None else c for c in cells])
    return out.getvalue()


def visible_targets(principal: Principal, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Targets the caller may read: all, or only its own department's or street's."""
    own = {Role.DEPARTMENT: "department", Role.STREET: "street"}.get(principal.role)
    return [dict(r) for r in rows if own is None or (r["scope"] == own and r["unit"] == principal.unit)]


async def target_progress(
    session: AsyncSession, config: ScoringConfig, period: Period, now: datetime, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each target with its actual, gap, projection and at-risk flag (analytics/targets.py), from the rollups."""
    end = min(now, period.end)
    elapsed = period.elapsed(now)
    recent_from, recent_to = recent_window(period, now)
    by_scope: dict[str, tuple[dict[str | None, Row], dict[str | None, Row]]] = {}
    out = []
    for row in rows:
        scope = row["scope"]
        if scope not in by_scope:
            dimension = Dimension.TOTAL if scope == "total" else Dimension(scope)
            so_far = await compute(session, config, dimension, period.start, end, now) if end > period.start else []
            lately = (
                await compute(session, config, dimension, recent_from, recent_to, now)
                if recent_to > recent_from
                else []
            )
            by_scope[scope] = ({r.key: r for r in so_far}, {r.key: r for r in lately})
        key = "all" if scope == "total" else row["unit"]
        score = BY_NAME[row["score"]]
        actual_row, recent_row = (rows_by.get(key) for rows_by in by_scope[scope])
        actual = actual_row.scores[score.name].value if actual_row else None
        if actual is None and actual_row is not None and score.kind == "count":
            actual = 0.0
        recent = recent_row.scores[score.name].value if recent_row else None
        p = progress(score, row["value"], actual, recent, elapsed)
        out.append(
            {
                **row,
                "unit": row["unit"] or None,
                "higher_is_better": score.higher_is_better,
                "actual": p.actual,
                "gap": p.gap,
                "projection": p.projection,
                "at_risk": p.at_risk,
                "elapsed": elapsed,
            }
        )
    return out


async def indicator_table(
    session: AsyncSession,
    config: ScoringConfig,
    span: Period,
    dimension: str,
    now: datetime,
    filters: Mapping[str, str] | None = None,
) -> list[Row]:
    """The period's indicator table (指标数据表): every count and rate per department or street, from the rollups."""
    if dimension not in ("department", "street"):
        raise Invalid("the indicator table is by department or by street", field="dimension")
    return await compute(session, config, Dimension(dimension), span.start, span.end, now, filters=filters)
