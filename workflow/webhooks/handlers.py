"""The fan-out: each subscribed event becomes one durable delivery row per matching subscription.

It runs as its own consumer group (`workflow.webhooks`) with its own inbox claims, in the transaction
that records the event as handled, so an event is owed to its subscribers exactly when it is consumed.
"""

from __future__ import annotations

from shared.contracts import cases, routing
from shared.handling import EventHandler, HandlerContext
from workflow.webhooks import feedback
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.events import EVENT_TYPES, KIND_OF, Facts, case_departments, matches, report_facts
from workflow.webhooks.repository import WebhookRepository


async def fan_out(ctx: HandlerContext, _body: object) -> None:
    envelope = ctx.envelope
    repo = WebhookRepository(ctx.session)
    if envelope.type in feedback.STATUS_OF:
        await hotline_feedback(ctx, repo)
    kind = KIND_OF.get(envelope.type)
    subs = await repo.subscribers_of(kind) if kind else []
    if not kind or not subs:
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


async def hotline_feedback(ctx: HandlerContext, repo: WebhookRepository) -> None:
    """One 办理结果 delivery per hotline ticket of the case, if a hotline callback URL is configured."""
    settings: WebhookSettings = ctx.services["workflow.webhook_settings"]
    if not settings.hotline_callback_url:
        return
    reports = await repo.hotline_reports(ctx.envelope.subject)
    case = await repo.case_row(ctx.envelope.subject) if reports else None
    if case is None:
        return
    departments = ctx.services["workflow"].departments
    now = ctx.clock.now()
    await repo.add_deliveries([
        {"subscription_id": feedback.SUBSCRIPTION_ID, "event_id": feedback.feedback_id(ctx.envelope.id, r.report_id),
         "event_type": ctx.envelope.type, "ordering_key": r.report_id,
         "payload": feedback.render(ctx.envelope, case, r, departments, settings.public_base_url),
         "next_attempt_at": now, "created_at": now}
        for r in reports
    ])


HANDLERS: dict[str, EventHandler] = {t: fan_out for t in (*EVENT_TYPES.values(), *feedback.STATUS_OF)}
TOPICS = [cases.TOPIC, routing.TOPIC]
GROUP = "workflow.webhooks"
