"""Tables of webhook subscriptions, their durable deliveries and the log of every attempt (schema `workflow`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from workflow.models import metadata


def _ts(name: str, nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(name, DateTime(timezone=True), nullable=nullable)


subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", JSONB, nullable=False),
    Column("department_code", Text),
    Column("street_code", Text),
    Column("channel", Text),
    Column("description", Text, nullable=False, server_default=""),
    Column("scheme", Text, nullable=False, server_default="standard"),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    _ts("previous_secret_until"),
    _ts("created_at", False),
    _ts("deleted_at"),
)
"""`event_types` holds short names (`case.filed`); the previous secret still signs until `previous_secret_until`.
`scheme` is `standard` (Standard Webhooks) or `hotline` (the 12345 feedback, signed as inbound tickets are)."""

deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("subscription_id", Text, ForeignKey("workflow.webhook_subscriptions.id"), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("ordering_key", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    _ts("next_attempt_at", False),
    _ts("leased_until"),
    _ts("created_at", False),
    _ts("delivered_at"),
    _ts("dead_at"),
    _ts("acknowledged_at"),
    Column("last_status", Integer),
    Column("last_error", Text),
    UniqueConstraint("subscription_id", "event_id", name="webhook_deliveries_once_per_event"),
    Index(
        "webhook_deliveries_pending_idx",
        "subscription_id",
        "ordering_key",
        "id",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("webhook_deliveries_log_idx", "subscription_id", "id"),
)
"""One event owed to one subscription: pending → delivered | dead (replayable) | cancelled (subscription deleted).

`next_attempt_at` is city time (backoff follows the city clock); `leased_until` is wall time: a worker
holds a delivery while it sends it, and a worker that dies mid-send lets the lease run out.
"""

attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("delivery_id", BigInteger, ForeignKey("workflow.webhook_deliveries.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    _ts("at", False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)
"""Every HTTP attempt of a delivery: the delivery log an integrator reads when a receiver misbehaves."""
