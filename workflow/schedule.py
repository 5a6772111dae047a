"""The deadlines of cases and their timers: open, meet, cancel, pause, resume, extend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from shared.contracts.cases import DeadlineSet
from workflow.config import Basis, Limit, Rules
from workflow.deadlines import Clockwork, Span
from workflow.repository import NewDeadline, Repository

CHECKIN_POINTS = {"checkin": 1.0}


def checkin_kind(department_code: str) -> str:
    return f"checkin:{department_code}"


def span_of(row: Row[Any]) -> Span:
    return Span(Basis(row.basis), row.start_at, row.due_at, row.paused, row.paused_at)


def deadline_set(kind: str, due_at: datetime, warnings: Iterable[str]) -> DeadlineSet:
    return DeadlineSet(kind=kind, due_at=due_at, warnings=list(warnings))


@dataclass(frozen=True, slots=True)
class Opening:
    """A clock to start: its kind, its limit, from when, and whose turn it times (if anyone's)."""

    kind: str
    limit: Limit
    start: datetime
    department_code: str | None = None
    whistle_id: int | None = None


class Steps:
    """The steps of a clock (warning, deadline, supervision levels; a check-in's one) and when each fires.

    Only a clock's next step has a timer row: opening a clock writes its first, and firing a step writes the
    one after it in the same transaction. Most cases finish before their first warning, so the later steps
    of most clocks are never written at all (four timer rows and their index entries per clock before).
    """

    def __init__(self, clockwork: Clockwork, rules: Rules) -> None:
        self.clockwork = clockwork
        self.rules = rules

    def points(self, kind: str) -> dict[str, float]:
        """Step → fraction of the clock's time at which it fires."""
        return CHECKIN_POINTS if kind.startswith("checkin:") else self.rules.escalation.fire_points()

    def first(self, kind: str, span: Span) -> dict[str, datetime]:
        points = self.points(kind)
        step = min(points, key=points.__getitem__)
        return self.clockwork.schedule(span, {step: points[step]})

    def after(self, kind: str, step: str, span: Span) -> tuple[str, datetime] | None:
        """The step that follows `step` on this clock and when it fires, or None after the last one."""
        points = self.points(kind)
        later = sorted((f, s) for s, f in points.items() if f > points.get(step, float("inf")))
        if not later:
            return None
        fraction, following = later[0]
        return following, self.clockwork.schedule(span, {following: fraction})[following]


class DeadlineBook:
    def __init__(self, repo: Repository, clockwork: Clockwork, rules: Rules) -> None:
        self.repo = repo
        self.clockwork = clockwork
        self.steps = Steps(clockwork, rules)

    async def open(
        self,
        case_id: str,
        kind: str,
        limit: Limit,
        start: datetime,
        *,
        department_code: str | None = None,
        whistle_id: int | None = None,
    ) -> DeadlineSet:
        return (await self.open_many(case_id, [Opening(kind, limit, start, department_code, whistle_id)]))[0]

    async def open_many(self, case_id: str, openings: Sequence[Opening]) -> list[DeadlineSet]:
        """Start clocks of one case and their timers in one round trip; returns what each event announces."""
        return (await self.open_cases({case_id: openings}))[case_id]

    async def open_cases(self, openings: Mapping[str, Sequence[Opening]]) -> dict[str, list[DeadlineSet]]:
        """`open_many` for several cases at once (case id → its openings), still one round trip."""
        rows = []
        for case_id, opening in openings.items():
            for o in opening:
                due = self.clockwork.due(o.start, o.limit)
                span = Span(o.limit.basis, o.start, due.at)
                rows.append(
                    NewDeadline(
                        case_id=case_id,
                        kind=o.kind,
                        department_code=o.department_code,
                        whistle_id=o.whistle_id,
                        basis=o.limit.basis.value,
                        start_at=o.start,
                        due_at=due.at,
                        warnings=due.warnings,
                        timers=self.steps.first(o.kind, span),
                    )
                )
        await self.repo.insert_deadlines(rows)
        out: dict[str, list[DeadlineSet]] = {case_id: [] for case_id in openings}
        for r in rows:
            out[r.case_id].append(deadline_set(r.kind, r.due_at, r.warnings))
        return out

    async def meet(self, case_id: str, kinds: Iterable[str], at: datetime) -> list[bool]:
        """Mark the active deadlines of `kinds` met at `at`; returns whether each was on time."""
        rows = await self.repo.active_deadlines(case_id, kinds)
        for row in rows:
            await self.repo.update_deadline(row.id, {"status": "met", "met_at": at, "on_time": at <= row.due_at})
        await self.repo.set_timer_status([r.id for r in rows], "cancelled")
        return [at <= r.due_at for r in rows]

    async def cancel(self, case_id: str, kinds: Iterable[str] | None = None) -> None:
        rows = await self.repo.active_deadlines(case_id, kinds)
        for row in rows:
            await self.repo.update_deadline(row.id, {"status": "cancelled"})
        await self.repo.set_timer_status([r.id for r in rows], "cancelled")

    async def reassign(self, case_id: str, kinds: Iterable[str], department_code: str) -> None:
        for row in await self.repo.active_deadlines(case_id, kinds):
            await self.repo.update_deadline(row.id, {"department_code": department_code})

    async def pause(self, case_id: str, at: datetime) -> None:
        rows = await self.repo.active_deadlines(case_id)
        for row in rows:
            await self.repo.update_deadline(row.id, {"paused_at": at})
        await self.repo.set_timer_status([r.id for r in rows], "paused", from_statuses=("pending",))

    async def resume(self, case_id: str, at: datetime) -> list[DeadlineSet]:
        """Every paused clock restarts; due times move by the suspended time counted in their basis."""
        out = []
        for row in await self.repo.active_deadlines(case_id):
            span, warnings = self.clockwork.resumed(span_of(row), at)
            out.append(await self.store(row, span, warnings))
        return out

    async def extend(self, case_id: str, kind: str, days: int) -> list[DeadlineSet]:
        out = []
        for row in await self.repo.active_deadlines(case_id, [kind]):
            span, warnings = self.clockwork.extended(span_of(row), days)
            out.append(await self.store(row, span, warnings))
        return out

    async def store(self, row: Row[Any], span: Span, warnings: tuple[str, ...]) -> DeadlineSet:
        merged = list(dict.fromkeys([*row.warnings, *warnings]))
        await self.repo.update_deadline(
            row.id,
            {
                "due_at": span.due,
                "paused": span.paused,
                "paused_at": span.paused_at,
                "warnings": merged,
            },
        )
        await self.repo.reschedule_timers(row.id, self.clockwork.schedule(span, self.steps.points(row.kind)))
        return deadline_set(row.kind, span.due, merged)
