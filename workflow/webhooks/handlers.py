"""The fan-out: each subscribed event becomes one durable delivery row per matching subscription.

It runs as its own consumer group (`workflow.webhooks`) with its own inbox claims, in the transaction
that records the event as handled, so an event is owed to its subscribers exactly when it is consumed.
"""

from __future__ import annotations

from shared.contracts import cases, routing
from shared.handling import EventHandler, HandlerContext
from workflow.webhooks.events import EVENT_TYPES, KIND_OF, Facts, case_departments, matches, report_facts
from workflow.webhooks.repository import WebhookRepository


async def fan_out(ctx: HandlerContext, _body: object) -> None:
    envelope = ctx.envelope
    kind = KIND_OF[envelope.type]
    repo = WebhookRepository(ctx.session)
    subs = await repo.subscribers_of(kind)
    if not subs:
        return
    if kind.startswith("case."):
        place = await repo.case_place(envelope.subject)
        departments = case_departments(envelope.data)
        if kind == "case.filed" and place is not None and place.first_department:
            departments |= {place.first_department}
        facts = Facts(departments, place.street_code if place else None, place.channel if place else None)
    else:
        facts = report_facts(envelope.data)
    now = ctx.clock.now()
    payload = envelope.to_bytes()
    await repo.add_deliveries([
        {"subscription_id": s.id, "event_id": envelope.id, "event_type": envelope.type,
         "ordering_key": envelope.subject, "payload": payload, "next_attempt_at": now, "created_at": now}
        for s in subs if matches(s, facts)
    ])


HANDLERS: dict[str, EventHandler] = {event_type: fan_out for event_type in EVENT_TYPES.values()}
TOPICS = [cases.TOPIC, routing.TOPIC]
GROUP = "workflow.webhooks"
