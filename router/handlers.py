"""Bus handlers of the router, in one table: reports in, case lifecycle for the open-primaries index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from router import repository as repo
from router.service import RouterService
from shared.contracts import Envelope, cases, reports
from shared.contracts.cases import CaseClosed, CaseFiled, CaseReopened, CaseWithdrawn
from shared.contracts.common import Contract
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.handling import BatchContext, BatchPrepare, EventHandler, HandlerContext, fold_runs, run_of_one
from shared.service import ServiceRuntime

RECEIVED = "cityloop.report.received.v1"


def _svc(ctx: HandlerContext) -> RouterService:
    service: RouterService = ctx.services["router"]
    return service


async def handle_report_received(ctx: HandlerContext, body: ReportReceived) -> None:
    async def emit(event: Contract) -> None:
        await ctx.emit(event, subject=body.report_id)

    await _svc(ctx).handle_report(ctx.session, emit, body, ctx.clock.now())


async def handle_report_updated(ctx: HandlerContext, body: ReportUpdated) -> None:
    await _svc(ctx).handle_update(ctx.session, body)


async def cases_filed(batch: BatchContext, bodies: Sequence[CaseFiled]) -> None:
    """A run of filings: the primaries learn their cases in one statement."""
    await repo.primary_cases_filed(batch.session, [(body.report_id, body.case_id) for body in bodies])


async def handle_case_closed(ctx: HandlerContext, body: CaseClosed) -> None:
    await repo.primaries_closed(ctx.session, body.case_id, list(body.report_ids), body.at)


async def handle_case_withdrawn(ctx: HandlerContext, body: CaseWithdrawn) -> None:
    await repo.primaries_closed(ctx.session, body.case_id, [], body.at)


async def handle_case_reopened(ctx: HandlerContext, body: CaseReopened) -> None:
    await repo.primaries_reopened(ctx.session, body.case_id)


def prepare(runtime: ServiceRuntime) -> BatchPrepare:
    """Before a batch's handlers run: the merge locks of all its new reports, taken at once (see `prepare`)."""

    async def lock_batch(session: AsyncSession, events: Sequence[tuple[Envelope, Any]]) -> None:
        received = [body for _, body in events if isinstance(body, ReportReceived)]
        if received:
            await runtime.services["router"].prepare(session, received, runtime.clock.now())

    return lock_batch


_FILED = "cityloop.case.filed.v1"
HANDLERS: dict[str, EventHandler] = {
    RECEIVED: handle_report_received,
    "cityloop.report.updated.v1": handle_report_updated,
    _FILED: run_of_one(cases_filed),
    "cityloop.case.closed.v1": handle_case_closed,
    "cityloop.case.withdrawn.v1": handle_case_withdrawn,
    "cityloop.case.reopened.v1": handle_case_reopened,
}
TOPICS = [reports.TOPIC, cases.TOPIC]
fold = fold_runs(HANDLERS, {_FILED: cases_filed})
