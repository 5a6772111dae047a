"""How a service handles bus events: one transaction per batch, inbox for idempotency, outbox for effects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.base import InMessage
from shared.clock import Clock
from shared.contracts import Envelope, parse_body
from shared.contracts.common import Contract
from shared.db.outbox import Inbox, Outbox
from shared.logging import bind_ids


class PermanentError(Exception):
    """A message that can never be handled (unreadable, unknown shape): dead-letter it without retrying."""


@dataclass
class HandlerContext:
    session: AsyncSession
    envelope: Envelope
    outbox: Outbox
    clock: Clock
    services: Mapping[str, Any]

    async def emit(self, body: Contract, *, subject: str) -> Envelope:
        return await self.outbox.add(self.session, body, subject=subject)


EventHandler = Callable[[HandlerContext, Any], Awaitable[None]]
BatchPrepare = Callable[[AsyncSession, Sequence[InMessage]], Awaitable[None]]
"""Runs first in a batch's transaction, before any handler: e.g. takes every lock the batch needs in one order."""


class InboxProcessor:
    """Runs registered handlers on a batch of messages inside one transaction, skipping redeliveries."""

    def __init__(
        self,
        consumer: str,
        handlers: Mapping[str, EventHandler],
        sessions: async_sessionmaker[AsyncSession],
        inbox: Inbox,
        outbox: Outbox,
        clock: Clock,
        services: Mapping[str, Any] | None = None,
        prepare: BatchPrepare | None = None,
    ) -> None:
        self.consumer = consumer
        self.handlers = handlers
        self.sessions = sessions
        self.inbox = inbox
        self.outbox = outbox
        self.clock = clock
        self.services = services or {}
        self.prepare = prepare

    async def handle_batch(self, messages: Sequence[InMessage]) -> None:
        async with self.sessions() as session, session.begin():
            if self.prepare is not None:
                await self.prepare(session, messages)
            for message in messages:
                await self._handle(session, message)
        self.outbox.notify()

    async def _handle(self, session: AsyncSession, message: InMessage) -> None:
        try:
            envelope = Envelope.from_bytes(message.value)
        except (ValueError, ValidationError) as exc:
            raise PermanentError(f"unreadable envelope: {exc}") from exc
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return
        try:
            body = parse_body(envelope)
        except (KeyError, ValidationError) as exc:
            raise PermanentError(f"invalid {envelope.type} body: {exc}") from exc
        if not await self.inbox.claim(session, self.consumer, envelope.id):
            return
        with bind_ids(report_id=envelope.reportid, case_id=envelope.caseid, event_type=envelope.type):
            await handler(HandlerContext(session, envelope, self.outbox, self.clock, self.services), body)
