"""Every read and write of the projection: inbox claims, case rows in and out, truncation.

Writes go as one `INSERT … SELECT FROM unnest(arrays)` per table, so a batch of thousands of
cases costs a handful of statements (the same path for one live event and for a bulk replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.models import READ_MODELS, case_facts, checkins, dispatches, escalations, inbox, reports
from analytics.projection import CaseRecord, CheckIn, Dispatch, Escalation, Fact

_ARRAY_TYPES: tuple[tuple[type, str], ...] = (
    (Text, "text[]"),
    (DateTime, "timestamptz[]"),
    (Integer, "int[]"),
    (Float, "float8[]"),
    (Boolean, "bool[]"),
)


def _array_type(table: Table, column: str) -> str:
    column_type = table.c[column].type
    for sa_type, pg_type in _ARRAY_TYPES:
        if isinstance(column_type, sa_type):
            return pg_type
    raise TypeError(f"no array type for {table.name}.{column}: {column_type}")


def _upsert_sql(table: Table, columns: Sequence[str], *, update: bool) -> str:
    keys = [c.name for c in table.primary_key.columns]
    arrays = ", ".join(f"CAST(:{name} AS {_array_type(table, name)})" for name in columns)
    sql = (
        f"INSERT INTO {table.schema}.{table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({arrays}) ON CONFLICT ({', '.join(keys)}) "
    )
    updates = [name for name in columns if name not in keys]
    if update and updates:
        return sql + "DO UPDATE SET " + ", ".join(f"{n} = excluded.{n}" for n in updates)
    return sql + "DO NOTHING"


_COLUMNS: dict[type, list[str]] = {cls: [f.name for f in fields(cls)] for cls in (Fact, Dispatch, CheckIn, Escalation)}
_SQL: dict[type, str] = {
    Fact: _upsert_sql(case_facts, _COLUMNS[Fact], update=True),
    Dispatch: _upsert_sql(dispatches, _COLUMNS[Dispatch], update=True),
    CheckIn: _upsert_sql(checkins, _COLUMNS[CheckIn], update=True),
    Escalation: _upsert_sql(escalations, _COLUMNS[Escalation], update=False),
}
_REPORTS_SQL = _upsert_sql(reports, ["report_id", "channel", "received_at"], update=False)


async def _write(session: AsyncSession, cls: type, rows: Sequence[Any]) -> None:
    """One statement for all rows: a column-wise array per field."""
    if rows:
        names = _COLUMNS[cls]
        await session.execute(text(_SQL[cls]), {name: [getattr(row, name) for row in rows] for name in names})


async def load(session: AsyncSession, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
    """The stored rows of these cases (cases never seen are absent)."""
    ids = list(case_ids)
    if not ids:
        return {}
    params = {"ids": ids}
    records: dict[str, CaseRecord] = {}
    fact_sql = f"SELECT {', '.join(_COLUMNS[Fact])} FROM analytics.case_facts WHERE case_id = ANY(CAST(:ids AS text[]))"
    for row in await session.execute(text(fact_sql), params):
        records[row.case_id] = CaseRecord(Fact(*row))
    dispatch_sql = (
        f"SELECT {', '.join(_COLUMNS[Dispatch])} FROM analytics.dispatches "
        "WHERE case_id = ANY(CAST(:ids AS text[])) ORDER BY case_id, seq"
    )
    for row in await session.execute(text(dispatch_sql), params):
        records[row.case_id].dispatches.append(Dispatch(*row))
    checkin_sql = (
        f"SELECT {', '.join(_COLUMNS[CheckIn])} FROM analytics.checkins "
        "WHERE case_id = ANY(CAST(:ids AS text[])) ORDER BY case_id, whistle_seq, department_code"
    )
    for row in await session.execute(text(checkin_sql), params):
        records[row.case_id].checkins.append(CheckIn(*row))
    return records


async def save(session: AsyncSession, records: Iterable[CaseRecord]) -> None:
    """Upsert the rows of these cases; escalations are append-only."""
    batch = list(records)
    await _write(session, Fact, [r.fact for r in batch])
    await _write(session, Dispatch, [d for r in batch for d in r.dispatches])
    await _write(session, CheckIn, [ci for r in batch for ci in r.checkins])
    await _write(session, Escalation, [e for r in batch for e in r.escalations])


async def add_reports(session: AsyncSession, rows: Mapping[str, tuple[str, Any]]) -> None:
    """Received reports by id: (channel, received_at); a report seen before is left as it was."""
    if rows:
        ids = list(rows)
        await session.execute(
            text(_REPORTS_SQL),
            {
                "report_id": ids,
                "channel": [rows[i][0] for i in ids],
                "received_at": [rows[i][1] for i in ids],
            },
        )


async def truncate(session: AsyncSession) -> None:
    """Empty every read model and the inbox, so a replay from offset zero rebuilds them."""
    names = ", ".join(f"{t.schema}.{t.name}" for t in (*READ_MODELS, inbox))
    await session.execute(text(f"TRUNCATE {names}"))


TARGET_COLUMNS = ("target_id", "score", "scope", "unit", "period", "value", "note", "set_by", "set_at")


async def set_target(session: AsyncSession, row: Mapping[str, Any]) -> tuple[dict[str, Any], float | None]:
    """Insert or replace the target of (score, scope, unit, period) and record the change; returns it and the
    value it replaced (None when new)."""
    old = (
        await session.execute(
            text(
                "SELECT target_id, value FROM analytics.targets "
                "WHERE score = :score AND scope = :scope AND unit = :unit AND period = :period FOR UPDATE"
            ),
            row,
        )
    ).first()
    stored = {**row, "target_id": old.target_id if old else row["target_id"]}
    await session.execute(
        text(
            f"INSERT INTO analytics.targets ({', '.join(TARGET_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in TARGET_COLUMNS)}) "
            "ON CONFLICT (target_id) DO UPDATE SET value = excluded.value, note = excluded.note, "
            "set_by = excluded.set_by, set_at = excluded.set_at"
        ),
        stored,
    )
    await _record_change(
        session,
        stored["target_id"],
        "changed" if old else "set",
        old.value if old else None,
        row["value"],
        row["note"],
        row["set_by"],
        row["set_at"],
    )
    return stored, old.value if old else None


async def delete_target(session: AsyncSession, target_id: str, actor: str, at: Any) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"DELETE FROM analytics.targets WHERE target_id = :id RETURNING {', '.join(TARGET_COLUMNS)}"),
                {"id": target_id},
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        await _record_change(session, target_id, "deleted", row["value"], None, None, actor, at)
    return dict(row) if row else None


async def _record_change(
    session: AsyncSession,
    target_id: str,
    action: str,
    old: float | None,
    new: float | None,
    note: str | None,
    actor: str,
    at: Any,
) -> None:
    await session.execute(
        text(
            "INSERT INTO analytics.target_changes (target_id, action, old_value, new_value, note, actor, at) "
            "VALUES (:target_id, :action, :old, :new, :note, :actor, :at)"
        ),
        {"target_id": target_id, "action": action, "old": old, "new": new, "note": note, "actor": actor, "at": at},
    )


async def targets(session: AsyncSession, period: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE period = :period" if period else ""
    result = await session.execute(
        text(f"SELECT {', '.join(TARGET_COLUMNS)} FROM analytics.targets{where} ORDER BY period, score, scope, unit"),
        {"period": period},
    )
    return [dict(m) for m in result.mappings()]


async def target_changes(session: AsyncSession, target_id: str) -> list[dict[str, Any]]:
    result = await session.execute(
        text(
            "SELECT change_id, target_id, action, old_value, new_value, note, actor, at FROM analytics.target_changes "
            "WHERE target_id = :id ORDER BY change_id"
        ),
        {"id": target_id},
    )
    return [dict(m) for m in result.mappings()]
