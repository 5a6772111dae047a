"""The subscriptions API (admin or integrator): subscribe, list, delete, rotate, read the delivery log, replay."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import Row

from shared.auth import Principal, Role, require
from shared.errors import Forbidden, NotFound
from shared.service import ServiceRuntime, runtime_of
from workflow.webhooks import feedback
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.repository import WebhookRepository
from workflow.webhooks.schemas import (
    AttemptOut,
    DeliveryList,
    DeliveryOut,
    DeliveryStatus,
    FeedbackAck,
    Filters,
    ReplayIn,
    ReplayOut,
    RotateIn,
    SubscriptionIn,
    SubscriptionOut,
)
from workflow.webhooks.service import SubscriptionService

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

Runtime = Annotated[ServiceRuntime, Depends(runtime_of("workflow"))]
Integrator = Annotated[Principal, Depends(require(Role.INTEGRATOR))]
SubId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


def _service(rt: ServiceRuntime, session: Any) -> SubscriptionService:
    settings: WebhookSettings = rt.services["workflow.webhook_settings"]
    return SubscriptionService(session, rt.clock, settings)


def subscription_out(row: Row[Any], *, with_secret: bool = False) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        owner=row.owner,
        url=row.url,
        event_types=row.event_types,
        filters=Filters(department_code=row.department_code, street_code=row.street_code, channel=row.channel),
        description=row.description,
        created_at=row.created_at,
        previous_secret_until=row.previous_secret_until,
        secret=row.secret if with_secret else None,
    )


def delivery_out(row: Row[Any], attempts: list[Row[Any]] | None = None) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        webhook_id=row.event_id,
        event_type=row.event_type,
        subject=row.ordering_key,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        dead_at=row.dead_at,
        last_status=row.last_status,
        last_error=row.last_error,
        acknowledged_at=row.acknowledged_at,
        attempt_log=None
        if attempts is None
        else [
            AttemptOut(attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
            for a in attempts
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe a URL to case and report events; the answer holds the signing secret (once)",
)
async def create(body: SubscriptionIn, rt: Runtime, who: Integrator) -> SubscriptionOut:
    async with rt.transaction() as session:
        row = await _service(rt, session).create(body, who)
    return subscription_out(row, with_secret=True)


@router.get("", response_model=list[SubscriptionOut], summary="Your subscriptions (an admin sees all)")
async def list_all(rt: Runtime, who: Integrator) -> list[SubscriptionOut]:
    async with rt.sessions() as session:
        rows = await _service(rt, session).repo.list_subscriptions(None if who.role is Role.ADMIN else who.subject)
    return [subscription_out(r) for r in rows]


@router.get("/{sub_id}", response_model=SubscriptionOut, summary="One subscription")
async def get_one(sub_id: SubId, rt: Runtime, who: Integrator) -> SubscriptionOut:
    async with rt.sessions() as session:
        return subscription_out(await _service(rt, session).load(sub_id, who))


@router.delete("/{sub_id}", status_code=204, summary="Unsubscribe; deliveries not yet sent are cancelled")
async def delete(sub_id: SubId, rt: Runtime, who: Integrator) -> Response:
    async with rt.transaction() as session:
        await _service(rt, session).delete(sub_id, who)
    return Response(status_code=204)


@router.post(
    "/{sub_id}/rotate-secret",
    response_model=SubscriptionOut,
    summary="New signing secret; the previous one keeps signing during the window",
)
async def rotate(sub_id: SubId, rt: Runtime, who: Integrator, body: RotateIn | None = None) -> SubscriptionOut:
    async with rt.transaction() as session:
        row = await _service(rt, session).rotate(sub_id, body or RotateIn(), who)
    return subscription_out(row, with_secret=True)


@router.get(
    "/{sub_id}/deliveries", response_model=DeliveryList, summary="The delivery log of a subscription, newest first"
)
async def deliveries(
    sub_id: SubId,
    rt: Runtime,
    who: Integrator,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryList:
    async with rt.sessions() as session:
        service = _service(rt, session)
        await service.load(sub_id, who)
        rows = await service.repo.list_deliveries(sub_id, status, limit + 1, offset)
    return DeliveryList(
        items=[delivery_out(r) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get(
    "/{sub_id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    summary="One delivery with every attempt (status code, error, duration)",
)
async def delivery(sub_id: SubId, delivery_id: int, rt: Runtime, who: Integrator) -> DeliveryOut:
    async with rt.sessions() as session:
        service = _service(rt, session)
        await service.load(sub_id, who)
        row = await service.repo.delivery(sub_id, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id} in this subscription", field="delivery_id")
        return delivery_out(row, await service.repo.attempts_of(delivery_id))


@router.get(
    "/{sub_id}/dead-letters", response_model=DeliveryList, summary="Deliveries that failed every attempt, newest first"
)
async def dead_letters(
    sub_id: SubId,
    rt: Runtime,
    who: Integrator,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryList:
    return await deliveries(sub_id, rt, who, "dead", limit, offset)


@router.post(
    "/{sub_id}/dead-letters/replay",
    response_model=ReplayOut,
    summary="Send dead deliveries again (all, or the ids given), with a fresh attempt budget",
)
async def replay(sub_id: SubId, rt: Runtime, who: Integrator, body: ReplayIn | None = None) -> ReplayOut:
    async with rt.transaction() as session:
        n = await _service(rt, session).replay(sub_id, (body or ReplayIn()).delivery_ids, who)
    return ReplayOut(replayed=n)


# -- the 12345 feedback, from the hotline's side ------------------------------------------------------------

hotline_router = APIRouter(prefix="/v1/hotline/feedback", tags=["hotline"])
Hotline = Annotated[Principal, Depends(require(Role.SYSTEM))]
FeedbackId = Annotated[str, Path(min_length=3, max_length=120, pattern=r"^[A-Za-z0-9:-]+$")]


def _hotline_only(who: Principal) -> None:
    if who.role is not Role.ADMIN and who.subject != "hotline":
        raise Forbidden("only the hotline system reads and confirms its feedback", field="X-API-Key")


@hotline_router.post(
    "/{feedback_id}/ack",
    response_model=FeedbackAck,
    summary="The hotline confirms it received one feedback (办理结果); repeating it changes nothing",
)
async def acknowledge(feedback_id: FeedbackId, rt: Runtime, who: Hotline) -> FeedbackAck:
    _hotline_only(who)
    async with rt.transaction() as session:
        row = await WebhookRepository(session).acknowledge(feedback.SUBSCRIPTION_ID, feedback_id, rt.clock.now())
    if row is None:
        raise NotFound(f"no feedback {feedback_id}", field="feedback_id")
    return FeedbackAck(feedback_id=feedback_id, delivery_status=row.status, acknowledged_at=row.acknowledged_at)


@hotline_router.get(
    "",
    response_model=list[dict[str, Any]],
    summary="Feedback not yet confirmed by the hotline, oldest first (to reconcile after an outage)",
)
async def unacknowledged(
    rt: Runtime, who: Hotline, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    _hotline_only(who)
    async with rt.sessions() as session:
        rows = await WebhookRepository(session).unacknowledged(feedback.SUBSCRIPTION_ID, limit)
    return [{**orjson.loads(r.payload), "delivery_status": r.status} for r in rows]
