"""Intake follows each report's fate (routing and case events) so `GET /v1/reports/{id}` can answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake import progress
from intake import repository as repo
from intake.service import media_names
from shared.contracts import EVENT_TYPES
from shared.contracts.cases import TOPIC as CASES_TOPIC
from shared.contracts.cases import (
    CaseClosed,
    CaseEvent,
    CaseFiled,
    CaseHandled,
    CaseVerified,
    ReportAttached,
    WhistleBlown,
)
from shared.contracts.envelope import Envelope
from shared.contracts.routing import TOPIC as ROUTING_TOPIC
from shared.contracts.routing import ManualDispatchNeeded, ReportMerged, RoutingDecided
from shared.handling import BatchContext, EventHandler, HandlerContext


async def on_routed(ctx: HandlerContext, body: RoutingDecided) -> None:
    await repo.set_routing(
        ctx.session,
        body.report_id,
        stage="routed",
        at=ctx.envelope.time,
        reason=body.rule.reason,
        department_code=body.department_code,
        street_code=body.grid.street_code,
    )


async def on_merged(ctx: HandlerContext, body: ReportMerged) -> None:
    await repo.set_routing(
        ctx.session,
        body.report_id,
        stage="merged",
        at=ctx.envelope.time,
        reason=body.reason,
        primary_report_id=body.primary_report_id,
    )


async def on_queued(ctx: HandlerContext, body: ManualDispatchNeeded) -> None:
    await repo.set_routing(
        ctx.session,
        body.report_id,
        stage="queued",
        at=ctx.envelope.time,
        reason=body.reason,
        street_code=body.grid.street_code,
    )


def units_of(body: CaseEvent) -> list[tuple[str, str]]:
    """Who may read this case's reports from now on: every department it is assigned or summoned to (never
    taken away: a department keeps seeing what it once had), and the street and community it lies in."""
    units = [("department", body.department_code)] if body.department_code else []
    if isinstance(body, WhistleBlown):
        units += [("department", d) for d in body.departments]
    if isinstance(body, CaseFiled) and body.grid.street_code:
        units.append(("street", body.grid.street_code))
    if isinstance(body, CaseFiled) and body.grid.community_code:
        units.append(("community", body.grid.community_code))
    return units


async def on_case_event(ctx: HandlerContext, body: CaseEvent) -> None:
    """Filing (and attaching, and closing) names the reports; every other case event is found by case id."""
    await _follow(ctx, body)
    await repo.set_case_state(ctx.session, case_id=body.case_id, state=body.state, version=body.version, at=body.at)


async def _link(session: AsyncSession, body: CaseEvent) -> None:
    linked: list[str] = []
    if isinstance(body, CaseFiled | ReportAttached):
        linked = [body.report_id]
    elif isinstance(body, CaseClosed):
        linked = list(body.report_ids)
    if linked:
        await repo.link_case(
            session,
            linked,
            case_id=body.case_id,
            case_no=body.case_no,
            state=body.state,
            version=body.version,
            at=body.at,
        )


async def _follow(ctx: HandlerContext | BatchContext, body: CaseEvent) -> None:
    """What every case event adds besides the state: who may read its reports, its photos, the names of its
    reports, the handling result (the patrol officer's list shows it) and, when WeChat progress is
    configured, the citizen's next message."""
    await repo.add_case_units(ctx.session, body.case_id, units_of(body))
    if isinstance(body, CaseHandled | CaseVerified) and body.photos:
        await repo.add_case_photos(ctx.session, body.case_id, media_names(body.photos))
    await _link(ctx.session, body)
    if isinstance(body, CaseHandled):
        await repo.set_case_result(
            ctx.session, case_id=body.case_id, result=body.result, version=body.version, at=body.at
        )
    if ctx.services.get("intake.progress") is not None:
        await progress.record(ctx.session, body, ctx.clock.now())


async def fold(batch: BatchContext, events: Sequence[tuple[Envelope, Any]]) -> None:
    """The batch as the handlers above would apply it one by one, with the case state written once per case.

    A case's 5–20 events each moved its reports' state; only the newest version survives that, so the batch
    writes it for every case in one statement after the links (which name the reports) are in place.
    """
    newest: dict[str, CaseEvent] = {}
    for envelope, body in events:
        if isinstance(body, CaseEvent):
            await _follow(batch, body)
            seen = newest.get(body.case_id)
            if seen is None or body.version > seen.version:
                newest[body.case_id] = body
        else:
            await HANDLERS[envelope.type](batch.event(envelope), body)
    await repo.set_case_states(batch.session, [(b.case_id, b.state, b.version, b.at) for b in newest.values()])


HANDLERS: dict[str, EventHandler] = {
    "cityloop.routing.decided.v1": on_routed,
    "cityloop.routing.merged.v1": on_merged,
    "cityloop.routing.manual.v1": on_queued,
    **{event_type: on_case_event for event_type, (model, _) in EVENT_TYPES.items() if issubclass(model, CaseEvent)},
}
TOPICS = [ROUTING_TOPIC, CASES_TOPIC]
