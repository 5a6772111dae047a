"""Targets (任务主线): the city's goals per score, per department or street, per period, and progress.

A target names a score of docs/metrics.md, a scope (the whole city, one department or one street),
a reporting period (a year `2026`, a quarter `2026-Q4` or a month `2026-11`, local calendar) and a
value, met when the score is at least the value (at most, for scores where lower is better).
Progress compares the period's cohort so far (cases filed since the period began) with the target
and projects it to the period's end: a count grows in proportion to the time elapsed; any other
score moves from its value so far toward its value over the last `RECENT_DAYS` days, as the rest of
the period's cases will be filed at today's pace and judged at today's standard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.scores import BY_NAME, Score
from shared.errors import Invalid

RECENT_DAYS = 30
SCOPES: tuple[str, ...] = ("total", "department", "street")
_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime

    def elapsed(self, now: datetime) -> float:
        """Share of the period gone by at `now`, 0 to 1."""
        total = (self.end - self.start).total_seconds()
        return min(max((now - self.start).total_seconds() / total, 0.0), 1.0)


def _month_start(year: int, month: int, tz: ZoneInfo) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime.combine(datetime(year, month, 1).date(), time(), tz)


def parse_period(raw: str, tz: ZoneInfo) -> Period:
    """`2026` (year), `2026-Q4` (quarter) or `2026-11` (month), in local calendar time: [start, end)."""
    match = _PERIOD.fullmatch(raw.strip())
    if match is None or not int(match["year"]) >= 1:
        raise Invalid(f"{raw!r} is not a period: use YYYY, YYYY-Qn or YYYY-MM", field="period")
    year = int(match["year"])
    if match["quarter"]:
        first, months = 3 * int(match["quarter"]) - 2, 3
    elif match["month"]:
        first, months = int(match["month"]), 1
    else:
        first, months = 1, 12
    return Period(raw.strip(), _month_start(year, first, tz), _month_start(year, first + months, tz))


def validate(score: str, scope: str, unit: str | None, value: float) -> Score:
    """The score a target names, or a clear refusal of the field that is wrong."""
    definition = BY_NAME.get(score)
    if definition is None:
        raise Invalid(f"unknown score {score!r}; see GET /v1/kpis/definitions", field="score")
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if (scope == "total") != (not unit):
        raise Invalid("a department or street target names its unit; a city-wide target names none", field="unit")
    high = {"rate": 1.0, "composite": 100.0}.get(definition.kind)
    if value < 0 or (high is not None and value > high):
        raise Invalid(f"{score} targets lie between 0 and {high if high is not None else 'infinity'}", field="value")
    return definition


@dataclass(frozen=True)
class Progress:
    actual: float | None
    gap: float | None
    """How far the actual is past the target, positive when ahead (in the score's own unit)."""
    projection: float | None
    at_risk: bool
    """The projection misses the target, or there is nothing to judge yet."""


def progress(score: Score, target: float, actual: float | None, recent: float | None, elapsed: float) -> Progress:
    """Actual against target, and where the period is heading (see the module docstring)."""
    if actual is None:
        projection = recent
    elif score.kind == "count":
        projection = actual / elapsed if elapsed > 0 else None
    else:
        projection = actual if recent is None else elapsed * actual + (1 - elapsed) * recent
    sign = 1 if score.higher_is_better else -1
    gap = None if actual is None else sign * (actual - target)
    at_risk = projection is None or sign * (projection - target) < 0
    return Progress(actual, gap, projection, at_risk)


def recent_window(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The last RECENT_DAYS before now (or before the period's end), not before the period began."""
    end = min(now, period.end)
    return max(period.start, end - timedelta(days=RECENT_DAYS)), end
