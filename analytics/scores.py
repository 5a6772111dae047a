"""Every score of docs/metrics.md, once, as SQL: the production path, read from the rollups.

A score is a numerator and a denominator (both counts of rows matching a condition), a mean or
median of a value, or a plain count. Scores come from three row sources: `case` (one row per case
in `case_facts`), `dispatch` (one row per dispatch) and `checkin` (one row per department summoned
by a whistle). Every source is restricted to the cohort of cases filed in [from, to) that match the
filters; the `department` dimension and filter use each source's own department (the case's latest
department, the dispatch's department, the summoned department).

Each score splits into parts that do not depend on `as_of`, summed per row into *measures* (kept
per filing day, month and year in `analytics.score_rollup` by the projection, see
`analytics/rollup.py`), and an "as of" part (`PENDING`): rows still waiting for an action whose
deadline may pass, read at query time from the open rows through partial indexes. The median
comes from a log-bucketed histogram (`handling_histogram`, relative error `MEDIAN_ALPHA`).

`build(…)` returns one SELECT with a row per group: the API, the CSV export, the Grafana
scoreboard, the indicator export and the benchmark all run this same text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.config import ScoringConfig

Source = Literal["case", "dispatch", "checkin"]
Kind = Literal["rate", "mean", "median", "count", "composite"]

LIVE = "f.withdrawn_at IS NULL"
SATISFIED = "f.satisfaction IN ('satisfied', 'basic')"
# numeric, not float: a sum of floats depends on row order, and a rebuild must give the same digits
HANDLING_SECONDS = "(extract(epoch FROM f.closed_at - f.filed_at) - f.suspended_seconds::numeric)"

# The median's histogram: bucket 0 holds values below MEDIAN_FLOOR_HOURS (one minute), bucket b >= 1
# holds [floor * gamma^(b-1), floor * gamma^b) and stands for 2 * floor * gamma^b / (gamma + 1): every
# value is off by at most MEDIAN_ALPHA of itself (DDSketch's bound), or by one minute in bucket 0.
# The median of two middle values averages two such estimates, so the reported median is within
# MEDIAN_ALPHA x median + 1 minute of `percentile_cont(0.5)`. Buckets are counts, so a case that is
# reopened leaves its bucket again (a KLL sketch cannot delete).
MEDIAN_ALPHA = 0.01
MEDIAN_GAMMA = (1 + MEDIAN_ALPHA) / (1 - MEDIAN_ALPHA)
MEDIAN_FLOOR_HOURS = 1 / 60
HANDLING_BUCKET = (
    f"CASE WHEN {HANDLING_SECONDS} < {MEDIAN_FLOOR_HOURS * 3600!r} THEN 0 ELSE 1 + floor(ln("
    f"{HANDLING_SECONDS}::float8 / {MEDIAN_FLOOR_HOURS * 3600!r}) / {math.log(MEDIAN_GAMMA)!r})::int "
    "END"
)


def bucket_value_sql(bucket: str) -> str:
    """The hours a histogram bucket stands for (see HANDLING_BUCKET)."""
    return (
        f"CASE WHEN {bucket} = 0 THEN 0 ELSE {MEDIAN_FLOOR_HOURS!r} * 2 * power({MEDIAN_GAMMA!r}, {bucket}) "
        f"/ {MEDIAN_GAMMA + 1!r} END"
    )


# the facts part of a query may group many rows: at the default 4MB a month of a big city spills to disk
SET_WORK_MEM = "SET LOCAL work_mem = '64MB'"


@dataclass(frozen=True)
class Score:
    name: str
    title: str
    kind: Kind
    source: Source = "case"
    numerator: str = ""
    """rate: condition counted; count: value summed per row; mean/median: value in hours."""
    denominator: str = ""
    """rate: condition counted (the part not depending on as_of); mean/median: which rows count."""
    pending: str = ""
    """The `PENDING` set added to a rate's denominator (or making up a count) as of the query's `as_of`."""
    higher_is_better: bool = True


@dataclass(frozen=True)
class Pending:
    """Rows waiting for an action with a deadline: they count once the deadline is before `as_of`.

    `condition` (without as_of) is also the predicate of a partial index, so the set read at query
    time is only the rows still waiting, not the history.
    """

    source: Source
    condition: str
    due: str


PENDING: dict[str, Pending] = {
    "overdue": Pending(
        "case",
        f"{LIVE} AND f.state NOT IN ('closed', 'suspended') AND f.handled_at IS NULL AND f.handle_due_at IS NOT NULL",
        "f.handle_due_at",
    ),
    "first_contact": Pending(
        "case",
        f"{LIVE} AND f.first_contact_at IS NULL AND f.first_contact_due_at IS NOT NULL",
        "f.first_contact_due_at",
    ),
    "response": Pending(
        "dispatch", "d.responded_at IS NULL AND d.acknowledge_due_at IS NOT NULL", "d.acknowledge_due_at"
    ),
    "checkin": Pending("checkin", "w.checked_in_at IS NULL AND w.due_at IS NOT NULL", "w.due_at"),
}


def _when(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


SCORES: tuple[Score, ...] = (
    Score("cases", "Cases filed", "count", numerator="1"),
    Score(
        "withdrawn", "Cases withdrawn", "count", numerator=_when("f.withdrawn_at IS NOT NULL"), higher_is_better=False
    ),
    Score("closed", "Cases closed", "count", numerator=_when(f"{LIVE} AND f.state = 'closed'")),
    Score("open", "Cases open", "count", numerator=_when(f"{LIVE} AND f.state <> 'closed'"), higher_is_better=False),
    Score("overdue", "Cases overdue", "count", pending="overdue", higher_is_better=False),
    Score("merged_reports", "Reports merged into cases", "count", numerator="f.merged_report_count"),
    Score("reopened", "Cases reopened", "count", numerator=_when("f.reopen_count > 0"), higher_is_better=False),
    Score("extended", "Cases extended", "count", numerator=_when("f.extension_count > 0")),
    Score("escalations", "Escalations (督办)", "count", numerator="f.escalation_count", higher_is_better=False),
    Score(
        "response_rate",
        "Response rate (响应率)",
        "rate",
        "dispatch",
        numerator="d.responded_at IS NOT NULL AND (d.acknowledge_due_at IS NULL "
        "OR d.responded_at <= d.acknowledge_due_at)",
        denominator="d.responded_at IS NOT NULL",
        pending="response",
    ),
    Score(
        "on_time_handling_rate",
        "On-time handling rate (按期处置率)",
        "rate",
        numerator=f"{LIVE} AND f.handled_at IS NOT NULL AND (f.handle_due_at IS NULL "
        "OR f.handled_at <= f.handle_due_at)",
        denominator=f"{LIVE} AND f.handled_at IS NOT NULL",
        pending="overdue",
    ),
    Score(
        "closure_rate", "Closure rate (办结率)", "rate", numerator=f"{LIVE} AND f.state = 'closed'", denominator=LIVE
    ),
    Score(
        "satisfaction_rate",
        "Satisfaction rate (满意率)",
        "rate",
        numerator=f"{LIVE} AND {SATISFIED}",
        denominator=f"{LIVE} AND f.satisfaction IS NOT NULL",
    ),
    Score(
        "rework_rate",
        "Rework rate (返工率)",
        "rate",
        higher_is_better=False,
        numerator=f"{LIVE} AND f.first_handled_at IS NOT NULL AND f.failed_verification_count + f.reopen_count > 0",
        denominator=f"{LIVE} AND f.first_handled_at IS NOT NULL",
    ),
    Score(
        "same_day_closure_rate",
        "Same-day closure (当日清)",
        "rate",
        numerator=f"{LIVE} AND f.reopen_count = 0 AND f.first_closed_at IS NOT NULL "
        "AND (f.first_closed_at AT TIME ZONE :tz)::date = (f.filed_at AT TIME ZONE :tz)::date",
        denominator=LIVE,
    ),
    Score(
        "mean_handling_hours",
        "Mean handling time (hours)",
        "mean",
        higher_is_better=False,
        numerator=HANDLING_SECONDS,
        denominator=f"{LIVE} AND f.state = 'closed'",
    ),
    Score(
        "median_handling_hours",
        "Median handling time (hours)",
        "median",
        higher_is_better=False,
        numerator=HANDLING_BUCKET,
        denominator=f"{LIVE} AND f.state = 'closed'",
    ),
    Score(
        "first_contact_rate",
        "First contact within limit (1515 先行联系)",
        "rate",
        numerator=f"{LIVE} AND f.first_contact_on_time",
        denominator=f"{LIVE} AND f.first_contact_at IS NOT NULL",
        pending="first_contact",
    ),
    Score(
        "on_time_filing_rate",
        "On-time filing (按时立案率)",
        "rate",
        numerator=f"{LIVE} AND f.filed_at - f.received_at <= make_interval(mins => CAST(:filing_limit_minutes AS int))",
        denominator=f"{LIVE} AND f.received_at IS NOT NULL",
    ),
    Score(
        "accurate_dispatch_rate",
        "Accurate dispatch (准确派遣率)",
        "rate",
        "dispatch",
        numerator="d.returned_at IS NULL",
        denominator="true",
    ),
    Score(
        "on_time_closing_rate",
        "On-time closing (按时结案率)",
        "rate",
        numerator=f"{LIVE} AND f.state = 'closed' AND f.closed_at <= coalesce(f.verify_due_at, "
        "f.handled_at + make_interval(secs => CAST(:closing_limit_hours AS float8) * 3600))",
        denominator=f"{LIVE} AND f.state = 'closed'",
    ),
    Score(
        "whistle_checkin_rate",
        "Whistle check-in within limit (吹哨报到)",
        "rate",
        "checkin",
        numerator="w.checked_in_at IS NOT NULL AND w.checked_in_at <= w.due_at",
        denominator="w.checked_in_at IS NOT NULL",
        pending="checkin",
    ),
    Score(
        "whistle_closure_rate",
        "Whistle cases closed (professionalism)",
        "rate",
        "checkin",
        numerator="f.state = 'closed'",
        denominator="true",
    ),
    Score(
        "whistle_satisfaction_rate",
        "Whistle cases satisfaction",
        "rate",
        "checkin",
        numerator=SATISFIED,
        denominator="f.satisfaction IS NOT NULL",
    ),
    Score(
        "street_rating_rate",
        "Street assessment of departments (街道考核)",
        "rate",
        "dispatch",
        numerator="d.street_rating IN ('satisfied', 'basic')",
        denominator="d.street_rating IS NOT NULL",
    ),
    Score(
        "whistle_rating_rate",
        "Street assessment of summoned departments (吹哨考核)",
        "rate",
        "checkin",
        numerator="w.street_rating IN ('satisfied', 'basic')",
        denominator="w.street_rating IS NOT NULL",
    ),
    # tiered handling (分级分层处置): 小事不出社区, and how often cases move between levels
    Score(
        "community_closure_rate",
        "Community closure without upward report (小事不出社区)",
        "rate",
        numerator=f"{LIVE} AND f.ever_community AND f.state = 'closed' AND f.level = 'community' "
        "AND NOT f.reported_up_from_community",
        denominator=f"{LIVE} AND f.ever_community",
    ),
    Score(
        "report_up_rate",
        "Upward report rate (上报率)",
        "rate",
        higher_is_better=False,
        numerator=f"{LIVE} AND f.ever_below_district AND f.reported_up_count > 0",
        denominator=f"{LIVE} AND f.ever_below_district",
    ),
    Score(
        "delegation_rate",
        "Delegation rate (下派率)",
        "rate",
        numerator=f"{LIVE} AND f.delegated_count > 0",
        denominator=LIVE,
    ),
    Score("composite_score", "Composite department score (GB/T 30428.4 style, 0-100)", "composite"),
)
BY_NAME: dict[str, Score] = {s.name: s for s in SCORES}
COMPOSABLE: frozenset[str] = frozenset(s.name for s in SCORES if s.kind == "rate")
RATES: tuple[str, ...] = tuple(s.name for s in SCORES if s.kind == "rate")


@dataclass(frozen=True)
class Measure:
    """One additive column of the rollup: the sum over a source's rows of `expression`."""

    name: str
    source: Source
    expression: str
    numeric: bool = False


def _measures() -> tuple[Measure, ...]:
    # a group exists when it has a case, a live dispatch or a live summons (as the per-row scan had it)
    out = [
        Measure("case_rows", "case", "1"),
        Measure("dispatch_rows", "dispatch", "1"),
        Measure("checkin_rows", "checkin", "1"),
    ]
    for s in SCORES:
        if s.kind == "count" and s.numerator:
            out.append(Measure(s.name, s.source, s.numerator))
        elif s.kind == "rate":
            out += [
                Measure(f"{s.name}_num", s.source, _when(s.numerator)),
                Measure(f"{s.name}_den", s.source, _when(s.denominator)),
            ]
        elif s.kind == "mean":
            out += [
                Measure(
                    f"{s.name}_sum", s.source, f"CASE WHEN {s.denominator} THEN {s.numerator} ELSE 0 END", numeric=True
                ),
                Measure(f"{s.name}_n", s.source, _when(s.denominator)),
            ]
    return tuple(out)


MEASURES: tuple[Measure, ...] = _measures()
LIVE_ONLY: dict[Source, str] = {"case": "true", "dispatch": LIVE, "checkin": LIVE}
"""Dispatches and summonses of withdrawn cases are left out of every score."""
MEDIAN: Score = next(s for s in SCORES if s.kind == "median")


class Dimension(StrEnum):
    TOTAL = "total"
    DEPARTMENT = "department"
    STREET = "street"
    COMMUNITY = "community"
    CELL = "cell"
    CATEGORY = "category"
    CHANNEL = "channel"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_CASE_COLUMN = {
    Dimension.DEPARTMENT: "department_code",
    Dimension.STREET: "street_code",
    Dimension.COMMUNITY: "community_code",
    Dimension.CELL: "cell_code",
    Dimension.CATEGORY: "category_code",
    Dimension.CHANNEL: "channel",
}
_OWN_DEPARTMENT = {"case": "f.department_code", "dispatch": "d.department_code", "checkin": "w.department_code"}
_PERIOD_FORMAT = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"}
FILTERS: tuple[str, ...] = ("department", "street", "community", "cell", "category", "channel")

ROLLUP_KEY: dict[Dimension, str] = {
    Dimension.DEPARTMENT: "department",
    Dimension.STREET: "street",
    Dimension.COMMUNITY: "community",
    Dimension.CATEGORY: "category",
    Dimension.CHANNEL: "channel",
}
"""The rollups' grain besides the filing period: every dimension and filter of /v1/kpis but the grid cell.

A cell (≈ 100 m) has a handful of cases a day, so a cell rollup would be as big as the facts it
sums; cell questions (hot spots, a cell's scores) read the facts of their cell or period instead.
Street and community are functionally one column (a community lies in one street) and cost no rows.
"""
SCOREBOARD_DIMENSIONS: tuple[str, ...] = ("total", "department", "street")
"""Dimensions with their own median histogram (`scoreboard_histogram`): the scoreboards' questions.
Other dimensions, and any filtered question, add up the full `handling_histogram`."""
_OWN_HISTOGRAM = {
    Dimension.TOTAL: "total",
    Dimension.DAY: "total",
    Dimension.WEEK: "total",
    Dimension.MONTH: "total",
    Dimension.DEPARTMENT: "department",
    Dimension.STREET: "street",
}
GRAINS: tuple[tuple[str, str], ...] = (("d", "day"), ("m", "month"), ("y", "year"))
"""Rollup rows per filing day, month and year: any window is a few year, month and day rows plus
the facts of its two partial days, so all time costs about as much as one month."""


def period_expr(interval: str, column: str = "f.filed_at") -> str:
    """The local calendar period of a time as text: a day, the Monday of its week, or a month."""
    return f"to_char(date_trunc('{interval}', {column} AT TIME ZONE :tz), '{_PERIOD_FORMAT[interval]}')"


def _rollup_period(interval: str) -> str:
    return f"to_char(date_trunc('{interval}', r.period::timestamp), '{_PERIOD_FORMAT[interval]}')"


def uses_rollup(dimension: Dimension, filters: Mapping[str, str] | None = None) -> bool:
    """Whether the rollups hold this question's grain (every dimension and filter but the grid cell)."""
    return dimension is not Dimension.CELL and "cell" not in (filters or {})


def _key(dimension: Dimension, source: Source) -> str:
    if dimension is Dimension.TOTAL:
        return "'all'"
    if dimension is Dimension.DEPARTMENT:
        return _OWN_DEPARTMENT[source]
    if dimension.value in _PERIOD_FORMAT:
        return period_expr(dimension.value)
    return f"f.{_CASE_COLUMN[dimension]}"


def _rollup_key(dimension: Dimension) -> str:
    if dimension is Dimension.TOTAL:
        return "'all'"
    if dimension.value in _PERIOD_FORMAT:
        return _rollup_period(dimension.value)
    return f"r.{ROLLUP_KEY[dimension]}"


def _final_items(score: Score, config: ScoringConfig) -> list[str]:
    n = score.name
    if score.kind == "rate":
        return [
            f"coalesce({n}_num, 0) AS {n}_num",
            f"coalesce({n}_den, 0) AS {n}_den",
            f"{n}_num::float8 / NULLIF({n}_den, 0) AS {n}",
        ]
    if score.kind in ("mean", "median"):
        return [f"{n}::float8 AS {n}", f"coalesce({n}_den, 0) AS {n}_den"]
    if score.kind == "count":
        return [f"coalesce({n}, 0) AS {n}"]
    return [f"{composite_expr(config)} AS {n}"]


def composite_expr(config: ScoringConfig) -> str:
    """Weighted mean of the configured rates a group has a denominator for, scaled to 0-100."""
    weighted, weights = [], []
    for name, w in sorted(config.composite.items()):
        rate = f"({name}_num::float8 / NULLIF({name}_den, 0))"
        value = f"(1 - {rate})" if w.invert else rate
        weighted.append(f"coalesce({w.weight!r} * {value}, 0)")
        weights.append(f"CASE WHEN {name}_den > 0 THEN {w.weight!r} ELSE 0 END")
    return f"100 * ({' + '.join(weighted)}) / NULLIF({' + '.join(weights)}, 0)"


def _filters(active: Mapping[str, str], source: Source) -> str:
    clauses = []
    for name in FILTERS:
        if name not in active:
            continue
        if name == "department":
            clauses.append(f"{_OWN_DEPARTMENT[source]} = :department")
        else:
            clauses.append(f"f.{_CASE_COLUMN[Dimension(name)]} = :{name}")
    return "".join(f" AND {c}" for c in clauses)


def _rollup_filters(active: Mapping[str, str]) -> str:
    return "".join(f" AND r.{ROLLUP_KEY[Dimension(name)]} = :{name}" for name in FILTERS if name in active)


def _ceil(x: str, unit: str) -> str:
    return (
        f"CASE WHEN date_trunc('{unit}', {x}) = {x} THEN {x} ELSE date_trunc('{unit}', {x}) + interval '1 {unit}' END"
    )


# The window's whole local days [d0, d1), months [m0, m1) and years [y0, y1), and as times e0, e1: the
# partial days [from, e0) and [e1, to) come from the facts. One row, computed once per query.
_BOUNDS = (
    "bounds AS MATERIALIZED (SELECT d0, d1, m0, m1, y0, y1, d0 AT TIME ZONE :tz AS e0, d1 AT TIME ZONE :tz AS e1 "
    "FROM (SELECT CAST(:from AS timestamptz) AT TIME ZONE :tz AS lf, "
    "CAST(:to AS timestamptz) AT TIME ZONE :tz AS lt) a, "
    f"LATERAL (SELECT {_ceil('lf', 'day')} AS d0, date_trunc('day', lt) AS d1) b, "
    f"LATERAL (SELECT {_ceil('d0', 'month')} AS m0, date_trunc('month', d1) AS m1) c, "
    f"LATERAL (SELECT {_ceil('m0', 'year')} AS y0, date_trunc('year', m1) AS y1) e)"
)


def _b(expression: str) -> str:
    return f"(SELECT {expression} FROM bounds)"


def _rollup_ranges(top: str) -> list[tuple[str, str, str]]:
    """(grain, from, to) ranges of rollup rows that tile the window's whole days without overlap."""
    if top == "d":
        return [("d", "d0", "d1")]
    days = [("d", "d0", "least(d1, m0)"), ("d", "greatest(m0, m1)", "d1")]
    if top == "m":
        return [*days, ("m", "m0", "m1")]
    return [*days, ("m", "m0", "least(m1, y0)"), ("m", "greatest(y0, y1)", "m1"), ("y", "y0", "y1")]


def _columns() -> list[str]:
    return [m.name for m in MEASURES] + [f"pending_{name}" for name in PENDING]


_SOURCE_FROM = {
    "dispatch": "analytics.dispatches d JOIN {cohort} f ON f.case_id = d.case_id",
    "checkin": "analytics.checkins w JOIN {cohort} f ON f.case_id = w.case_id",
}
_SOURCE_FILED = {"case": "f.filed_at", "dispatch": "d.filed_at", "checkin": "w.filed_at"}


def build(
    config: ScoringConfig,
    dimension: Dimension = Dimension.TOTAL,
    *,
    interval: Interval | None = None,
    filters: Mapping[str, str] | None = None,
) -> str:
    """One SELECT giving, per (period, key), every score's numerator, denominator and value.

    Whole days come from the rollups (unless the question is about grid cells), partial days from
    the facts, and the as-of parts from the pending rows. Bind parameters: `:from`, `:to`, `:as_of`,
    `:tz`, `:filing_limit_minutes`, `:closing_limit_hours` and one per filter used (see `params`).
    """
    active = dict(filters or {})
    rollup = uses_rollup(dimension, active)
    columns = _columns()
    period = period_expr(interval.value) if interval else "''"
    grouping = interval.value if interval else dimension.value if dimension.value in _PERIOD_FORMAT else ""
    top = {"day": "d", "week": "d", "month": "m"}.get(grouping, "y")
    department = {
        src: _filters({"department": active["department"]}, src) if "department" in active else ""
        for src in ("case", "dispatch", "checkin")
    }
    case_filter = _filters({k: v for k, v in active.items() if k != "department"}, "case")
    if rollup:
        edges = [(":from", f"least({_b('e0')}, :to)"), (f"greatest({_b('e1')}, {_b('e0')}, :from)", ":to")]
    else:
        edges = [(":from", ":to")]

    def in_edges(column: str) -> str:
        return "(" + " OR ".join(f"({column} >= {lo} AND {column} < {hi})" for lo, hi in edges) + ")"

    parts = [
        f"WITH {_BOUNDS}",
        ", cohort AS NOT MATERIALIZED ("
        + " UNION ALL ".join(
            f"SELECT f.* FROM analytics.case_facts f WHERE f.filed_at >= {lo} AND f.filed_at < {hi}{case_filter}"
            for lo, hi in edges
        )
        + ")",
    ]
    selects: list[str] = []
    if rollup:
        key = f"coalesce({_rollup_key(dimension)}, '')"
        rperiod = _rollup_period(interval.value) if interval else "''"
        items = ", ".join(f"sum(r.{c}) AS {c}" if c in _ROLLUP_COLUMNS else f"0 AS {c}" for c in columns)
        rows = " UNION ALL ".join(
            f"SELECT * FROM analytics.score_rollup r WHERE r.grain = '{g}' AND r.period >= {_b(lo)} "
            f"AND r.period < {_b(hi)}{_rollup_filters(active)}"
            for g, lo, hi in _rollup_ranges(top)
        )
        selects.append(f"SELECT {rperiod} AS p, {key} AS k, {items} FROM ({rows}) r GROUP BY 1, 2")
    for source in ("case", "dispatch", "checkin"):
        key = f"coalesce({_key(dimension, source)}, '')"
        own = {m.name: m for m in MEASURES if m.source == source}
        items = ", ".join(f"sum({own[c].expression}) AS {c}" if c in own else f"0 AS {c}" for c in columns)
        origin = "cohort f" if source == "case" else _SOURCE_FROM[source].format(cohort="cohort")
        where = f"{LIVE_ONLY[source]}{department[source]}"
        if source != "case":
            where += f" AND {in_edges(_SOURCE_FILED[source])}"
        selects.append(f"SELECT {period} AS p, {key} AS k, {items} FROM {origin} WHERE {where} GROUP BY 1, 2")
    for name, pending in PENDING.items():
        key = f"coalesce({_key(dimension, pending.source)}, '')"
        items = ", ".join("count(*)" if c == f"pending_{name}" else "0" for c in columns)
        origin = (
            "analytics.case_facts f"
            if pending.source == "case"
            else _SOURCE_FROM[pending.source].format(cohort="analytics.case_facts")
        )
        filed = _SOURCE_FILED[pending.source]
        selects.append(
            f"SELECT {period} AS p, {key} AS k, {items} FROM {origin} WHERE {pending.condition} "
            f"AND {pending.due} < :as_of AND {filed} >= :from AND {filed} < :to AND {LIVE}"
            f"{case_filter}{department[pending.source]} GROUP BY 1, 2"
        )
    rows_exist = " + ".join(f"sum({c})" for c in ("case_rows", "dispatch_rows", "checkin_rows"))
    parts.append(
        ", totals AS (SELECT p, k, "
        + ", ".join(f"sum({c}) AS {c}" for c in columns)
        + f" FROM ({' UNION ALL '.join(selects)}) parts GROUP BY p, k HAVING {rows_exist} > 0)"
    )
    # the median: histogram counts per bucket from the rollups plus the partial days' facts
    hist = []
    if rollup:
        key = f"coalesce({_rollup_key(dimension)}, '')"
        rperiod = _rollup_period(interval.value) if interval else "''"
        if active or dimension not in _OWN_HISTOGRAM:  # the histogram of every group
            source, where = "analytics.handling_histogram r", _rollup_filters(active)
        else:  # the scoreboard's one dimension: its own, much smaller histogram
            source, key = "analytics.scoreboard_histogram r", "r.value" if dimension in ROLLUP_KEY else key
            where = f" AND r.dimension = '{_OWN_HISTOGRAM[dimension]}'"
        hist += [
            f"SELECT {rperiod} AS p, {key} AS k, r.bucket AS b, sum(r.n) AS n FROM {source} "
            f"WHERE r.grain = '{g}' AND r.period >= {_b(lo)} AND r.period < {_b(hi)}{where} "
            "GROUP BY 1, 2, 3"
            for g, lo, hi in _rollup_ranges(top)
        ]
    hist.append(
        f"SELECT {period} AS p, coalesce({_key(dimension, 'case')}, '') AS k, {MEDIAN.numerator} AS b, "
        f"count(*) AS n FROM cohort f WHERE {MEDIAN.denominator}{department['case']} GROUP BY 1, 2, 3"
    )
    parts.append(
        f", hist AS (SELECT p, k, b, sum(n) AS n FROM ({' UNION ALL '.join(hist)}) h "
        "GROUP BY 1, 2, 3 HAVING sum(n) > 0)"
    )
    parts.append(
        ", cum AS (SELECT p, k, b, sum(n) OVER (PARTITION BY p, k ORDER BY b) AS upto, "
        "sum(n) OVER (PARTITION BY p, k) AS total FROM hist)"
    )
    parts.append(
        ", med AS (SELECT p, k, max(total) AS n, min(b) FILTER (WHERE upto >= floor((total + 1) / 2)) AS b1, "
        "min(b) FILTER (WHERE upto >= floor(total / 2) + 1) AS b2 FROM cum GROUP BY p, k)"
    )
    scored = []
    for s in SCORES:
        n = s.name
        extra = f" + pending_{s.pending}" if s.pending else ""
        if s.kind == "rate":
            scored += [f"{n}_num", f"{n}_den{extra} AS {n}_den"]
        elif s.kind == "count":
            scored.append(f"{n}{extra} AS {n}" if s.numerator else f"pending_{s.pending} AS {n}")
        elif s.kind == "mean":
            scored += [f"{n}_sum / NULLIF({n}_n, 0) / 3600.0 AS {n}", f"{n}_n AS {n}_den"]
        elif s.kind == "median":
            scored += [
                f"({bucket_value_sql('b1')} + {bucket_value_sql('b2')}) / 2 AS {n}",
                f"coalesce(med.n, 0) AS {n}_den",
            ]
    parts.append(f", scored AS (SELECT p, k, {', '.join(scored)} FROM totals LEFT JOIN med USING (p, k))")
    final = [i for s in SCORES for i in _final_items(s, config)]
    parts.append(f" SELECT NULLIF(p, '') AS period, NULLIF(k, '') AS key, {', '.join(final)} FROM scored ORDER BY p, k")
    return "".join(parts)


_ROLLUP_COLUMNS: frozenset[str] = frozenset(m.name for m in MEASURES)


def params(
    config: ScoringConfig, start: datetime, end: datetime, as_of: datetime, filters: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "from": start,
        "to": end,
        "as_of": as_of,
        "tz": config.timezone,
        "filing_limit_minutes": config.filing_limit_minutes,
        "closing_limit_hours": float(config.closing_limit_hours),
        **(filters or {}),
    }


@dataclass(frozen=True)
class Value:
    value: float | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class Row:
    period: str | None
    key: str | None
    scores: dict[str, Value]


def _row(mapping: Mapping[str, Any]) -> Row:
    values: dict[str, Value] = {}
    for s in SCORES:
        n = s.name
        if s.kind == "rate":
            values[n] = Value(mapping[n], mapping[f"{n}_num"], mapping[f"{n}_den"])
        elif s.kind in ("mean", "median"):
            values[n] = Value(mapping[n], None, mapping[f"{n}_den"])
        else:
            values[n] = Value(None if mapping[n] is None else float(mapping[n]))
    return Row(mapping["period"], mapping["key"], values)


async def compute(
    session: AsyncSession,
    config: ScoringConfig,
    dimension: Dimension,
    start: datetime,
    end: datetime,
    as_of: datetime,
    *,
    interval: Interval | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[Row]:
    sql = build(config, dimension, interval=interval, filters=filters)
    await session.execute(text(SET_WORK_MEM))
    result = await session.execute(text(sql), params(config, start, end, as_of, filters))
    return [_row(dict(m)) for m in result.mappings()]


def grafana_sql(
    config: ScoringConfig,
    dimension: Dimension,
    columns: Sequence[str],
    *,
    start: str = "$__timeFrom()",
    end: str = "$__timeTo()",
    key: str | None = None,
) -> str:
    """The scoreboard query for a Grafana PostgreSQL panel: the dashboard's time range (or the SQL
    expressions `start`, `end`), now() as of; `key` replaces the group column (default: named after the dimension)."""
    sql = build(config, dimension)
    literals = {
        ":from": start,
        ":to": end,
        ":as_of": "now()",
        ":tz": f"'{config.timezone}'",
        ":filing_limit_minutes": str(config.filing_limit_minutes),
        ":closing_limit_hours": repr(float(config.closing_limit_hours)),
    }
    for param, literal in sorted(literals.items(), key=lambda kv: -len(kv[0])):
        sql = sql.replace(param, literal)
    return f"SELECT {key or f'key AS {dimension.value}'}, {', '.join(columns)} FROM ({sql}) s"
