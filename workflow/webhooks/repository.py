"""Every query of webhook subscriptions and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from workflow.models import case_departments, case_reports, cases
from workflow.webhooks.models import attempts, deliveries, subscriptions

_CLAIM = text("""
    WITH heads AS (
        SELECT DISTINCT ON (subscription_id, ordering_key) id
        FROM workflow.webhook_deliveries WHERE status = 'pending'
        ORDER BY subscription_id, ordering_key, id),
    ready AS (
        SELECT d.id FROM workflow.webhook_deliveries d JOIN heads ON heads.id = d.id
        WHERE d.status = 'pending' AND d.next_attempt_at <= :now
          AND (d.leased_until IS NULL OR d.leased_until < :wall)
        ORDER BY d.next_attempt_at, d.id LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED)
    UPDATE workflow.webhook_deliveries d SET leased_until = :lease, attempts = d.attempts + 1
    FROM ready, workflow.webhook_subscriptions s
    WHERE d.id = ready.id AND s.id = d.subscription_id
    RETURNING d.id, d.subscription_id, d.event_id, d.ordering_key, d.payload, d.attempts,
              s.url, s.scheme, s.secret, s.previous_secret, s.previous_secret_until
""")
"""Only the oldest pending delivery of each (subscription, case) is a candidate: in order per case per endpoint.
A dead delivery stops holding its successors back (a replay sends it again later, out of order)."""

_ANY_DUE = text("""
    SELECT EXISTS (SELECT 1 FROM (
        SELECT DISTINCT ON (subscription_id, ordering_key) next_attempt_at
        FROM workflow.webhook_deliveries WHERE status = 'pending'
        ORDER BY subscription_id, ordering_key, id) heads
    WHERE heads.next_attempt_at <= :now)
""")


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- subscriptions ---------------------------------------------------------------------------------

    async def add_subscription(self, values: dict[str, Any]) -> Row[Any]:
        return (await self.session.execute(insert(subscriptions).values(**values).returning(*subscriptions.c))).one()

    async def subscription(self, sub_id: str, owner: str | None) -> Row[Any] | None:
        """An active subscription, if `owner` (None: anyone, for admins) owns it."""
        stmt = select(subscriptions).where(subscriptions.c.id == sub_id, subscriptions.c.deleted_at.is_(None))
        if owner is not None:
            stmt = stmt.where(subscriptions.c.owner == owner)
        return (await self.session.execute(stmt)).first()

    async def list_subscriptions(self, owner: str | None) -> list[Row[Any]]:
        stmt = select(subscriptions).where(subscriptions.c.deleted_at.is_(None))
        if owner is not None:
            stmt = stmt.where(subscriptions.c.owner == owner)
        return list((await self.session.execute(stmt.order_by(subscriptions.c.created_at, subscriptions.c.id))).all())

    async def update_subscription(self, sub_id: str, values: dict[str, Any]) -> Row[Any]:
        stmt = update(subscriptions).where(subscriptions.c.id == sub_id).values(**values).returning(*subscriptions.c)
        return (await self.session.execute(stmt)).one()

    async def active_subscriptions(self) -> list[Any]:
        """Every active Standard Webhooks subscription (a small table, read once per consumed batch)."""
        stmt = select(
            subscriptions.c.id,
            subscriptions.c.event_types,
            subscriptions.c.department_code,
            subscriptions.c.street_code,
            subscriptions.c.channel,
        ).where(subscriptions.c.deleted_at.is_(None), subscriptions.c.scheme == "standard")
        return list((await self.session.execute(stmt)).all())

    async def case_places(self, case_ids: Sequence[str]) -> dict[str, Any]:
        """Street, channel and first dispatched department of cases (filing and first dispatch are one
        transaction, so that department is the one a `case.filed` event is about)."""
        first = (
            select(case_departments.c.department_code)
            .where(case_departments.c.case_id == cases.c.id, case_departments.c.relation == "assigned")
            .order_by(case_departments.c.since)
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(cases.c.id, cases.c.street_code, cases.c.channel, first.label("first_department")).where(
            cases.c.id.in_(list(case_ids))
        )
        return {r.id: r for r in (await self.session.execute(stmt)).all()}

    async def case_rows(self, case_ids: Sequence[str]) -> dict[str, Any]:
        stmt = select(cases).where(cases.c.id.in_(list(case_ids)))
        return {r.id: r for r in (await self.session.execute(stmt)).all()}

    async def hotline_reports_of(self, case_ids: Sequence[str]) -> dict[str, list[Any]]:
        """The 12345 tickets each case holds (merged ones too), except those the caller withdrew."""
        stmt = (
            select(case_reports)
            .where(
                case_reports.c.case_id.in_(list(case_ids)),
                case_reports.c.channel == "hotline",
                case_reports.c.withdrawn_at.is_(None),
            )
            .order_by(case_reports.c.attached_at, case_reports.c.report_id)
        )
        out: dict[str, list[Any]] = {}
        for r in (await self.session.execute(stmt)).all():
            out.setdefault(r.case_id, []).append(r)
        return out

    async def ensure_subscription(self, values: dict[str, Any]) -> None:
        """Create or update a built-in subscription (the hotline feedback) from configuration."""
        keep = {"url": values["url"], "event_types": values["event_types"], "deleted_at": None}
        stmt = (
            pg_insert(subscriptions)
            .values(**values)
            .on_conflict_do_update(index_elements=[subscriptions.c.id], set_=keep)
        )
        await self.session.execute(stmt)

    async def acknowledge(self, sub_id: str, event_id: str, at: datetime) -> Row[Any] | None:
        """Record that the receiver confirmed a delivery; the first confirmation's time is kept."""
        stmt = (
            update(deliveries)
            .where(deliveries.c.subscription_id == sub_id, deliveries.c.event_id == event_id)
            .values(acknowledged_at=func.coalesce(deliveries.c.acknowledged_at, at))
            .returning(deliveries.c.id, deliveries.c.status, deliveries.c.acknowledged_at)
        )
        return (await self.session.execute(stmt)).first()

    async def unacknowledged(self, sub_id: str, limit: int) -> list[Any]:
        stmt = (
            select(deliveries.c.event_id, deliveries.c.payload, deliveries.c.status)
            .where(
                deliveries.c.subscription_id == sub_id,
                deliveries.c.acknowledged_at.is_(None),
                deliveries.c.status != "cancelled",
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).all())

    # -- deliveries --------------------------------------------------------------------------------------

    async def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(pg_insert(deliveries).on_conflict_do_nothing(), list(rows))

    async def cancel_pending(self, sub_id: str) -> None:
        await self.session.execute(
            update(deliveries)
            .where(deliveries.c.subscription_id == sub_id, deliveries.c.status == "pending")
            .values(status="cancelled")
        )

    async def claim(self, now: datetime, wall: datetime, lease: datetime, limit: int) -> list[Row[Any]]:
        result = await self.session.execute(_CLAIM, {"now": now, "wall": wall, "lease": lease, "limit": limit})
        return list(result.all())

    async def finish(self, delivery_id: int, attempt: int, values: dict[str, Any]) -> bool:
        """Record the outcome of attempt `attempt`, unless a later attempt took the delivery meanwhile."""
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.attempts == attempt, deliveries.c.status == "pending")
            .values(leased_until=None, **values)
            .returning(deliveries.c.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def log_attempt(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(attempts).values(**values))

    async def list_deliveries(self, sub_id: str, status: str | None, limit: int, offset: int) -> list[Row[Any]]:
        stmt = select(*(c for c in deliveries.c if c.name != "payload")).where(deliveries.c.subscription_id == sub_id)
        if status:
            stmt = stmt.where(deliveries.c.status == status)
        stmt = stmt.order_by(deliveries.c.id.desc()).limit(limit).offset(offset)
        return list((await self.session.execute(stmt)).all())

    async def delivery(self, sub_id: str, delivery_id: int) -> Row[Any] | None:
        stmt = select(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.subscription_id == sub_id)
        return (await self.session.execute(stmt)).first()

    async def attempts_of(self, delivery_id: int) -> list[Row[Any]]:
        stmt = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id)
        return list((await self.session.execute(stmt)).all())

    async def replay(self, sub_id: str, ids: Sequence[int] | None, now: datetime) -> int:
        """Dead deliveries back to pending with a fresh attempt budget; the same webhook-id goes out again."""
        stmt = update(deliveries).where(deliveries.c.subscription_id == sub_id, deliveries.c.status == "dead")
        if ids is not None:
            stmt = stmt.where(deliveries.c.id.in_(list(ids)))
        stmt = stmt.values(status="pending", attempts=0, next_attempt_at=now, dead_at=None, leased_until=None)
        result = await self.session.execute(stmt.returning(deliveries.c.id))
        return len(result.all())

    async def any_due(self, now: datetime) -> bool:
        """A delivery is due or being sent (a successor waiting behind a backed-off head is not due)."""
        return bool((await self.session.execute(_ANY_DUE, {"now": now})).scalar())
