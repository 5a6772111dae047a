"""HTTP API of analytics: KPIs by dimension, rankings, time series, CSV, hot spots, recurrence, targets, indicators."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from analytics import hotspots as hs
from analytics import repository, schemas, service
from analytics.config import AnalyticsSettings, ScoringConfig
from analytics.scores import BY_NAME, SCORES, Dimension, Interval, Row, compute
from analytics.targets import Period, parse_period, validate
from shared.auth import Principal, Role, require
from shared.errors import Invalid, NotFound
from shared.service import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["analytics"])

Reader = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.DISPATCHER, Role.STREET, Role.DEPARTMENT))]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of("analytics"))]
CSV = "text/csv; charset=utf-8"
_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv` / `Accept: text/csv`"}
}


@dataclass(frozen=True)
class Question:
    window: service.TimeWindow
    filters: dict[str, str]
    csv: bool

    def echo(self) -> dict[str, object]:
        return {"from": self.window.start, "to": self.window.end, "as_of": self.window.as_of, "filters": self.filters}


def scoring(rt: ServiceRuntime) -> ScoringConfig:
    config: ScoringConfig = rt.services["scoring"]
    return config


async def question(
    request: Request,
    rt: Runtime,
    principal: Reader,
    from_: Annotated[str | None, Query(alias="from", description="ISO date or date-time, inclusive")] = None,
    to: Annotated[str | None, Query(description="ISO date or date-time, exclusive")] = None,
    as_of: Annotated[str | None, Query(description="count deadlines passed before this as missed; default now")] = None,
    department: str | None = None,
    street: str | None = None,
    community: str | None = None,
    cell: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv: same rows as CSV")] = None,
) -> Question:
    tz = ZoneInfo(scoring(rt).timezone)
    window = service.window(from_, to, as_of, now=rt.clock.now(), tz=tz)
    filters = service.scoped_filters(
        principal,
        {
            "department": department,
            "street": street,
            "community": community,
            "cell": cell,
            "category": category,
            "channel": channel,
        },
    )
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    return Question(window, filters, wants_csv)


Asked = Annotated[Question, Depends(question)]


def _score_names(names: list[str] | None) -> list[str] | None:
    for name in names or []:
        if name not in BY_NAME:
            raise Invalid(f"unknown score {name!r}; see GET /v1/kpis/definitions", field="score")
    return names or None


def _kpi_row(row: Row, names: list[str] | None = None) -> schemas.KpiRow:
    return schemas.KpiRow(
        period=row.period,
        key=row.key,
        scores={
            n: schemas.ScoreValue(value=v.value, numerator=v.numerator, denominator=v.denominator)
            for n, v in row.scores.items()
            if names is None or n in names
        },
    )


async def _rows(rt: ServiceRuntime, q: Question, dimension: Dimension, interval: Interval | None = None) -> list[Row]:
    async with rt.sessions() as session:
        rows = await compute(
            session,
            scoring(rt),
            dimension,
            q.window.start,
            q.window.end,
            q.window.as_of,
            interval=interval,
            filters=q.filters,
        )
    settings: AnalyticsSettings = rt.services["settings"]
    service.check_size(rows, settings.max_rows)
    return rows


def _csv(body: str, name: str) -> Response:
    return Response(body, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/kpis", response_model=schemas.KpiAnswer, responses=_CSV_DOC, summary="Every score per group")
async def kpis(
    rt: Runtime,
    q: Asked,
    dimension: Dimension = Dimension.TOTAL,
    score: Annotated[list[str] | None, Query(description="only these scores")] = None,
) -> object:
    names = _score_names(score)
    rows = await _rows(rt, q, dimension)
    if q.csv:
        return _csv(service.to_csv(rows, key_header=dimension.value, names=names), f"kpis-{dimension.value}")
    return schemas.KpiAnswer.model_validate(
        {**q.echo(), "dimension": dimension.value, "rows": [_kpi_row(r, names) for r in rows]}
    )


@router.get(
    "/kpis/ranking",
    response_model=schemas.Ranking,
    responses=_CSV_DOC,
    summary="Groups ranked by one score, best first",
)
async def ranking(
    rt: Runtime,
    q: Asked,
    score: str = "composite_score",
    dimension: Dimension = Dimension.DEPARTMENT,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> object:
    _score_names([score])
    ranked, unranked = service.rank(await _rows(rt, q, dimension), score)
    ranked = ranked[:limit]
    if q.csv:
        body = service.to_csv([r.row for r in ranked], key_header=dimension.value, ranks=[r.rank for r in ranked])
        return _csv(body, f"ranking-{score}-{dimension.value}")
    return schemas.Ranking.model_validate(
        {
            **q.echo(),
            "dimension": dimension.value,
            "score": score,
            "higher_is_better": BY_NAME[score].higher_is_better,
            "unranked": unranked,
            "rows": [{**_kpi_row(r.row).model_dump(), "rank": r.rank, "value": r.value} for r in ranked],
        }
    )


@router.get(
    "/kpis/series",
    response_model=schemas.Series,
    responses=_CSV_DOC,
    summary="Scores per day, week or month (optionally per group)",
)
async def series(
    rt: Runtime,
    q: Asked,
    interval: Interval = Interval.DAY,
    dimension: Dimension = Dimension.TOTAL,
    score: Annotated[list[str] | None, Query(description="only these scores")] = None,
) -> object:
    names = _score_names(score)
    rows = await _rows(rt, q, dimension, interval)
    if q.csv:
        return _csv(
            service.to_csv(rows, key_header=dimension.value, with_period=True, names=names),
            f"series-{interval.value}-{dimension.value}",
        )
    return schemas.Series.model_validate(
        {
            **q.echo(),
            "interval": interval.value,
            "dimension": dimension.value,
            "points": [_kpi_row(r, names) for r in rows],
        }
    )


@router.get("/kpis/definitions", response_model=schemas.Definitions, summary="What each score is (docs/metrics.md)")
async def definitions(rt: Runtime, _: Reader) -> schemas.Definitions:
    config = scoring(rt)
    return schemas.Definitions(
        scores=[
            schemas.ScoreDefinition(
                name=s.name,
                title=s.title,
                kind=s.kind,
                source=s.source,
                higher_is_better=s.higher_is_better,
                weight=config.composite[s.name].weight if s.name in config.composite else None,
            )
            for s in SCORES
        ],
        timezone=config.timezone,
        filing_limit_minutes=config.filing_limit_minutes,
        closing_limit_hours=config.closing_limit_hours,
        recurrence_days=config.recurrence_days,
    )


@router.get("/hotspots", response_model=schemas.Hotspots, summary="Cells with the most cases per category per week")
async def hotspots(
    rt: Runtime,
    q: Asked,
    top: Annotated[int, Query(ge=1, le=100)] = 5,
    days: Annotated[int | None, Query(ge=1, le=366, description="recurrence window")] = None,
) -> object:
    config = scoring(rt)
    days = days or config.recurrence_days
    async with rt.sessions() as session:
        rows = await hs.hotspots(
            session, q.window.start, q.window.end, tz=config.timezone, days=days, top=top, filters=q.filters
        )
    return schemas.Hotspots.model_validate({**q.echo(), "days": days, "top": top, "rows": rows})


@router.get(
    "/hotspots/recurrences",
    response_model=schemas.Recurrences,
    summary="Cases recurring (回潮) in the same cell and category within N days after a closure",
)
async def recurrences(
    rt: Runtime,
    q: Asked,
    days: Annotated[int | None, Query(ge=1, le=366, description="default from scoring.yaml")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> object:
    days = days or scoring(rt).recurrence_days
    async with rt.sessions() as session:
        rows = await hs.recurrences(session, q.window.start, q.window.end, days=days, limit=limit, filters=q.filters)
    return schemas.Recurrences.model_validate({**q.echo(), "days": days, "rows": rows})


Planner = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]


def _period(rt: ServiceRuntime, raw: str) -> Period:
    return parse_period(raw, ZoneInfo(scoring(rt).timezone))


@router.put("/targets", response_model=schemas.Target, summary="Set (or change) the target of a score for a period")
async def set_target(rt: Runtime, who: Planner, body: schemas.TargetIn) -> object:
    """One target per (score, scope, unit, period); setting it again changes it. Every change is recorded
    with who made it (GET /v1/targets/{id}/changes)."""
    _period(rt, body.period)
    validate(body.score, body.scope, body.unit, body.value)
    row = {
        "target_id": uuid.uuid4().hex,
        "score": body.score,
        "scope": body.scope,
        "unit": body.unit or "",
        "period": body.period.strip(),
        "value": body.value,
        "note": body.note,
        "set_by": who.subject,
        "set_at": rt.clock.now(),
    }
    async with rt.sessions() as session, session.begin():
        stored, _ = await repository.set_target(session, row)
    return {**stored, "unit": stored["unit"] or None}


@router.get("/targets", response_model=list[schemas.Target], summary="Targets, optionally of one period")
async def list_targets(rt: Runtime, principal: Reader, period: str | None = None) -> object:
    if period is not None:
        _period(rt, period)
    async with rt.sessions() as session:
        rows = await repository.targets(session, period)
    return [{**r, "unit": r["unit"] or None} for r in service.visible_targets(principal, rows)]


@router.delete("/targets/{target_id}", status_code=204, summary="Withdraw a target (recorded)")
async def delete_target(rt: Runtime, who: Planner, target_id: str) -> Response:
    async with rt.sessions() as session, session.begin():
        if await repository.delete_target(session, target_id, who.subject, rt.clock.now()) is None:
            raise NotFound(f"no target {target_id}", field="target_id")
    return Response(status_code=204)


@router.get(
    "/targets/{target_id}/changes",
    response_model=list[schemas.TargetChange],
    summary="Who set, changed or withdrew a target, and when",
)
async def target_changes(rt: Runtime, _: Planner, target_id: str) -> object:
    async with rt.sessions() as session:
        rows = await repository.target_changes(session, target_id)
    if not rows:
        raise NotFound(f"no target {target_id}", field="target_id")
    return rows


@router.get(
    "/targets/progress",
    response_model=schemas.TargetProgressAnswer,
    summary="Each target of a period: actual, target, gap, projection to the period's end, at risk",
)
async def target_progress(
    rt: Runtime, principal: Reader, period: Annotated[str, Query(description="YYYY, YYYY-Qn or YYYY-MM")]
) -> object:
    span = _period(rt, period)
    now = rt.clock.now()
    async with rt.sessions() as session:
        rows = service.visible_targets(principal, await repository.targets(session, span.label))
        answer = await service.target_progress(session, scoring(rt), span, now, rows)
    return {"period": span.label, "from": span.start, "to": span.end, "as_of": now, "rows": answer}


@router.get(
    "/indicators",
    response_model=schemas.Indicators,
    responses=_CSV_DOC,
    summary="The period's indicator table (指标数据表): counts and rates by department or street",
)
async def indicators(
    request: Request,
    rt: Runtime,
    principal: Reader,
    period: Annotated[str, Query(description="YYYY, YYYY-Qn or YYYY-MM")],
    dimension: Literal["department", "street"] = "department",
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> object:
    span = _period(rt, period)
    filters = service.scoped_filters(principal, {})
    now = rt.clock.now()
    async with rt.sessions() as session:
        rows = await service.indicator_table(session, scoring(rt), span, dimension, now, filters)
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        return _csv(service.to_csv(rows, key_header=dimension), f"indicators-{span.label}-{dimension}")
    return schemas.Indicators.model_validate(
        {
            "from": span.start,
            "to": span.end,
            "as_of": now,
            "period": span.label,
            "dimension": dimension,
            "rows": [_kpi_row(r) for r in rows],
        }
    )
