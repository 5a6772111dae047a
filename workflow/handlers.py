"""Bus event handlers of the workflow, in one explicit table (event type → handler)."""

from __future__ import annotations

from shared.contracts import reports, routing
from shared.contracts.reports import ReportUpdated
from shared.contracts.routing import ReportMerged, RoutingDecided
from shared.handling import EventHandler, HandlerContext
from workflow.service import CaseService


def _service(ctx: HandlerContext) -> CaseService:
    return CaseService(ctx.session, ctx.outbox, ctx.clock, ctx.services["workflow"])


async def on_routing_decided(ctx: HandlerContext, body: RoutingDecided) -> None:
    """File the case and dispatch it to the routed department in this one transaction."""
    await _service(ctx).file_from_routing(body)


async def on_report_merged(ctx: HandlerContext, body: ReportMerged) -> None:
    await _service(ctx).attach_report(body)


async def on_report_updated(ctx: HandlerContext, body: ReportUpdated) -> None:
    await _service(ctx).report_updated(body)


HANDLERS: dict[str, EventHandler] = {
    "cityloop.routing.decided.v1": on_routing_decided,
    "cityloop.routing.merged.v1": on_report_merged,
    "cityloop.report.updated.v1": on_report_updated,
}
TOPICS = [routing.TOPIC, reports.TOPIC]
