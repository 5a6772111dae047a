"""Every score of docs/metrics.md, once, as SQL over the read model: the production path.

A score is a numerator and a denominator (both counts of rows matching a condition), a mean or
median of a value, or a plain count. Scores come from three row sources: `case` (one row per case
in `case_facts`), `dispatch` (one row per dispatch) and `checkin` (one row per department summoned
by a whistle). Every source is restricted to the cohort of cases filed in [from, to) that match the
filters; the `department` dimension and filter use each source's own department (the case's latest
department, the dispatch's department, the summoned department).

`build(…)` returns one SELECT with a row per group: the API, the CSV export, the Grafana
scoreboard and the benchmark all run this same text.
"""

from __future__ import annotations

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
HANDLING_SECONDS = "extract(epoch FROM f.closed_at - f.filed_at) - f.suspended_seconds::numeric"


# the median sorts every closed case of the period: at the default 4MB a month of a big city spills to disk
SET_WORK_MEM = "SET LOCAL work_mem = '64MB'"


@dataclass(frozen=True)
class Score:
    name: str
    title: str
    kind: Kind
    source: Source = "case"
    numerator: str = ""
    """rate: condition counted; mean/median: value in hours; count: aggregate expression."""
    denominator: str = ""
    """rate: condition counted; mean/median: which rows are averaged."""
    higher_is_better: bool = True


SCORES: tuple[Score, ...] = (
    Score("cases", "Cases filed", "count", numerator="count(*)"),
    Score("withdrawn", "Cases withdrawn", "count", numerator="count(*) FILTER (WHERE f.withdrawn_at IS NOT NULL)",
          higher_is_better=False),
    Score("closed", "Cases closed", "count", numerator=f"count(*) FILTER (WHERE {LIVE} AND f.state = 'closed')"),
    Score("open", "Cases open", "count", numerator=f"count(*) FILTER (WHERE {LIVE} AND f.state <> 'closed')",
          higher_is_better=False),
    Score("overdue", "Cases overdue", "count", higher_is_better=False, numerator=(
        f"count(*) FILTER (WHERE {LIVE} AND f.state NOT IN ('closed', 'suspended') AND f.handled_at IS NULL "
        "AND f.handle_due_at < :as_of)")),
    Score("merged_reports", "Reports merged into cases", "count",
          numerator="coalesce(sum(f.merged_report_count), 0)"),
    Score("reopened", "Cases reopened", "count", numerator="count(*) FILTER (WHERE f.reopen_count > 0)",
          higher_is_better=False),
    Score("extended", "Cases extended", "count", numerator="count(*) FILTER (WHERE f.extension_count > 0)"),
    Score("escalations", "Escalations (督办)", "count", numerator="coalesce(sum(f.escalation_count), 0)",
          higher_is_better=False),
    Score("response_rate", "Response rate (响应率)", "rate", "dispatch",
          numerator="d.responded_at IS NOT NULL AND (d.acknowledge_due_at IS NULL "
                    "OR d.responded_at <= d.acknowledge_due_at)",
          denominator="d.responded_at IS NOT NULL OR d.acknowledge_due_at < :as_of"),
    Score("on_time_handling_rate", "On-time handling rate (按期处置率)", "rate",
          numerator=f"{LIVE} AND f.handled_at IS NOT NULL AND (f.handle_due_at IS NULL "
                    "OR f.handled_at <= f.handle_due_at)",
          denominator=f"{LIVE} AND (f.handled_at IS NOT NULL "
                      "OR (f.handle_due_at < :as_of AND f.state NOT IN ('closed', 'suspended')))"),
    Score("closure_rate", "Closure rate (办结率)", "rate",
          numerator=f"{LIVE} AND f.state = 'closed'", denominator=LIVE),
    Score("satisfaction_rate", "Satisfaction rate (满意率)", "rate",
          numerator=f"{LIVE} AND {SATISFIED}", denominator=f"{LIVE} AND f.satisfaction IS NOT NULL"),
    Score("rework_rate", "Rework rate (返工率)", "rate", higher_is_better=False,
          numerator=f"{LIVE} AND f.first_handled_at IS NOT NULL "
                    "AND f.failed_verification_count + f.reopen_count > 0",
          denominator=f"{LIVE} AND f.first_handled_at IS NOT NULL"),
    Score("same_day_closure_rate", "Same-day closure (当日清)", "rate",
          numerator=f"{LIVE} AND f.reopen_count = 0 AND f.first_closed_at IS NOT NULL "
                    "AND (f.first_closed_at AT TIME ZONE :tz)::date = (f.filed_at AT TIME ZONE :tz)::date",
          denominator=LIVE),
    Score("mean_handling_hours", "Mean handling time (hours)", "mean", higher_is_better=False,
          numerator=f"({HANDLING_SECONDS}) / 3600.0", denominator=f"{LIVE} AND f.state = 'closed'"),
    Score("median_handling_hours", "Median handling time (hours)", "median", higher_is_better=False,
          numerator=f"({HANDLING_SECONDS}) / 3600.0", denominator=f"{LIVE} AND f.state = 'closed'"),
    Score("first_contact_rate", "First contact within limit (1515 先行联系)", "rate",
          numerator=f"{LIVE} AND f.first_contact_on_time",
          denominator=f"{LIVE} AND (f.first_contact_at IS NOT NULL OR f.first_contact_due_at < :as_of)"),
    Score("on_time_filing_rate", "On-time filing (按时立案率)", "rate",
          numerator=f"{LIVE} AND f.filed_at - f.received_at "
                    "<= make_interval(mins => CAST(:filing_limit_minutes AS int))",
          denominator=f"{LIVE} AND f.received_at IS NOT NULL"),
    Score("accurate_dispatch_rate", "Accurate dispatch (准确派遣率)", "rate", "dispatch",
          numerator="d.returned_at IS NULL", denominator="true"),
    Score("on_time_closing_rate", "On-time closing (按时结案率)", "rate",
          numerator=f"{LIVE} AND f.state = 'closed' AND f.closed_at <= coalesce(f.verify_due_at, "
                    "f.handled_at + make_interval(secs => CAST(:closing_limit_hours AS float8) * 3600))",
          denominator=f"{LIVE} AND f.state = 'closed'"),
    Score("whistle_checkin_rate", "Whistle check-in within limit (吹哨报到)", "rate", "checkin",
          numerator="w.checked_in_at IS NOT NULL AND w.checked_in_at <= w.due_at",
          denominator="w.checked_in_at IS NOT NULL OR w.due_at < :as_of"),
    Score("whistle_closure_rate", "Whistle cases closed (professionalism)", "rate", "checkin",
          numerator="f.state = 'closed'", denominator="true"),
    Score("whistle_satisfaction_rate", "Whistle cases satisfaction", "rate", "checkin",
          numerator=SATISFIED, denominator="f.satisfaction IS NOT NULL"),
    Score("composite_score", "Composite department score (GB/T 30428.4 style, 0-100)", "composite"),
)
BY_NAME: dict[str, Score] = {s.name: s for s in SCORES}
COMPOSABLE: frozenset[str] = frozenset(s.name for s in SCORES if s.kind == "rate")
RATES: tuple[str, ...] = tuple(s.name for s in SCORES if s.kind == "rate")


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
    Dimension.DEPARTMENT: "department_code", Dimension.STREET: "street_code", Dimension.COMMUNITY: "community_code",
    Dimension.CELL: "cell_code", Dimension.CATEGORY: "category_code", Dimension.CHANNEL: "channel",
}
_OWN_DEPARTMENT = {"case": "f.department_code", "dispatch": "d.department_code", "checkin": "w.department_code"}
_PERIOD_FORMAT = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"}
FILTERS: tuple[str, ...] = ("department", "street", "community", "cell", "category", "channel")


def period_expr(interval: str, column: str = "f.filed_at") -> str:
    """The local calendar period of a time as text: a day, the Monday of its week, or a month."""
    return f"to_char(date_trunc('{interval}', {column} AT TIME ZONE :tz), '{_PERIOD_FORMAT[interval]}')"


def _key(dimension: Dimension, source: Source) -> str:
    if dimension is Dimension.TOTAL:
        return "'all'"
    if dimension is Dimension.DEPARTMENT:
        return _OWN_DEPARTMENT[source]
    if dimension.value in _PERIOD_FORMAT:
        return period_expr(dimension.value)
    return f"f.{_CASE_COLUMN[dimension]}"


def _select_items(score: Score) -> list[str]:
    n = score.name
    if score.kind == "rate":
        return [f"count(*) FILTER (WHERE {score.numerator}) AS {n}_num",
                f"count(*) FILTER (WHERE {score.denominator}) AS {n}_den"]
    if score.kind == "mean":
        return [f"avg({score.numerator}) FILTER (WHERE {score.denominator}) AS {n}",
                f"count(*) FILTER (WHERE {score.denominator}) AS {n}_den"]
    if score.kind == "median":
        return [f"percentile_cont(0.5) WITHIN GROUP (ORDER BY ({score.numerator})::float8) FILTER "
                f"(WHERE {score.denominator}) AS {n}",
                f"count(*) FILTER (WHERE {score.denominator}) AS {n}_den"]
    return [f"{score.numerator} AS {n}"]


def _final_items(score: Score, config: ScoringConfig) -> list[str]:
    n = score.name
    if score.kind == "rate":
        return [f"coalesce({n}_num, 0) AS {n}_num", f"coalesce({n}_den, 0) AS {n}_den",
                f"{n}_num::float8 / NULLIF({n}_den, 0) AS {n}"]
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


_FROM = {
    "case": "analytics.case_facts f",
    # the copied filed_at restricts each table by its own index before the join, instead of the join
    # reading the whole table to find the cohort's rows
    "dispatch": "analytics.dispatches d JOIN cohort f ON f.case_id = d.case_id "
                "AND d.filed_at >= :from AND d.filed_at < :to",
    "checkin": "analytics.checkins w JOIN cohort f ON f.case_id = w.case_id "
               "AND w.filed_at >= :from AND w.filed_at < :to",
}


def build(
    config: ScoringConfig,
    dimension: Dimension = Dimension.TOTAL,
    *,
    interval: Interval | None = None,
    filters: Mapping[str, str] | None = None,
) -> str:
    """One SELECT giving, per (period, key), every score's numerator, denominator and value.

    Bind parameters: `:from`, `:to`, `:as_of`, `:tz`, `:filing_limit_minutes`, `:closing_limit_hours`
    and one per filter used (see `params`).
    """
    active = dict(filters or {})
    cohort_filter = _filters({k: v for k, v in active.items() if k != "department"}, "case")
    parts = [
        "WITH cohort AS NOT MATERIALIZED (SELECT f.* FROM analytics.case_facts f "
        f"WHERE f.filed_at >= :from AND f.filed_at < :to{cohort_filter})"
    ]
    sources: tuple[Source, ...] = ("case", "dispatch", "checkin")
    for source in sources:
        period = period_expr(interval.value) if interval else "''"
        key = f"coalesce({_key(dimension, source)}, '')"
        items = [i for s in SCORES if s.source == source and s.kind not in ("composite", "median")
                 for i in _select_items(s)]
        origin = "cohort f" if source == "case" else _FROM[source]
        department = _filters({"department": active["department"]}, source) if "department" in active else ""
        where = f" WHERE {LIVE}" if source != "case" else ""
        where = (where + department) if where else (f" WHERE true{department}" if department else "")
        parts.append(f", {source}_scores AS (SELECT {period} AS p, {key} AS k, {', '.join(items)} "
                     f"FROM {origin}{where} GROUP BY 1, 2)")
    # an ordered-set aggregate forces sorting every row; on its own, over only the rows it needs, it
    # leaves the big aggregate above free to hash and run in parallel
    medians = [s for s in SCORES if s.kind == "median"]
    for score in medians:
        period = period_expr(interval.value) if interval else "''"
        department = _filters({"department": active["department"]}, "case") if "department" in active else ""
        parts.append(f", {score.name}_scores AS (SELECT {period} AS p, coalesce({_key(dimension, 'case')}, '') AS k, "
                     f"{', '.join(_select_items(score))} FROM cohort f WHERE {score.denominator}{department} "
                     "GROUP BY 1, 2)")
    final = [i for s in SCORES for i in _final_items(s, config)]
    joins = "".join(f" FULL JOIN {name}_scores USING (p, k)"
                    for name in ("dispatch", "checkin", *(s.name for s in medians)))
    parts.append(
        f" SELECT NULLIF(p, '') AS period, NULLIF(k, '') AS key, {', '.join(final)} "
        f"FROM case_scores{joins} ORDER BY p, k"
    )
    return "".join(parts)


def params(config: ScoringConfig, start: datetime, end: datetime, as_of: datetime,
           filters: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"from": start, "to": end, "as_of": as_of, "tz": config.timezone,
            "filing_limit_minutes": config.filing_limit_minutes,
            "closing_limit_hours": float(config.closing_limit_hours), **(filters or {})}


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


def grafana_sql(config: ScoringConfig, dimension: Dimension, columns: Sequence[str]) -> str:
    """The scoreboard query for a Grafana PostgreSQL panel: the dashboard's time range, now() as of."""
    sql = build(config, dimension)
    literals = {
        ":from": "$__timeFrom()", ":to": "$__timeTo()", ":as_of": "now()", ":tz": f"'{config.timezone}'",
        ":filing_limit_minutes": str(config.filing_limit_minutes),
        ":closing_limit_hours": repr(float(config.closing_limit_hours)),
    }
    for param, literal in sorted(literals.items(), key=lambda kv: -len(kv[0])):
        sql = sql.replace(param, literal)
    return f"SELECT key AS {dimension.value}, {', '.join(columns)} FROM ({sql}) s"
