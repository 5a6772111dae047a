"""Intake follows each report's fate (routing and case events) so `GET /v1/reports/{id}` can answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def routed_of(envelope: Envelope, body: RoutingDecided | ReportMerged | ManualDispatchNeeded) -> repo.Routed:
    """What intake keeps of a routing event: the report's stage and why."""
    if isinstance(body, RoutingDecided):
        return repo.Routed(
            body.report_id,
            "routed",
            envelope.time,
            reason=body.rule.reason,
            department_code=body.department_code,
            street_code=body.grid.street_code,
        )
    if isinstance(body, ReportMerged):
        return repo.Routed(
            body.report_id, "merged", envelope.time, reason=body.reason, primary_report_id=body.primary_report_id
        )
    return repo.Routed(body.report_id, "queued", envelope.time, reason=body.reason, street_code=body.grid.street_code)


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


def links_of(body: CaseEvent) -> list[repo.Link]:
    """Filing (and attaching, and closing) names the reports; every other case event is found by case id."""
    linked: list[str] = []
    if isinstance(body, CaseFiled | ReportAttached):
        linked = [body.report_id]
    elif isinstance(body, CaseClosed):
        linked = list(body.report_ids)
    return [repo.Link(r, body.case_id, body.case_no, body.state, body.version, body.at) for r in linked]


async def fold(batch: BatchContext, events: Sequence[tuple[Envelope, Any]]) -> None:
    """A batch of routing and case events, one statement per table: the reports' stages, who may read each
    case, the reports each case names, and each case's newest state (a case's 5–20 events each moved its
    reports' state; only the newest version survives that), and the WeChat progress owed for all of them.
    Photos and handling results are rarer and follow their events one by one."""
    routed: list[repo.Routed] = []
    units: list[tuple[str, str, str]] = []
    links: list[repo.Link] = []
    newest: dict[str, CaseEvent] = {}
    case_events = [body for _, body in events if isinstance(body, CaseEvent)]
    for envelope, body in events:
        if not isinstance(body, CaseEvent):
            routed.append(routed_of(envelope, body))
    for body in case_events:
        units += [(body.case_id, kind, unit) for kind, unit in units_of(body)]
        links += links_of(body)
        seen = newest.get(body.case_id)
        if seen is None or body.version > seen.version:
            newest[body.case_id] = body
    await repo.set_routing(batch.session, routed)
    await repo.add_case_units(batch.session, units)
    await repo.link_cases(batch.session, links)
    await repo.set_case_states(batch.session, [(b.case_id, b.state, b.version, b.at) for b in newest.values()])
    for body in case_events:  # these find the case's reports by case id: after the links above
        if isinstance(body, CaseHandled | CaseVerified) and body.photos:
            await repo.add_case_photos(batch.session, body.case_id, media_names(body.photos))
        if isinstance(body, CaseHandled):
            await repo.set_case_result(
                batch.session, case_id=body.case_id, result=body.result, version=body.version, at=body.at
            )
    if batch.services.get("intake.progress") is not None:
        await progress.record(batch.session, case_events, batch.clock.now())


async def handle_one(ctx: HandlerContext, body: Any) -> None:
    """One event is a batch of one (the table below names the event types intake follows)."""
    await fold(BatchContext(ctx.session, ctx.outbox, ctx.clock, ctx.services), [(ctx.envelope, body)])


HANDLERS: dict[str, EventHandler] = {
    "cityloop.routing.decided.v1": handle_one,
    "cityloop.routing.merged.v1": handle_one,
    "cityloop.routing.manual.v1": handle_one,
    **{event_type: handle_one for event_type, (model, _) in EVENT_TYPES.items() if issubclass(model, CaseEvent)},
}
TOPICS = [ROUTING_TOPIC, CASES_TOPIC]
