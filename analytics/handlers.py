"""Event handlers of analytics: one fold for a single live event and for a batch of thousands.

`HANDLERS` is the table the runtime's InboxProcessor calls per event; `BatchProjector.handle_batch`
is the same fold over a whole poll (inbox claimed in one statement, each case loaded and written
once), for replays, bulk loads and a batch-mode consumer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from prometheus_client import Counter as Metric
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from analytics import metrics, repository, rollup
from analytics.config import default_scoring
from analytics.projection import CASE_EVENT_TYPES, CaseRecord, apply
from shared.bus.base import InMessage
from shared.contracts import Envelope, cases, parse_body, reports
from shared.contracts.common import Contract
from shared.handling import EventHandler, HandlerContext, PermanentError

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


def _envelope(message: InMessage) -> Envelope:
    try:
        return Envelope.model_validate_json(message.value)
    except (ValueError, ValidationError) as exc:
        raise PermanentError(f"unreadable envelope at {message.topic}/{message.partition}@{message.offset}") from exc


def _body(envelope: Envelope) -> Contract:
    try:
        return parse_body(envelope)
    except (KeyError, ValidationError) as exc:
        raise PermanentError(f"invalid {envelope.type} body: {exc}") from exc


async def project_envelopes(session: AsyncSession, envelopes: Sequence[Envelope], consumer: str = CONSUMER) -> int:
    """Claim and fold a batch in the caller's transaction; returns how many events were new."""
    relevant = [e for e in envelopes if e.type in HANDLERS]
    new_ids = await repository.claim(session, consumer, list(dict.fromkeys(e.id for e in relevant)))
    items: list[tuple[str, Contract]] = []
    for envelope in relevant:
        if envelope.id in new_ids:
            new_ids.discard(envelope.id)  # a duplicate inside the batch is folded once
            items.append((envelope.id, _body(envelope)))
    await project(session, items)
    return len(items)


class BatchProjector:
    """A `ConsumerLoop` batch handler: one transaction per poll, same inbox and fold as `HANDLERS`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], consumer: str = CONSUMER) -> None:
        self.sessions = sessions
        self.consumer = consumer

    async def handle_batch(self, messages: Sequence[InMessage]) -> None:
        envelopes = [_envelope(m) for m in messages]
        async with self.sessions() as session, session.begin():
            await project_envelopes(session, envelopes, self.consumer)
