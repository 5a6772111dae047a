"""Router HTTP API: the rules admin (read, replace, reload, history), dry runs, and the dispatchers' queue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.exc import IntegrityError

from router import repository as repo
from router.schemas import (
    DispatchIn,
    DispatchOut,
    DryRunIn,
    DryRunOut,
    QueueItem,
    QueuePage,
    RuleSetIn,
    RuleSetOut,
    RuleSetVersion,
)
from router.service import RouterService
from shared.auth import Principal, Role, require
from shared.contracts.common import Contract
from shared.contracts.reports import ReportReceived
from shared.errors import Conflict, NotFound
from shared.service import ServiceRuntime, runtime_of

router = APIRouter(tags=["router"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of("router"))]
Reader = Annotated[Principal, Depends(require(Role.DISPATCHER, Role.SUPERVISOR))]
RulesAdmin = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
Dispatcher = Annotated[Principal, Depends(require(Role.DISPATCHER, Role.SUPERVISOR))]
ReportId = Annotated[str, Path(min_length=1, max_length=128)]


def _svc(rt: ServiceRuntime) -> RouterService:
    service: RouterService = rt.services["router"]
    return service


@router.get("/v1/routing/rules", response_model=RuleSetOut, summary="The routing rules in force")
async def get_rules(rt: Runtime, _: Reader) -> dict[str, object]:
    async with rt.transaction() as session:
        row = await repo.latest_ruleset(session)
    if row is None:
        raise NotFound("no rule set stored yet", field="version")
    return _svc(rt).describe(row)


@router.get(
    "/v1/routing/rules/history",
    response_model=list[RuleSetVersion],
    summary="Every stored version: who, when, why, and the diff to the one before",
)
async def rules_history(
    rt: Runtime, _: RulesAdmin, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, object]]:
    async with rt.transaction() as session:
        return await repo.rulesets_desc(session, limit)


@router.put(
    "/v1/routing/rules",
    response_model=RuleSetOut,
    summary="Replace the rules: validated (422 names line and reason), versioned, audited; in force at once",
)
async def put_rules(body: RuleSetIn, rt: Runtime, who: RulesAdmin) -> dict[str, object]:
    svc = _svc(rt)
    try:
        async with rt.transaction() as session:
            rules = await svc.save_rules(
                session,
                body.yaml,
                source="api",
                who=who.subject,
                now=rt.clock.now(),
                comment=body.comment,
                expected_version=body.expected_version,
            )
    except IntegrityError as exc:
        raise Conflict("another rule set was saved at the same moment; reload and retry", field="version") from exc
    svc.install(rules)
    return await get_rules(rt, who)


@router.post(
    "/v1/routing/rules/reload",
    response_model=RuleSetOut,
    summary="Read the rules file again; a malformed file is refused with file, line and reason",
)
async def reload_rules(rt: Runtime, who: RulesAdmin) -> dict[str, object]:
    svc = _svc(rt)
    try:
        async with rt.transaction() as session:
            rules = await svc.reload_file(session, who.subject, rt.clock.now())
    except IntegrityError as exc:
        raise Conflict("another rule set was saved at the same moment; retry", field="version") from exc
    svc.install(rules)
    return await get_rules(rt, who)


@router.post(
    "/v1/routing/dry-run",
    response_model=DryRunOut,
    summary="What a report would get under the rules in force or proposed ones; nothing is stored",
)
async def dry_run(body: DryRunIn, rt: Runtime, _: Reader) -> dict[str, object]:
    now = rt.clock.now()
    data = body.report.model_dump()
    data["received_at"] = data.get("received_at") or now
    report = ReportReceived.model_validate(data)
    async with rt.transaction() as session:
        return await _svc(rt).dry_run(session, report, now, body.rules_yaml)


@router.get("/v1/dispatch/queue", response_model=QueuePage, summary="Reports no rule could decide, oldest first")
async def list_queue(
    rt: Runtime,
    _: Dispatcher,
    status: Annotated[Literal["open", "waiting", "claimed", "dispatched", "withdrawn"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, object]:
    statuses: list[str] = ["waiting", "claimed"] if status == "open" else [status]
    async with rt.transaction() as session:
        items = await repo.queue_items(session, statuses, limit, offset)
        waiting = await repo.queue_waiting_count(session)
    return {"items": items, "waiting": waiting}


@router.get("/v1/dispatch/queue/{report_id}", response_model=QueueItem)
async def queue_item(report_id: ReportId, rt: Runtime, _: Dispatcher) -> dict[str, object]:
    async with rt.transaction() as session:
        item = await repo.queue_item(session, report_id)
    if item is None:
        raise NotFound(f"report {report_id!r} is not in the dispatchers' queue", field="report_id")
    return item


@router.post(
    "/v1/dispatch/queue/{report_id}/claim",
    response_model=QueueItem,
    summary="Take a queued report; someone else's claim is a 409 (a supervisor may take it over)",
)
async def claim(report_id: ReportId, rt: Runtime, who: Dispatcher) -> dict[str, object]:
    async with rt.transaction() as session:
        return await _svc(rt).claim(session, report_id, who, rt.clock.now())


@router.post(
    "/v1/dispatch/queue/{report_id}/dispatch",
    response_model=DispatchOut,
    summary="Decide by hand: category, department, profile and reason; published as RoutingDecided",
)
async def dispatch(report_id: ReportId, body: DispatchIn, rt: Runtime, who: Dispatcher) -> dict[str, object]:
    async with rt.transaction() as session:

        async def emit(event: Contract) -> None:
            await rt.outbox.add(session, event, subject=report_id)

        decided = await _svc(rt).dispatch(session, emit, report_id, body, who, rt.clock.now())
    return {"report_id": report_id, "event": decided.model_dump(mode="json", exclude_none=True)}
