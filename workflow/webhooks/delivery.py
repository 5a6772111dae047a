"""The delivery worker: sends due deliveries, in order per case per endpoint, with backoff, jitter and leases.

A claim (a short transaction) leases the head delivery of each (subscription, case) and counts the
attempt; the HTTP call runs outside any transaction; a second short transaction records the outcome.
A worker that dies mid-send leaves a lease that runs out, and the delivery goes again with the same
`webhook-id` (at-least-once). Receivers are called concurrently, each with a timeout, so a slow one
holds only its own slots, and nothing here ever touches the case pipeline's transactions.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.logging import get_logger
from shared.service import ServiceRuntime
from workflow.webhooks import feedback
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.guard import Refused, check_url_shape, guarded_client
from workflow.webhooks.repository import WebhookRepository
from workflow.webhooks.signing import headers

log = get_logger(__name__)


def backoff(attempt: int, settings: WebhookSettings, rng: random.Random | None = None) -> timedelta:
    """Wait after failed attempt `attempt` (1-based): between half and all of min(cap, base·2^(attempt-1))."""
    ceiling = min(settings.backoff_cap_s, settings.backoff_base_s * 2 ** min(attempt - 1, 62))
    return timedelta(seconds=ceiling * (0.5 + 0.5 * (rng or random).random()))


def signing_secrets(row: Row[Any], now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation window lasts."""
    out = [row.secret]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
        out.append(row.previous_secret)
    return out


class Deliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: WebhookSettings,
        hotline_secret: str = "",
        client: httpx.AsyncClient | None = None,
        hotline_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.hotline_secret = hotline_secret
        self.clock = clock
        self.settings = settings
        self.client = client or guarded_client(settings.allow_networks, settings.timeout_s)
        """Subscribers' URLs: every connection pinned to an address the SSRF guard checked."""
        self.hotline_client = hotline_client or httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False)
        """The hotline's callback URL, configured by the operator (often on the government network)."""
        self.running: set[asyncio.Task[None]] = set()

    async def claim(self, limit: int) -> list[Row[Any]]:
        wall = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            return await WebhookRepository(session).claim(
                self.clock.now(), wall, wall + timedelta(seconds=self.settings.lease_s), limit
            )

    async def send(self, row: Row[Any]) -> tuple[int | None, str | None]:
        """(HTTP status, error): success is any 2xx; redirects are failures (they could point inside)."""
        if row.scheme == "hotline":  # configured by the operator, not by a caller: no SSRF guard
            sign = feedback.signed_headers(self.hotline_secret, row.payload, row.event_id)
            client = self.hotline_client
        else:
            try:
                check_url_shape(row.url)
            except Refused as exc:
                return None, f"refused: {exc}"
            sign = headers(row.event_id, row.payload, signing_secrets(row, self.clock.now()))
            client = self.client
        try:
            response = await client.post(row.url, content=row.payload, headers=sign, timeout=self.settings.timeout_s)
        except Refused as exc:  # raised by the pinned connection: the name resolved to a refused address
            return None, f"refused: {exc}"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"

    async def deliver(self, row: Row[Any]) -> None:
        started = time.perf_counter()
        status, error = await self.send(row)
        duration = int((time.perf_counter() - started) * 1000)
        now = self.clock.now()
        values: dict[str, Any] = {"last_status": status, "last_error": error}
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif row.attempts >= self.settings.max_attempts:
            values.update(status="dead", dead_at=now)
        else:
            values["next_attempt_at"] = now + backoff(row.attempts, self.settings)
        try:
            async with self.sessions() as session, session.begin():
                repo = WebhookRepository(session)
                await repo.log_attempt(
                    {
                        "delivery_id": row.id,
                        "attempt": row.attempts,
                        "at": now,
                        "status_code": status,
                        "error": error,
                        "duration_ms": duration,
                    }
                )
                await repo.finish(row.id, row.attempts, values)
        except Exception as exc:  # the database is away: the lease runs out and the delivery goes again
            log.warning("webhook_outcome_not_recorded", delivery_id=row.id, error=repr(exc))
            return
        if error is not None:
            log.info(
                "webhook_attempt_failed",
                delivery_id=row.id,
                attempt=row.attempts,
                error=error,
                dead=values.get("status") == "dead",
            )

    async def step(self) -> int:
        """Claim what free slots allow and start sending; returns how many were started."""
        self.running = {t for t in self.running if not t.done()}
        free = self.settings.concurrency - len(self.running)
        if free <= 0:
            return 0
        rows = await self.claim(free)
        for row in rows:
            task = asyncio.create_task(self.deliver(row), name=f"webhook:{row.id}")
            self.running.add(task)
        return len(rows)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        try:
            while stop is None or not stop.is_set():
                try:
                    await self.step()
                except Exception as exc:  # database away: nothing is lost, the rows stay pending
                    log.warning("webhook_claim_failed", error=repr(exc))
                    await asyncio.sleep(1.0)
                    continue
                # Wake when a send finishes (its case's next delivery may now go) or the poll interval passes.
                pending = [t for t in self.running if not t.done()]
                if pending:
                    await asyncio.wait(
                        pending, timeout=self.settings.poll_interval_s, return_when=asyncio.FIRST_COMPLETED
                    )
                else:
                    await asyncio.sleep(self.settings.poll_interval_s)
        finally:
            for task in self.running:
                task.cancel()

    async def any_due(self) -> bool:
        async with self.sessions() as session:
            return await WebhookRepository(session).any_due(self.clock.now())


def deliverer_of(runtime: ServiceRuntime) -> Deliverer:
    deliverer: Deliverer = runtime.services["workflow.webhooks"]
    return deliverer


async def ensure_hotline_subscription(runtime: ServiceRuntime, settings: WebhookSettings) -> None:
    """The built-in subscription behind the 12345 feedback, kept in step with configuration at start-up."""
    if not settings.hotline_callback_url:
        return
    async with runtime.transaction() as session:
        await WebhookRepository(session).ensure_subscription(
            {
                "id": feedback.SUBSCRIPTION_ID,
                "owner": feedback.OWNER,
                "url": settings.hotline_callback_url,
                "event_types": sorted(feedback.STATUS_OF.values()),
                "scheme": "hotline",
                "secret": "-",
                "description": "12345 result feedback (办理结果)",
                "created_at": runtime.clock.now(),
            }
        )


async def webhook_worker(runtime: ServiceRuntime) -> None:
    """SERVICE.workers entry: this process's delivery worker."""
    await deliverer_of(runtime).run()
