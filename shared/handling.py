"""How a service handles bus events: one transaction per batch, inbox for idempotency, outbox for effects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
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
BatchPrepare = Callable[[AsyncSession, Sequence[tuple[Envelope, Any]]], Awaitable[None]]
"""Runs first in a batch's transaction, before any handler, with the batch's parsed events (redeliveries
included): e.g. takes every lock the batch needs in one order."""


@dataclass
class BatchContext:
    """What a batch fold gets: the batch's transaction and the service's outbox, clock and singletons."""

    session: AsyncSession
    outbox: Outbox
    clock: Clock
    services: Mapping[str, Any]

    def event(self, envelope: Envelope) -> HandlerContext:
        """The per-event context, for the events a fold hands to their single-event handler."""
        return HandlerContext(self.session, envelope, self.outbox, self.clock, self.services)


BatchFold = Callable[[BatchContext, Sequence[tuple[Envelope, Any]]], Awaitable[None]]
"""Handles all new events of one batch at once (in bus order), e.g. with one statement per table."""


RunHandler = Callable[[BatchContext, Sequence[Any]], Awaitable[None]]
"""Handles a run of consecutive events of one type (their bodies, in bus order) at once."""


def run_of_one(run: RunHandler) -> EventHandler:
    """A run handler as its type's entry in the handler table: one event is a run of one."""

    async def handle(ctx: HandlerContext, body: Any) -> None:
        await run(BatchContext(ctx.session, ctx.outbox, ctx.clock, ctx.services), [body])

    return handle


def fold_runs(
    handlers: Mapping[str, EventHandler], runs: Mapping[str, RunHandler], *, gather: bool = False
) -> BatchFold:
    """A fold that hands each run of consecutive events of a type in `runs` to that type's run handler (one
    statement per table for the run, not per event) and every other event to its handler, in bus order.

    With `gather` the events of the types in `runs` are moved together first (`gathered`): for handlers whose
    events of different types commute, a batch then costs one run per type instead of one per alternation."""

    async def fold(batch: BatchContext, events: Sequence[tuple[Envelope, Any]]) -> None:
        for event_type, run in groupby(gathered(events, runs) if gather else events, key=lambda event: event[0].type):
            if event_type in runs:
                await runs[event_type](batch, [body for _, body in run])
                continue
            for envelope, body in run:
                with bind_ids(report_id=envelope.reportid, case_id=envelope.caseid, event_type=envelope.type):
                    await handlers[envelope.type](batch.event(envelope), body)

    return fold


def gathered(events: Sequence[tuple[Envelope, Any]], types: Iterable[str]) -> list[tuple[Envelope, Any]]:
    """The events with those of `types` moved together, type by type in the order of `types`, within each
    stretch between events of other types (which stay where they are, as barriers); otherwise in bus order."""
    out: list[tuple[Envelope, Any]] = []
    held: dict[str, list[tuple[Envelope, Any]]] = {t: [] for t in types}

    def release() -> None:
        for waiting in held.values():
            out.extend(waiting)
            waiting.clear()

    for event in events:
        if event[0].type in held:
            held[event[0].type].append(event)
        else:
            release()
            out.append(event)
    release()
    return out


class InboxProcessor:
    """Runs registered handlers on a batch of messages inside one transaction, skipping redeliveries.

    `handlers` says which event types the consumer takes (and handles each one); a service may give a `fold`
    that takes all new events of the batch at once instead: same transaction, same inbox, one code path.
    """

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
        fold: BatchFold | None = None,
    ) -> None:
        self.consumer = consumer
        self.fold = fold
        self.handlers = handlers
        self.sessions = sessions
        self.inbox = inbox
        self.outbox = outbox
        self.clock = clock
        self.services = services or {}
        self.prepare = prepare

    async def handle_batch(self, messages: Sequence[InMessage]) -> None:
        """One transaction and one inbox statement for the whole batch, then each new event's handler in order.

        An unreadable message fails the batch before anything is written; the consumer loop then handles the
        messages one by one, so only that one is dead-lettered.
        """
        parsed = [self._parse(message) for message in messages]
        wanted = [(envelope, body) for envelope, body in parsed if body is not None]
        if not wanted:
            return
        async with self.sessions() as session, session.begin():
            if self.prepare is not None:
                await self.prepare(session, wanted)
            fresh = await self.inbox.claim_many(session, self.consumer, [envelope.id for envelope, _ in wanted])
            new: list[tuple[Envelope, Any]] = []
            for envelope, body in wanted:
                if envelope.id in fresh:  # else a redelivery, or the same event twice in this batch
                    fresh.discard(envelope.id)
                    new.append((envelope, body))
            if self.fold is not None:
                if new:
                    await self.fold(BatchContext(session, self.outbox, self.clock, self.services), new)
            else:
                for envelope, body in new:
                    with bind_ids(report_id=envelope.reportid, case_id=envelope.caseid, event_type=envelope.type):
                        await self.handlers[envelope.type](
                            HandlerContext(session, envelope, self.outbox, self.clock, self.services), body
                        )
        self.outbox.notify(session)

    def _parse(self, message: InMessage) -> tuple[Envelope, Any]:
        """The envelope and its body; the body is None for an event type this consumer does not handle."""
        try:
            envelope = Envelope.from_bytes(message.value)
        except (ValueError, ValidationError) as exc:
            raise PermanentError(f"unreadable envelope: {exc}") from exc
        if envelope.type not in self.handlers:
            return envelope, None
        try:
            return envelope, parse_body(envelope)
        except (KeyError, ValidationError) as exc:
            raise PermanentError(f"invalid {envelope.type} body: {exc}") from exc
