"""Rows appended at commit: writes nothing in the transaction reads back (outbox events, audit rows) are staged
on the session and written by one statement per table when it commits, however many units of work staged them.
A rolled-back transaction drops them with the rest of its work."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_STAGED = "cityloop.staged_rows"


def stage(session: AsyncSession, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Append `rows` to `table` when the session's transaction commits (in staging order)."""
    staged: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_STAGED, {})
    staged.setdefault(table, []).extend(rows)


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    """Part of the commit: the staged rows are written in the transaction they belong to."""
    staged = session.info.pop(_STAGED, None)
    for table, rows in (staged or {}).items():
        if rows:
            session.execute(insert(table), rows)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
