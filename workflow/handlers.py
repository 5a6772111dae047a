"""Bus event handlers of the workflow, in one explicit table (event type → handler)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope, reports, routing
from shared.contracts.reports import ReportUpdated
from shared.contracts.routing import ReportMerged, RoutingDecided
from shared.handling import BatchContext, BatchPrepare, EventHandler, HandlerContext, fold_runs, run_of_one
from shared.service import ServiceRuntime
from workflow.repository import Repository
from workflow.service import CaseService


def _service(ctx: HandlerContext) -> CaseService:
    return CaseService(ctx.session, ctx.outbox, ctx.clock, ctx.services["workflow"])


async def on_report_updated(ctx: HandlerContext, body: ReportUpdated) -> None:
    await _service(ctx).report_updated(body)


_REPORTS_OF = {
    "cityloop.routing.decided.v1": ("report_id",),
    "cityloop.routing.merged.v1": ("primary_report_id", "report_id"),
    "cityloop.report.updated.v1": ("report_id",),
}
"""The reports whose lock each event's handler takes (`Repository.lock_reports`)."""


def prepare(_: ServiceRuntime) -> BatchPrepare:
    """Before a batch's handlers run: the locks of every report they will take, at once and in one order."""

    async def lock_batch(session: AsyncSession, events: Sequence[tuple[Envelope, Any]]) -> None:
        ids = [str(e.data[f]) for e, _ in events for f in _REPORTS_OF.get(e.type, ()) if e.data.get(f)]
        if ids:
            await Repository(session).lock_batch_reports(ids)

    return lock_batch


async def file_decisions(batch: BatchContext, bodies: Sequence[RoutingDecided]) -> None:
    """File each routed report's case and dispatch it to the routed department, a run at once
    (`CaseService.file_many`), in this one transaction."""
    await CaseService(batch.session, batch.outbox, batch.clock, batch.services["workflow"]).file_many(bodies)


async def attach_merges(batch: BatchContext, bodies: Sequence[ReportMerged]) -> None:
    """Attach each merged report to its primary's case, a run at once (`CaseService.attach_many`)."""
    await CaseService(batch.session, batch.outbox, batch.clock, batch.services["workflow"]).attach_many(bodies)


_DECIDED = "cityloop.routing.decided.v1"
_MERGED = "cityloop.routing.merged.v1"
HANDLERS: dict[str, EventHandler] = {
    _DECIDED: run_of_one(file_decisions),
    _MERGED: run_of_one(attach_merges),
    "cityloop.report.updated.v1": on_report_updated,
}
TOPICS = [routing.TOPIC, reports.TOPIC]


fold = fold_runs(HANDLERS, {_DECIDED: file_decisions, _MERGED: attach_merges}, gather=True)
"""Decisions and merges of one batch concern different reports, so they commute: each batch files all its
decisions, then attaches all its merges (a merge into a case filed in the same batch finds it filed; one that
came first would have been parked and replayed at the filing, to the same effect)."""
