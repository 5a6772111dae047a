"""Rows appended at commit: writes nothing in the transaction reads back (outbox events, audit rows) are staged
on the session and written by one statement per table when it commits, however many units of work staged them.
A rolled-back transaction drops them with the rest of its work.

The statement is an `INSERT … SELECT FROM unnest(…)` with one array parameter per column: its text depends
only on the table and the columns given, so it is prepared once, and PostgreSQL executes it once for the
whole run (an executemany runs the insert once per row: 3–4 outbox rows and 1–2 audit rows per report)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from itertools import groupby
from typing import Any

import orjson
from sqlalchemy import Table, TextClause, event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_STAGED = "cityloop.staged_rows"
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def stage(session: AsyncSession, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Append `rows` to `table` when the session's transaction commits (in staging order)."""
    staged: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_STAGED, {})
    staged.setdefault(table, []).extend(rows)


@cache
def _insert_unnest(table: Table, columns: tuple[str, ...]) -> TextClause:
    """`INSERT INTO table (columns) SELECT … FROM unnest(:c0::type[], …)`; JSONB travels as text and is cast."""
    arrays, selected = [], []
    for i, name in enumerate(columns):
        column = table.c[name]
        is_json = isinstance(column.type, JSONB)
        arrays.append(f"CAST(:c{i} AS {'TEXT' if is_json else column.type.compile(dialect=_DIALECT)}[])")
        selected.append(f"u{i}::jsonb" if is_json else f"u{i}")
    target = ".".join(f'"{part}"' for part in table.fullname.split("."))
    names = ", ".join(f'"{name}"' for name in columns)
    aliases = ", ".join(f"u{i}" for i in range(len(columns)))
    # in array order, so identities (the outbox's publish order) follow the staging order
    return text(
        f"INSERT INTO {target} ({names}) SELECT {', '.join(selected)} "
        f"FROM unnest({', '.join(arrays)}) WITH ORDINALITY AS u({aliases}, n) ORDER BY n"
    )


def _arrays(table: Table, columns: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    out = {}
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSONB):
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        out[f"c{i}"] = values
    return out


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    """Part of the commit: the staged rows are written in the transaction they belong to, in staging order
    (a run of rows that give the same columns is one statement)."""
    staged = session.info.pop(_STAGED, None)
    for table, rows in (staged or {}).items():
        for columns, run in groupby(rows, key=lambda row: tuple[str, ...](row)):
            session.execute(_insert_unnest(table, columns), _arrays(table, columns, list(run)))


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
