"""The driver's own connection, for the few statements a service runs for every report.

SQLAlchemy costs about as much CPU per statement as asyncpg itself (building the statement, its cache key,
the greenlet hop, result processing): measured on the 2-core bench machine, 0.30 ms against 0.15 ms for an
insert returning its row. The hottest statements therefore run as SQL text on the asyncpg connection under
the session, inside the session's transaction (asyncpg prepares and caches them by their text); everything
else stays on SQLAlchemy. JSONB parameters are passed as JSON text (the dialect's codec on the connection),
and JSONB results come back decoded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_DRIVER = "cityloop.driver_connection"


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction.

    SQLAlchemy's adapter sends BEGIN only with its first statement: if none ran yet, one does now, or the
    driver's statements would each commit on their own."""
    connection: Any = session.info.get(_DRIVER)
    if connection is None:
        raw = await (await session.connection()).get_raw_connection()
        connection = raw.driver_connection
        if not connection.is_in_transaction():
            await session.execute(text("SELECT 1"))
        session.info[_DRIVER] = connection
    return connection


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, _: SessionTransaction) -> None:
    """The next transaction may run on another pooled connection."""
    session.info.pop(_DRIVER, None)


class Record:
    """A row read on the driver's connection, read like a SQLAlchemy Row: `row.id`."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Record({dict(self._record)!r})"
