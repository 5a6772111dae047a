"""Event handlers of analytics: one fold for a single live event and for a batch of thousands.

`HANDLERS` names the event types the consumer takes (and folds one event); `fold` is the kernel's batch
hook that the runtime's InboxProcessor calls with every new event of a poll, so live traffic, replays and
bulk loads share one consumer path: the kernel parses, claims the inbox and holds the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter as Metric
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from analytics import metrics, repository, rollup
from analytics.config import default_scoring
from analytics.models import inbox, outbox
from analytics.projection import CASE_EVENT_TYPES, CaseRecord, apply
from shared.clock import SystemClock
from shared.contracts import Envelope, cases, reports
from shared.contracts.common import Contract
from shared.db.outbox import Inbox, Outbox
from shared.handling import BatchContext, EventHandler, HandlerContext, InboxProcessor

CONSUMER = "analytics"
TOPICS = [cases.TOPIC, reports.TOPIC]
_REPORT_RECEIVED = str(reports.ReportReceived.model_fields["type"].default)


async def project(session: AsyncSession, items: Sequence[tuple[str, Contract]]) -> None:
    """Fold already-claimed events (event id, body), in order, into the read models."""
    case_events = [(event_id, body) for event_id, body in items if isinstance(body, cases.CaseEvent)]
    records = await repository.load(session, {body.case_id for _, body in case_events})
    config = default_scoring()
    await rollup.retract(session, config, list(records))  # the rollups lose these cases' old rows...
    counts: Counter[tuple[Metric, str]] = Counter()
    for event_id, body in case_events:
        record = records.get(body.case_id)
        if record is None:
            record = records[body.case_id] = CaseRecord.new(body)
        apply(record, body, event_id)
        if isinstance(body, cases.CaseFiled):
            counts[(metrics.CASES_FILED, body.channel.value)] += 1
        elif isinstance(body, cases.CaseClosed):
            counts[(metrics.CASES_CLOSED, record.fact.department_code or "none")] += 1
        elif isinstance(body, cases.CaseEscalated):
            counts[(metrics.ESCALATIONS, str(body.level))] += 1
    await repository.save(session, records.values())
    await rollup.add(session, config, list(records))  # ...and gain their new ones, in the same transaction
    received = {
        b.report_id: (b.channel.value, b.received_at) for _, b in items if isinstance(b, reports.ReportReceived)
    }
    await repository.add_reports(session, received)
    counts.update((metrics.REPORTS, channel) for channel, _ in received.values())
    _count_on_commit(session, counts)


_PENDING = "analytics.metric_counts"


def _count_on_commit(session: AsyncSession, counts: Counter[tuple[Metric, str]]) -> None:
    """Bump the Prometheus counters when the transaction commits: a rolled-back batch is not counted."""
    info = session.sync_session.info
    if _PENDING not in info:
        event.listen(session.sync_session, "after_commit", _bump)
        event.listen(session.sync_session, "after_rollback", lambda s: info[_PENDING].clear())
        info[_PENDING] = Counter()
    info[_PENDING].update(counts)


def _bump(sync_session: Session) -> None:
    pending: Counter[tuple[Metric, str]] = sync_session.info[_PENDING]
    for (counter, label), n in pending.items():
        counter.labels(label).inc(n)
    pending.clear()


async def handle_event(ctx: HandlerContext, body: Contract) -> None:
    await project(ctx.session, [(ctx.envelope.id, body)])


HANDLERS: dict[str, EventHandler] = {event_type: handle_event for event_type in (*CASE_EVENT_TYPES, _REPORT_RECEIVED)}


async def fold(batch: BatchContext, events: Sequence[tuple[Envelope, Any]]) -> None:
    """The kernel's batch hook: every new event of a poll (inbox already claimed) folded at once, so each case
    is loaded and written once per poll, whether the poll holds one event or thousands (replays, bulk loads)."""
    await project(batch.session, [(envelope.id, body) for envelope, body in events])


def processor(sessions: async_sessionmaker[AsyncSession]) -> InboxProcessor:
    """The consumer's batch handler outside a runtime (bulk loads in tests and tools): the same kernel path."""
    return InboxProcessor(
        CONSUMER,
        HANDLERS,
        sessions,
        Inbox(inbox),
        Outbox(outbox, "/cityloop/analytics", SystemClock()),
        SystemClock(),
        fold=fold,
    )
