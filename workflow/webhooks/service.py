"""Subscription commands: create (URL checked against the SSRF guard), rotate the secret, delete, replay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import Invalid, NotFound
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.guard import Refused, resolve_and_check
from workflow.webhooks.repository import WebhookRepository
from workflow.webhooks.schemas import RotateIn, SubscriptionIn
from workflow.webhooks.signing import new_secret


def owner_scope(who: Principal) -> str | None:
    """Admins see every subscription; an integrator only its own."""
    return None if who.role is Role.ADMIN else who.subject


class SubscriptionService:
    def __init__(self, session: AsyncSession, clock: Clock, settings: WebhookSettings) -> None:
        self.repo = WebhookRepository(session)
        self.clock = clock
        self.settings = settings

    async def load(self, sub_id: str, who: Principal) -> Row[Any]:
        row = await self.repo.subscription(sub_id, owner_scope(who))
        if row is None:
            raise NotFound(f"no subscription {sub_id}", field="subscription_id")
        return row

    async def create(self, body: SubscriptionIn, who: Principal) -> Row[Any]:
        try:
            await resolve_and_check(body.url, self.settings.allow_networks)
        except Refused as exc:
            raise Invalid(str(exc), field="url") from exc
        f = body.filters
        return await self.repo.add_subscription(
            {
                "id": str(uuid.uuid4()),
                "owner": who.subject,
                "url": body.url,
                "event_types": list(dict.fromkeys(body.event_types)),
                "department_code": f.department_code,
                "street_code": f.street_code,
                "channel": f.channel.value if f.channel else None,
                "description": body.description,
                "secret": new_secret(),
                "created_at": self.clock.now(),
            }
        )

    async def rotate(self, sub_id: str, body: RotateIn, who: Principal) -> Row[Any]:
        """A new secret signs from now on; the old one also signs for the window, so receivers can switch."""
        row = await self.load(sub_id, who)
        window = self.settings.rotation_window_s if body.window_s is None else body.window_s
        return await self.repo.update_subscription(
            row.id,
            {
                "secret": new_secret(),
                "previous_secret": row.secret,
                "previous_secret_until": self.clock.now() + timedelta(seconds=window),
            },
        )

    async def delete(self, sub_id: str, who: Principal) -> None:
        row = await self.load(sub_id, who)
        await self.repo.update_subscription(row.id, {"deleted_at": self.clock.now()})
        await self.repo.cancel_pending(row.id)

    async def replay(self, sub_id: str, ids: list[int] | None, who: Principal) -> int:
        row = await self.load(sub_id, who)
        return await self.repo.replay(row.id, ids, self.clock.now())
