"""Moves between handling levels (上报 · 下派) and 退单, as case commands; the clock rules are in `levels`."""

from __future__ import annotations

from functools import partial

from shared.auth import Principal, Role
from shared.contracts import cases as ev
from shared.contracts.cases import Level
from shared.errors import Invalid
from workflow.levels import DOWN, UP, level_clock, open_level_clock, unit_at
from workflow.machine import Action
from workflow.repository import CaseRow
from workflow.schedule import deadline_set
from workflow.service import CaseService


class TieredCases(CaseService):
    """Case commands of tiered handling; every other command is the plain `CaseService`'s."""

    async def report_up(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        """上报: community → street → district, by the level's dispatcher or its handling unit."""
        row = await self.load(ref, who)
        return await self._move(row, Action.REPORT_UP, who, UP.get(row.level, "district"), reason, expected)

    async def delegate(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        """下派: district → street → community, by the level's dispatcher."""
        row = await self.load(ref, who)
        return await self._move(row, Action.DELEGATE, who, DOWN.get(row.level, "community"), reason, expected)

    async def _move(
        self, row: CaseRow, action: Action, who: Principal, to_level: Level, reason: str, expected: int | None
    ) -> CaseRow:
        target = await self._check(row, action, who, expected)
        to_unit = unit_at(to_level, row)
        now = self.clock.now()
        left_on_time = await self.book.meet(row.id, [level_clock(row.level)], now)
        await self.book.cancel(row.id, ["acknowledge"])
        started = await open_level_clock(self.book, self.wf.rules, row.id, to_level, now)
        running = [
            deadline_set(d.kind, d.due_at, d.warnings).model_dump(mode="json")
            for d in await self.repo.active_deadlines(row.id)
            if d.kind != level_clock(to_level)
        ]
        kind = ev.CaseReportedUp if action is Action.REPORT_UP else ev.CaseDelegated
        return await self._record(
            row,
            action,
            who,
            target,
            values={
                "level": to_level,
                "level_unit": to_unit,
                "department_code": None,
                "extension_days": None,
                "extension_reason": None,
            },
            event=partial(
                kind,
                from_level=row.level,
                to_level=to_level,
                from_unit=row.level_unit,
                to_unit=to_unit,
                reason=reason,
                deadlines=started,
            ),
            reason=reason,
            payload={
                "from_department": row.department_code,
                "left_on_time": all(left_on_time) if left_on_time else None,
                "clocks_running": running,
            },
        )

    async def rate(
        self,
        ref: str,
        who: Principal,
        department_code: str,
        rating: ev.Satisfaction,
        comment: str,
        expected: int | None,
    ) -> CaseRow:
        """考核权: the street rates a department that handled the case or was summoned to it by a whistle."""
        row = await self.load(ref, who)
        target = await self._check(row, Action.RATE, who, expected)
        if department_code not in {d.department_code for d in await self.repo.departments_of([row.id])}:
            raise Invalid(f"{department_code} was never given or summoned to this case", field="department_code")
        street = who.unit if who.role is Role.STREET and who.unit else row.street_code
        return await self._record(
            row,
            Action.RATE,
            who,
            target,
            event=partial(
                ev.DepartmentRated,
                street_code=street or "",
                rated_department=department_code,
                rating=rating,
                comment=comment,
            ),
            reason=comment or None,
        )

    async def send_back(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        """退单: the district centre returns a 12345 ticket outside its remit to the city platform; every clock
        stops and the hotline hears of it through the 12345 result feedback (status `sent_back`)."""
        row = await self.load(ref, who)
        target = await self._check(row, Action.SEND_BACK, who, expected)
        await self.book.cancel(row.id)
        tickets = [r.external_id for r in await self.repo.reports_of([row.id]) if r.external_id]
        return await self._record(
            row,
            Action.SEND_BACK,
            who,
            target,
            values={"department_code": None, "suspended_from": None, "extension_days": None},
            event=partial(ev.CaseSentBack, reason=reason, ticket_nos=tickets),
            reason=reason,
        )
