"""Intake follows each report's fate (routing and case events) so `GET /v1/reports/{id}` can answer."""

from __future__ import annotations

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
from shared.contracts.routing import TOPIC as ROUTING_TOPIC
from shared.contracts.routing import ManualDispatchNeeded, ReportMerged, RoutingDecided
from shared.handling import EventHandler, HandlerContext


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
    await repo.set_routing(ctx.session, body.report_id, stage="queued", at=ctx.envelope.time, reason=body.reason,
                           street_code=body.grid.street_code)


def units_of(body: CaseEvent) -> list[tuple[str, str]]:
    """Who may read this case's reports from now on: every department it is assigned or summoned to (never
    taken away: a department keeps seeing what it once had), and the street it lies in."""
    units = [("department", body.department_code)] if body.department_code else []
    if isinstance(body, WhistleBlown):
        units += [("department", d) for d in body.departments]
    if isinstance(body, CaseFiled) and body.grid.street_code:
        units.append(("street", body.grid.street_code))
    return units


async def on_case_event(ctx: HandlerContext, body: CaseEvent) -> None:
    """Filing (and attaching, and closing) names the reports; every other case event is found by case id."""
    await repo.add_case_units(ctx.session, body.case_id, units_of(body))
    if isinstance(body, CaseHandled | CaseVerified) and body.photos:
        await repo.add_case_photos(ctx.session, body.case_id, media_names(body.photos))
    linked: list[str] = []
    if isinstance(body, CaseFiled | ReportAttached):
        linked = [body.report_id]
    elif isinstance(body, CaseClosed):
        linked = list(body.report_ids)
    if linked:
        await repo.link_case(
            ctx.session,
            linked,
            case_id=body.case_id,
            case_no=body.case_no,
            state=body.state,
            version=body.version,
            at=body.at,
        )
    await repo.set_case_state(ctx.session, case_id=body.case_id, state=body.state, version=body.version, at=body.at)


HANDLERS: dict[str, EventHandler] = {
    "cityloop.routing.decided.v1": on_routed,
    "cityloop.routing.merged.v1": on_merged,
    "cityloop.routing.manual.v1": on_queued,
    **{event_type: on_case_event for event_type, (model, _) in EVENT_TYPES.items() if issubclass(model, CaseEvent)},
}
TOPICS = [ROUTING_TOPIC, CASES_TOPIC]
