"""Request and response models of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import Channel

EventKind = Literal[
    "case.filed",
    "case.dispatched",
    "case.handled",
    "case.closed",
    "case.reopened",
    "case.returned",
    "case.escalated",
    "report.queued",
    "report.merged",
]
DeliveryStatus = Literal["pending", "delivered", "dead", "cancelled"]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department_code: str | None = Field(default=None, max_length=64)
    street_code: str | None = Field(default=None, max_length=64)
    channel: Channel | None = None


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description="http(s) URL that receives the deliveries")
    event_types: list[EventKind] = Field(min_length=1, max_length=9)
    filters: Filters = Field(default_factory=Filters)
    description: str = Field(default="", max_length=500)


class SubscriptionOut(BaseModel):
    id: str
    owner: str
    url: str
    event_types: list[str]
    filters: Filters
    description: str
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        default=None, description="during a rotation window, deliveries carry a signature with each secret"
    )
    secret: str | None = Field(default=None, description="only in the answer that creates or rotates it")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_s: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="how long the previous secret still signs (default: 24 hours)",
    )


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str = Field(description="the webhook-id header: the CloudEvent id, the same on every attempt")
    event_type: str
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_status: int | None
    last_error: str | None
    acknowledged_at: datetime | None = Field(default=None, description="when the receiver confirmed it (hotline)")
    attempt_log: list[AttemptOut] | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    limit: int
    offset: int
    next_offset: int | None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[int] | None = Field(
        default=None, max_length=1000, description="dead deliveries to send again; omitted: all of them"
    )


class ReplayOut(BaseModel):
    replayed: int


class FeedbackAck(BaseModel):
    feedback_id: str
    delivery_status: DeliveryStatus
    acknowledged_at: datetime
