"""Every query of the workflow package; nothing else touches the session's SQL."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.driver import Record, driver
from shared.db.engine import lock_key, xact_locks
from shared.db.staging import stage
from workflow.models import (
    audit,
    case_counters,
    case_departments,
    case_reports,
    cases,
    deadlines,
    parked_events,
    timers,
    whistles,
)

ACTIVE = "active"
CaseRow = Row[Any] | Record
"""A case as read (a SQLAlchemy row) or as just written on the driver's connection: read by attribute."""
_AUDIT_COLUMNS = (
    "case_id",
    "version",
    "at",
    "actor_id",
    "actor_role",
    "actor_unit",
    "action",
    "from_state",
    "to_state",
    "reason",
    "payload",
    "event_id",
)


@dataclass(frozen=True, slots=True)
class NewDeadline:
    """A clock about to open: its row and the instants its timers fire at (by step)."""

    case_id: str
    kind: str
    department_code: str | None
    whistle_id: int | None
    basis: str
    start_at: datetime
    due_at: datetime
    warnings: Sequence[str]
    timers: dict[str, datetime]


# Each timer finds its deadline's generated id by (case, kind), which one statement never opens twice.
_INSERT_DEADLINES = f"""
    WITH d AS (
        INSERT INTO {deadlines.fullname}
            (case_id, kind, department_code, whistle_id, basis, start_at, due_at, warnings)
        SELECT case_id, kind, department_code, whistle_id, basis, start_at, due_at, warnings::jsonb
        FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[],
                    $7::timestamptz[], $8::text[])
             AS n(case_id, kind, department_code, whistle_id, basis, start_at, due_at, warnings)
        RETURNING id, case_id, kind
    )
    INSERT INTO {timers.fullname} (case_id, deadline_id, kind, fire_kind, due_at)
    SELECT d.case_id, d.id, d.kind, t.fire_kind, t.due_at
    FROM unnest($9::text[], $10::text[], $11::text[], $12::timestamptz[]) AS t(case_id, kind, fire_kind, due_at)
    JOIN d USING (case_id, kind)
    ON CONFLICT DO NOTHING
"""
_INSERT_TIMERS = f"""
    INSERT INTO {timers.fullname} (case_id, deadline_id, kind, fire_kind, due_at)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[])
    ON CONFLICT DO NOTHING
"""
_CASE_JSON = frozenset(c.name for c in cases.c if isinstance(c.type, JSONB))


def _case_params(values: dict[str, Any]) -> tuple[tuple[str, ...], list[Any]]:
    """Column names in a stable order and their values, JSONB ones as JSON text (see shared.db.driver)."""
    columns = tuple(sorted(values))
    return columns, [orjson.dumps(values[c]).decode() if c in _CASE_JSON else values[c] for c in columns]


def _case_columns(columns: tuple[str, ...]) -> None:
    """Column names become SQL text: only the table's own."""
    if unknown := set(columns) - set(cases.c.keys()):
        raise ValueError(f"not columns of {cases.fullname}: {sorted(unknown)}")


@functools.cache
def _update_case_sql(columns: tuple[str, ...]) -> str:
    _case_columns(columns)
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, 2))
    return f"UPDATE {cases.fullname} SET {sets} WHERE id = $1 RETURNING *"


_ADD_REPORTS = f"""INSERT INTO {case_reports.fullname} (case_id, report_id, channel, is_primary, attached_at,
        external_id, deadline_profile, hotline_class, received_at, result_due_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::timestamptz[], $6::text[], $7::text[],
        $8::text[], $9::timestamptz[], $10::timestamptz[])
    ON CONFLICT DO NOTHING RETURNING report_id"""
# Being assigned outranks having been summoned.
_ASSIGN_MANY = f"""INSERT INTO {case_departments.fullname} AS d (case_id, department_code, relation, since)
    SELECT case_id, department_code, 'assigned', since FROM unnest($1::text[], $2::text[], $3::timestamptz[])
        AS n(case_id, department_code, since)
    ON CONFLICT (case_id, department_code) DO UPDATE SET relation = 'assigned'"""


@functools.cache
def _insert_cases_sql(columns: tuple[str, ...]) -> str:
    """New cases (`$4`, a JSON array of `$3` rows) and their numbers in one statement: the day's counter
    (row-locked until commit) gives each its sequence in the array's order, after `$1`, the prefix and day
    (`DC20261123`), at least six digits."""
    _case_columns(columns)
    names = ", ".join(columns)
    return f"""
    WITH seq AS (
        INSERT INTO {case_counters.fullname} AS c (day, last) VALUES ($2, $3)
        ON CONFLICT (day) DO UPDATE SET last = c.last + $3 RETURNING last
    )
    INSERT INTO {cases.fullname} (case_no, {names})
    SELECT $1 || lpad(k.n::text, greatest(6, length(k.n::text)), '0'), {", ".join(f"r.{c}" for c in columns)}
    FROM seq, jsonb_populate_recordset(NULL::{cases.fullname}, $4::jsonb) WITH ORDINALITY AS r,
         LATERAL (SELECT seq.last - $3 + r.ordinality AS n) AS k
    ORDER BY r.ordinality
    RETURNING *"""


_CLAIM_VERSION = f"UPDATE {cases.fullname} SET version = $2 + 1 WHERE id = $1 AND version = $2 RETURNING id"
_CLAIM_VERSIONS = f"""UPDATE {cases.fullname} c SET version = v.new, updated_at = $4
    FROM unnest($1::text[], $2::int[], $3::int[]) AS v(id, old, new) WHERE c.id = v.id AND c.version = v.old
    RETURNING c.id"""
_SUMMON = f"""INSERT INTO {case_departments.fullname} (case_id, department_code, relation, since)
    VALUES ($1, $2, 'summoned', $3) ON CONFLICT (case_id, department_code) DO NOTHING"""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which cases a caller may see: all, those a department was ever given, those in one street or community."""

    department: str | None = None
    street: str | None = None
    community: str | None = None

    def clause(self) -> Any:
        if self.department is not None:
            return exists().where(
                case_departments.c.case_id == cases.c.id, case_departments.c.department_code == self.department
            )
        if self.street is not None:
            return cases.c.street_code == self.street
        if self.community is not None:
            return cases.c.community_code == self.community
        return text("true")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    states: Sequence[str] = ()
    department_code: str | None = None
    street_code: str | None = None
    current_only: bool = False
    """For a department: only the cases assigned to it now, not those it once had or was summoned to."""
    level: str | None = None


@dataclass(frozen=True, slots=True)
class CaseReport:
    """A report joining a case; a merged caller's row also holds what it is owed (`workflow.callers`)."""

    case_id: str
    report_id: str
    channel: str
    is_primary: bool
    attached_at: datetime
    external_id: str | None = None
    deadline_profile: str | None = None
    hotline_class: str | None = None
    received_at: datetime | None = None
    result_due_at: datetime | None = None


@dataclass(slots=True)
class LockedReports:
    """What a batch's transaction knows of the reports whose locks it holds: which have a case, which have
    events parked for them. Every writer of either takes the report's lock first, so nothing else changes them
    until the transaction ends; the repository keeps the sets up to date with its own writes."""

    ids: set[str]
    with_case: set[str]
    parked: set[str]

    def lacks_case(self, report_id: str) -> bool:
        return report_id in self.ids and report_id not in self.with_case

    def lacks_parked(self, report_id: str) -> bool:
        return report_id in self.ids and report_id not in self.parked


_LOCKED = "workflow.locked_reports"


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._locked: LockedReports | None = session.info.get(_LOCKED)

    # -- cases -------------------------------------------------------------------------------------

    async def insert_cases(self, values: Sequence[dict[str, Any]], prefix: str, day: date) -> list[CaseRow]:
        """New cases filed the same day, numbered in the given order, in one statement whatever their number."""
        if not values:
            return []
        columns = tuple(sorted(values[0]))
        sql = _insert_cases_sql(columns)
        document = orjson.dumps([{c: v[c] for c in columns} for v in values]).decode()
        found = await (await driver(self.session)).fetch(sql, f"{prefix}{day:%Y%m%d}", day, len(values), document)
        rows = {r["id"]: Record(r) for r in found}
        return [rows[v["id"]] for v in values]

    async def update_case(self, case_id: str, values: dict[str, Any]) -> CaseRow:
        columns, params = _case_params(values)
        return Record(await (await driver(self.session)).fetchrow(_update_case_sql(columns), case_id, *params))

    async def find_case(self, ref: str, scope: Scope) -> Row[Any] | None:
        """A case by id or case number, if `scope` sees it."""
        stmt = select(cases).where(or_(cases.c.id == ref, cases.c.case_no == ref), scope.clause())
        return (await self.session.execute(stmt)).first()

    async def claim_version(self, case_id: str, version: int) -> bool:
        """Compare-and-set: move the case from `version` to the next one, or False if someone else did first.

        The row stays locked until the transaction ends, so the rest of the command runs alone; a
        concurrent command that read the same version waits here, then finds it gone and gets a 409.
        """
        return await (await driver(self.session)).fetchval(_CLAIM_VERSION, case_id, version) is not None

    async def claim_versions(self, moves: dict[str, tuple[int, int]], at: datetime) -> set[str]:
        """`claim_version` for several cases at once (case → (version read, version after its moves)), each
        set straight to its last version: the ids whose version was still the one read."""
        ids = list(moves)
        old, new = zip(*(moves[i] for i in ids), strict=True) if ids else ((), ())
        found = await (await driver(self.session)).fetch(_CLAIM_VERSIONS, ids, list(old), list(new), at)
        return {r["id"] for r in found}

    async def lock_reports(self, report_ids: Iterable[str]) -> None:
        """Serialise filing a report's case with parking events that wait for it (replicas: see `prepare`)."""
        await xact_locks(self.session, [lock_key("workflow", "report", r) for r in report_ids])

    async def lock_batch_reports(self, report_ids: Sequence[str]) -> None:
        """A batch's report locks, and in one more round trip which of them have a case or parked events: the
        handlers then skip those two lookups per report (`LockedReports`)."""
        await self.lock_reports(report_ids)
        ids = sorted(set(report_ids))
        with_case = select(case_reports.c.report_id, literal("case")).where(case_reports.c.report_id.in_(ids))
        parked = select(parked_events.c.awaits_report_id, literal("parked")).where(
            parked_events.c.awaits_report_id.in_(ids)
        )
        rows = (await self.session.execute(with_case.union(parked))).all()
        self._locked = self.session.info[_LOCKED] = LockedReports(
            set(ids), {r[0] for r in rows if r[1] == "case"}, {r[0] for r in rows if r[1] == "parked"}
        )

    async def case_for_report(self, report_id: str, *, lock: bool = False) -> Row[Any] | None:
        """The case holding a report; `lock` (FOR NO KEY UPDATE) makes event handlers wait for a concurrent
        command instead of losing the compare-and-set and retrying the whole batch."""
        if self._locked is not None and self._locked.lacks_case(report_id):
            return None
        stmt = (
            select(cases)
            .join(case_reports, case_reports.c.case_id == cases.c.id)
            .where(case_reports.c.report_id == report_id)
        )
        if lock:
            stmt = stmt.with_for_update(key_share=True, of=cases)  # renders FOR NO KEY UPDATE
        return (await self.session.execute(stmt)).first()

    async def cases_for_reports(self, report_ids: Iterable[str]) -> dict[str, Row[Any]]:
        """`case_for_report(…, lock=True)` for several reports in one statement (report → its case, for those
        that have one), the cases locked in id order so that two batches never wait for each other in a ring."""
        ids = sorted({r for r in report_ids if self._locked is None or not self._locked.lacks_case(r)})
        if not ids:
            return {}
        held = case_reports.c.report_id.label("held_report_id")
        stmt = (
            select(cases, held)
            .join(case_reports, case_reports.c.case_id == cases.c.id)
            .where(case_reports.c.report_id.in_(ids))
            .order_by(cases.c.id)
            .with_for_update(key_share=True, of=cases)
        )
        return {row.held_report_id: row for row in await self.session.execute(stmt)}

    async def list_cases(self, scope: Scope, f: CaseFilter, limit: int, offset: int) -> list[Row[Any]]:
        stmt = select(cases).where(scope.clause())
        if f.states:
            stmt = stmt.where(cases.c.state.in_(list(f.states)))
        if f.department_code:
            stmt = stmt.where(cases.c.department_code == f.department_code)
        if f.street_code:
            stmt = stmt.where(cases.c.street_code == f.street_code)
        if f.level:
            stmt = stmt.where(cases.c.level == f.level)
        if f.current_only and scope.department is not None:
            stmt = stmt.where(cases.c.department_code == scope.department)
        stmt = stmt.order_by(cases.c.filed_at.desc(), cases.c.id).limit(limit).offset(offset)
        return list((await self.session.execute(stmt)).all())

    async def open_cases_by_state(self) -> dict[str, int]:
        stmt = (
            select(cases.c.state, func.count())
            .where(cases.c.state.not_in(["closed", "withdrawn"]))
            .group_by(cases.c.state)
        )
        return {state: int(n) for state, n in (await self.session.execute(stmt)).all()}

    # -- departments and reports of a case -----------------------------------------------------------

    async def summon_department(self, case_id: str, department_code: str, at: datetime) -> None:
        """A department called to the case (吹哨); one already assigned stays assigned."""
        await (await driver(self.session)).execute(_SUMMON, case_id, department_code, at)

    async def departments_of(self, case_ids: Iterable[str]) -> list[Row[Any]]:
        stmt = (
            select(case_departments)
            .where(case_departments.c.case_id.in_(list(case_ids)))
            .order_by(case_departments.c.since, case_departments.c.department_code)
        )
        return list((await self.session.execute(stmt)).all())

    async def add_reports(self, rows: Sequence[CaseReport]) -> set[str]:
        """Reports joining cases, in one statement; returns those that were not in a case yet."""
        if not rows:
            return set()
        columns = [[getattr(r, f.name) for r in rows] for f in fields(CaseReport)]
        added = await (await driver(self.session)).fetch(_ADD_REPORTS, *columns)
        if self._locked is not None:
            self._locked.with_case.update(r.report_id for r in rows)  # each is in a case now, added or not
        return {r["report_id"] for r in added}

    async def assign_departments(self, rows: Sequence[tuple[str, str, datetime]]) -> None:
        """Cases given to departments (case, department, since), in one statement."""
        case_ids, codes, since = (list(c) for c in zip(*rows, strict=True))
        await (await driver(self.session)).execute(_ASSIGN_MANY, case_ids, codes, since)

    async def case_report(self, case_id: str, report_id: str) -> Row[Any] | None:
        stmt = select(case_reports).where(case_reports.c.case_id == case_id, case_reports.c.report_id == report_id)
        return (await self.session.execute(stmt)).first()

    async def update_case_report(self, report_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(update(case_reports).where(case_reports.c.report_id == report_id).values(**values))

    async def reports_of(self, case_ids: Iterable[str]) -> list[Row[Any]]:
        stmt = (
            select(case_reports)
            .where(case_reports.c.case_id.in_(list(case_ids)))
            .order_by(case_reports.c.attached_at, case_reports.c.report_id)
        )
        return list((await self.session.execute(stmt)).all())

    async def withdraw_report(self, report_id: str, at: datetime) -> None:
        await self.session.execute(
            update(case_reports).where(case_reports.c.report_id == report_id).values(withdrawn_at=at)
        )

    async def park(self, awaits_report_id: str, event_type: str, body: dict[str, Any], at: datetime) -> None:
        await self.session.execute(
            insert(parked_events).values(
                awaits_report_id=awaits_report_id, event_type=event_type, body=body, parked_at=at
            )
        )
        if self._locked is not None:
            self._locked.parked.add(awaits_report_id)

    async def parked_counts(self) -> tuple[int, datetime | None]:
        """(how many events are parked, when the oldest was parked)."""
        stmt = select(func.count(), func.min(parked_events.c.parked_at))
        count, oldest = (await self.session.execute(stmt)).one()
        return int(count), oldest

    async def take_parked(self, report_id: str) -> list[Row[Any]]:
        if self._locked is not None and self._locked.lacks_parked(report_id):
            return []
        stmt = (
            delete(parked_events)
            .where(parked_events.c.awaits_report_id == report_id)
            .returning(parked_events.c.id, parked_events.c.event_type, parked_events.c.body)
        )
        rows: list[Row[Any]] = [*(await self.session.execute(stmt))]
        if self._locked is not None:
            self._locked.parked.discard(report_id)
        return sorted(rows, key=lambda r: r.id)

    # -- audit trail and whistles --------------------------------------------------------------------

    def add_audit(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append audit rows when the transaction commits (staged: one statement for all a batch appends; the
        trail is only read by later transactions)."""
        stage(
            self.session,
            audit,
            ({c: r.get(c) for c in _AUDIT_COLUMNS} | {"payload": r.get("payload") or {}} for r in rows),
        )

    async def audit_of(self, case_id: str) -> list[Row[Any]]:
        stmt = select(audit).where(audit.c.case_id == case_id).order_by(audit.c.id)
        return list((await self.session.execute(stmt)).all())

    async def add_whistle(self, case_id: str, street_code: str | None, at: datetime, by: str, reason: str) -> int:
        stmt = (
            insert(whistles)
            .values(case_id=case_id, street_code=street_code, blown_at=at, blown_by=by, reason=reason)
            .returning(whistles.c.id)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def whistles_of(self, case_ids: Iterable[str]) -> list[Row[Any]]:
        stmt = select(whistles).where(whistles.c.case_id.in_(list(case_ids))).order_by(whistles.c.id)
        return list((await self.session.execute(stmt)).all())

    # -- deadlines --------------------------------------------------------------------------------------

    async def insert_deadlines(self, rows: Sequence[NewDeadline]) -> None:
        """Deadlines and all their timers in one round trip, however many (a filing opens up to four)."""
        if not rows:
            return
        assert len({(r.case_id, r.kind) for r in rows}) == len(rows), "a case's clock opened twice at once"
        timer_rows = [(r.case_id, r.kind, fk, at) for r in rows for fk, at in r.timers.items()]
        await (await driver(self.session)).execute(
            _INSERT_DEADLINES,
            [r.case_id for r in rows],
            [r.kind for r in rows],
            [r.department_code for r in rows],
            [r.whistle_id for r in rows],
            [r.basis for r in rows],
            [r.start_at for r in rows],
            [r.due_at for r in rows],
            [orjson.dumps(list(r.warnings)).decode() for r in rows],
            [t[0] for t in timer_rows],
            [t[1] for t in timer_rows],
            [t[2] for t in timer_rows],
            [t[3] for t in timer_rows],
        )

    async def deadlines_of(self, case_ids: Iterable[str], *, active_only: bool = False) -> list[Row[Any]]:
        stmt = select(deadlines).where(deadlines.c.case_id.in_(list(case_ids)))
        if active_only:
            stmt = stmt.where(deadlines.c.status == ACTIVE)
        return list((await self.session.execute(stmt.order_by(deadlines.c.id))).all())

    async def active_deadlines(self, case_id: str, kinds: Iterable[str] | None = None) -> list[Row[Any]]:
        stmt = select(deadlines).where(deadlines.c.case_id == case_id, deadlines.c.status == ACTIVE)
        if kinds is not None:
            stmt = stmt.where(deadlines.c.kind.in_(list(kinds)))
        return list((await self.session.execute(stmt.order_by(deadlines.c.id))).all())

    async def update_deadline(self, deadline_id: int, values: dict[str, Any]) -> None:
        await self.session.execute(update(deadlines).where(deadlines.c.id == deadline_id).values(**values))

    async def pending_checkins(self, case_id: str) -> frozenset[str]:
        stmt = select(deadlines.c.department_code).where(
            deadlines.c.case_id == case_id, deadlines.c.status == ACTIVE, deadlines.c.kind.like("checkin:%")
        )
        return frozenset(r for r in (await self.session.execute(stmt)).scalars() if r)

    # -- timers -----------------------------------------------------------------------------------------

    async def reschedule_timers(self, deadline_id: int, schedule: dict[str, datetime]) -> None:
        """New times for the steps of a deadline that have not fired (its next step's row: `schedule.Steps`);
        they become pending again."""
        for fire_kind, at in schedule.items():
            await self.session.execute(
                update(timers)
                .where(
                    timers.c.deadline_id == deadline_id,
                    timers.c.fire_kind == fire_kind,
                    timers.c.status.in_(["pending", "paused"]),
                )
                .values(due_at=at, status="pending")
            )

    async def set_timer_status(
        self, deadline_ids: Sequence[int], status: str, from_statuses: Sequence[str] = ("pending", "paused")
    ) -> None:
        """Timers are addressed through their deadline (the unique index leads with it): no index on case_id,
        one fewer index entry to write for every timer a sweep fires."""
        if deadline_ids:
            await self.session.execute(
                update(timers)
                .where(timers.c.deadline_id.in_(list(deadline_ids)), timers.c.status.in_(list(from_statuses)))
                .values(status=status)
            )

    async def claim_due_timers(self, now: datetime, limit: int) -> list[Row[Any]]:
        """Take up to `limit` due timers no other poller holds and mark them fired, with what firing needs.

        The caller's transaction emits their events; if it dies before commit, the rows are pending again.
        """
        stmt = text("""
            WITH due AS (
                SELECT id FROM workflow.timers
                WHERE status = 'pending' AND due_at <= :now
                ORDER BY due_at LIMIT :limit
                FOR UPDATE SKIP LOCKED)
            UPDATE workflow.timers t SET status = 'fired', fired_at = :now
            FROM due, workflow.deadlines d, workflow.cases c
            WHERE t.id = due.id AND d.id = t.deadline_id AND c.id = t.case_id
            RETURNING t.id, t.case_id, t.deadline_id, t.kind, t.fire_kind, t.due_at,
                      d.due_at AS deadline_due, d.department_code, d.status AS deadline_status,
                      d.basis, d.start_at, d.paused, d.paused_at,
                      c.case_no, c.state, c.version, c.department_code AS case_department
        """)
        return list((await self.session.execute(stmt, {"now": now, "limit": limit})).all())

    async def add_timers(self, rows: Sequence[tuple[str, int, str, str, datetime]]) -> None:
        """Timers of (case, deadline, clock kind, step, due at), one statement; a step that has its row keeps it."""
        if rows:
            await (await driver(self.session)).execute(
                _INSERT_TIMERS, *(list(column) for column in zip(*rows, strict=True))
            )

    async def mark_timers(self, ids: Sequence[int], status: str) -> None:
        if ids:
            await self.session.execute(update(timers).where(timers.c.id.in_(list(ids))).values(status=status))

    async def timer_counts(self, now: datetime) -> tuple[int, int]:
        """(pending, overdue): both read the partial index of pending timers."""
        stmt = select(func.count(), func.count().filter(timers.c.due_at <= now)).where(timers.c.status == "pending")
        pending, overdue = (await self.session.execute(stmt)).one()
        return int(pending), int(overdue)

    async def any_timer_due(self, now: datetime) -> bool:
        stmt = select(exists().where(and_(timers.c.status == "pending", timers.c.due_at <= now)))
        return bool((await self.session.execute(stmt)).scalar())

    # -- verification tasks (核查) -----------------------------------------------------------------------

    async def awaiting_verification(
        self, streets: Sequence[str], communities: Sequence[str], cells: Sequence[str], limit: int
    ) -> list[Row[Any]]:
        """Handled cases in the given grids, oldest first: what an inspector has to verify on site."""
        where = or_(
            cases.c.street_code.in_(list(streets)),
            cases.c.community_code.in_(list(communities)),
            cases.c.cell_code.in_(list(cells)),
        )
        stmt = select(cases).where(cases.c.state == "handled", where).order_by(cases.c.updated_at, cases.c.id)
        return list((await self.session.execute(stmt.limit(limit))).all())
