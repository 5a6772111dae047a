"""Transactional outbox and inbox tables, added to each service's own schema.

A service writes its state change and the events it causes in one transaction (`Outbox.add`);
the relay publishes them afterwards. Consumers record each handled event id in the inbox in the
transaction of its effect, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.contracts import Envelope, make_envelope, topic_of
from shared.contracts.common import Contract
from shared.db.staging import stage

_EMITTED = "cityloop.outbox_emitted"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Text, primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Outbox:
    """Stages events in the caller's transaction; publishing is the relay's job."""

    def __init__(self, table: Table, source: str, clock: Clock) -> None:
        self.table = table
        self.source = source
        self.clock = clock
        """The service's one clock: an envelope's `time` is the city time of the event it carries."""
        self.committed = asyncio.Event()
        """Set after a transaction of this process that may have staged events commits: wakes the relay."""

    def notify(self, session: AsyncSession | None = None) -> None:
        """Wake the relay after a commit; given the committed session, only if it staged events (a consumer's
        batch that only updated its own tables would otherwise cost the relay a claim that finds nothing)."""
        if session is None or session.info.pop(_EMITTED, False):
            self.committed.set()

    def envelope(self, body: Contract, subject: str) -> Envelope:
        return make_envelope(body, source=self.source, subject=subject, time=self.clock.now())

    async def add(self, session: AsyncSession, body: Contract, *, subject: str) -> Envelope:
        envelope = self.envelope(body, subject)
        await self.add_envelopes(session, [(topic_of(body), envelope)])
        return envelope

    async def add_envelopes(self, session: AsyncSession, items: Sequence[tuple[str, Envelope]]) -> None:
        """Staged on the session and written by one statement when the transaction commits (`staging`):
        a batch of a hundred events costs one round trip, not a hundred."""
        stage(session, self.table, ({"topic": t, "key": e.subject, "payload": e.to_bytes()} for t, e in items))
        session.info[_EMITTED] = True


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table
        name = ".".join(f'"{part}"' for part in table.fullname.split("."))
        self._claim_many = text(
            f"INSERT INTO {name} (consumer, event_id) SELECT :consumer, unnest(:ids) "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        ).bindparams(bindparam("ids", type_=ARRAY(Text)))

    async def claim(self, session: AsyncSession, consumer: str, event_id: str) -> bool:
        """True the first time this consumer sees the event, False on any redelivery."""
        stmt = (
            pg_insert(self.table)
            .values(consumer=consumer, event_id=event_id)
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return (await session.execute(stmt)).first() is not None

    async def claim_many(self, session: AsyncSession, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ids this consumer sees for the first time, in one statement whatever their number."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return set()
        result = await session.execute(self._claim_many, {"consumer": consumer, "ids": ids})
        return set(result.scalars())
