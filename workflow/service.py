"""Case commands: each loads the case under its row lock, asks the machine, moves clocks, records and emits.

Nothing here commits: the HTTP endpoint or the event handler owns the transaction, so the state
change, its audit row and its outbox event are durable together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.calendar import SHANGHAI, default_calendar
from shared.clock import Clock
from shared.contracts import cases as ev
from shared.contracts.cases import CaseState, DeadlineSet
from shared.contracts.common import Actor, Photo
from shared.contracts.reports import ReportUpdated
from shared.contracts.routing import ReportMerged, RoutingDecided
from shared.db.outbox import Outbox
from shared.departments import DepartmentDirectory
from shared.errors import Conflict, Invalid, NotFound
from workflow import callers, machine
from workflow.config import Profile, Rules, WorkflowSettings
from workflow.deadlines import Clockwork
from workflow.levels import LEVEL_CLOCKS, level_openings
from workflow.machine import Action, CaseFacts, State
from workflow.repository import CaseReport, CaseRow, Repository, Scope
from workflow.schedule import DeadlineBook, Opening, checkin_kind, deadline_set, span_of


@dataclass(frozen=True)
class _Seen:
    """A case as one of its events shows it, when the row is written once for several moves: a new case as
    filed (before the dispatch written with it), a case between the merges of one run."""

    id: str
    case_no: str
    state: CaseState
    version: int
    department_code: str | None = None


@dataclass(frozen=True)
class _Filing:
    """A routed report's new case: its row as written, when the report came in, the clocks the filing opens."""

    body: RoutingDecided
    values: dict[str, Any]
    received: datetime
    clocks: list[Opening]


_RACED = "someone else changed the case at the same moment: reload it and try again"
"""A lost compare-and-set on the case version (`Repository.claim_version`, `claim_versions`)."""

WORKFLOW = Principal("workflow", Role.SYSTEM)
ROUTER = Principal("router", Role.SYSTEM)


@dataclass
class Workflow:
    """The service's singletons, built once at start-up (`runtime.services["workflow"]`)."""

    settings: WorkflowSettings
    rules: Rules
    clockwork: Clockwork
    departments: DepartmentDirectory

    @classmethod
    def load(cls, settings: WorkflowSettings | None = None) -> Workflow:
        settings = settings or WorkflowSettings()
        calendar = default_calendar(settings.calendar_overrides_path)
        # Classify next year once now: an estimated year loads the holidays package (≈ 0.3 s of CPU), which
        # would otherwise land on the first case whose deadline crosses New Year.
        calendar.is_workday(date(datetime.now(UTC).year + 1, 1, 1))
        return cls(
            settings,
            Rules.from_yaml(settings.profiles_path),
            Clockwork(calendar),
            DepartmentDirectory.from_yaml(settings.departments_path),
        )


def actor_of(who: Principal) -> Actor:
    return Actor(id=who.subject, role=who.role.value, unit=who.unit)


def audit_row(
    case_id: str,
    version: int,
    at: datetime,
    who: Principal,
    action: Action,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    payload: dict[str, Any],
    event_id: str | None,
) -> dict[str, Any]:
    """One line of the audit trail: who did what to which case when, from which state to which, and why."""
    return {
        "case_id": case_id,
        "version": version,
        "at": at,
        "actor_id": who.subject,
        "actor_role": who.role.value,
        "actor_unit": who.unit,
        "action": action.value,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "payload": payload,
        "event_id": event_id,
    }


def scope_of(who: Principal) -> Scope:
    """The caller's data scope (decided in `shared.auth.Principal.data_scope`, shared with intake's reports)."""
    scope = who.data_scope()
    return Scope(department=scope.department, street=scope.street, community=scope.community)


def facts_of(row: CaseRow, pending_checkins: frozenset[str] = frozenset()) -> CaseFacts:
    return CaseFacts(
        state=State(row.state),
        department_code=row.department_code,
        suspended_from=State(row.suspended_from) if row.suspended_from else None,
        extension_pending=row.extension_days is not None,
        first_contact_done=row.first_contact_at is not None,
        last_satisfaction=row.last_satisfaction,
        pending_checkins=pending_checkins,
        level=row.level,
        level_unit=row.level_unit,
        channel=row.channel,
    )


class CaseService:
    def __init__(self, session: AsyncSession, outbox: Outbox, clock: Clock, wf: Workflow) -> None:
        self.session = session
        self.outbox = outbox
        self.clock = clock
        self.wf = wf
        self.repo = Repository(session)
        self.book = DeadlineBook(self.repo, wf.clockwork, wf.rules)

    # -- the mechanics every command shares -----------------------------------------------------------

    async def load(self, ref: str, who: Principal) -> CaseRow:
        """The case if `who` may see it; otherwise 404, the same answer as for a case that does not exist."""
        row = await self.repo.find_case(ref, scope_of(who))
        if row is None:
            raise NotFound(f"no case {ref}", field="case_id")
        return row

    async def _check(
        self,
        row: CaseRow,
        action: Action,
        who: Principal,
        expected: int | None = None,
        facts: CaseFacts | None = None,
    ) -> State:
        if expected is not None and expected != row.version:
            raise Conflict(
                f"the case changed: it is at version {row.version}, the request was for {expected}",
                field="version",
                current_version=row.version,
            )
        pending = await self.repo.pending_checkins(row.id) if action is Action.CHECK_IN else frozenset()
        target = machine.check(action, facts or facts_of(row, pending), who)
        if not await self.repo.claim_version(row.id, row.version):
            raise Conflict(_RACED, field="version")
        return target

    async def _record(
        self,
        row: CaseRow,
        action: Action,
        who: Principal,
        target: State,
        *,
        values: dict[str, Any] | None = None,
        event: partial[Any] | None = None,
        reason: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> CaseRow:
        """Write the new state and version, the audit row and the event, all in the caller's transaction."""
        now = self.clock.now()
        new = await self.repo.update_case(
            row.id, {"state": target.value, "version": row.version + 1, "updated_at": now, **(values or {})}
        )
        await self._emit(new, action, who, row.state, event, reason, payload)
        return new

    async def _emit(
        self,
        case: CaseRow | _Seen,
        action: Action,
        who: Principal,
        from_state: str | None,
        event: partial[Any] | None,
        reason: str | None,
        payload: dict[str, Any] | None,
    ) -> None:
        """`event` is the command's own event, built with every field it adds (the type checker sees them) and
        completed here with the fields every case event shares; the machine's table names its type."""
        now = self.clock.now()
        event_id = None
        fields = event.keywords if event is not None else {}
        if action is not Action.NOTE:
            kind = machine.TRANSITIONS[action].event
            build = event if event is not None else partial(kind)
            if build.func is not kind:
                raise TypeError(f"{action.value} emits {kind.__name__}, not {build.func.__name__}")
            body = build(
                case_id=case.id,
                case_no=case.case_no,
                state=case.state,
                version=case.version,
                at=now,
                actor=actor_of(who),
                department_code=case.department_code,
            )
            event_id = (await self.outbox.add(self.session, body, subject=case.id)).id
        trail = {k: v for k, v in fields.items() if k != "reason"}
        self.repo.add_audit(
            [
                audit_row(
                    case.id,
                    case.version,
                    now,
                    who,
                    action,
                    from_state,
                    case.state,
                    reason,
                    _jsonable({**trail, **(payload or {})}),
                    event_id,
                )
            ]
        )

    def _profile(self, row: CaseRow) -> Profile:
        return self.wf.rules.profile(row.deadline_profile)[0]

    def _handling_openings(
        self, row: CaseRow, department_code: str, start: datetime, *, handle: bool = True
    ) -> list[Opening]:
        """Clocks of a department's turn: acknowledge from now (if the profile has one), handle from `start`."""
        profile = self._profile(row)
        out = []
        if profile.acknowledge:
            out.append(Opening("acknowledge", profile.acknowledge, self.clock.now(), department_code))
        if handle:
            out.append(Opening("handle", profile.handle, start, department_code))
        return out

    async def _open_handling(self, row: CaseRow, department_code: str, start: datetime) -> list[DeadlineSet]:
        """A running handling clock passes to the new department; otherwise one starts."""
        handle = not await self.repo.active_deadlines(row.id, ["handle"])
        if not handle:
            await self.book.reassign(row.id, ["handle"], department_code)
        return await self.book.open_many(row.id, self._handling_openings(row, department_code, start, handle=handle))

    def _known_department(self, code: str, field: str = "department_code") -> None:
        if not self.wf.departments.knows(code):
            raise Invalid(f"unknown department {code}", field=field)

    # -- from the bus ------------------------------------------------------------------------------------

    async def file_many(self, bodies: Sequence[RoutingDecided]) -> list[CaseRow]:
        """File a case for each routed report and dispatch it to the routed department, in the caller's
        transaction, with one statement per table for the whole run (a busy poll files tens of cases at once).

        A new case is written once, already with its department: the trail and the events still show both
        moves (FILE to `filed` at version 1, DISPATCH to `dispatched` at version 2), each checked by the machine.
        """
        await self.repo.lock_reports([b.report_id for b in bodies])
        now = self.clock.now()
        new: dict[str, RoutingDecided] = {}
        for body in bodies:
            if body.report_id not in new and await self.repo.case_for_report(body.report_id) is None:
                new[body.report_id] = body  # else a replayed decision for a report that already has its case
        if not new:
            return []
        filings = [self._filing(body, now) for body in new.values()]
        day = now.astimezone(SHANGHAI).date()
        rows = await self.repo.insert_cases([f.values for f in filings], self.wf.settings.case_no_prefix, day)
        await self.repo.add_reports(
            [
                CaseReport(r.id, f.body.report_id, f.body.report.channel.value, True, now, f.body.report.external_id)
                for r, f in zip(rows, filings, strict=True)
            ]
        )
        await self.repo.assign_departments(
            [(r.id, f.body.department_code, now) for r, f in zip(rows, filings, strict=True)]
        )
        # The filing's clocks and the first dispatch's open together: the cases are new, so they have no clock yet.
        opened = await self.book.open_cases(
            {
                r.id: [*f.clocks, *self._handling_openings(r, f.body.department_code, f.received)]
                for r, f in zip(rows, filings, strict=True)
            }
        )
        out = []
        for row, filing in zip(rows, filings, strict=True):
            body, clocks = filing.body, opened[row.id]
            filed = _Seen(row.id, row.case_no, "filed", 1)
            await self._emit(
                filed,
                Action.FILE,
                ROUTER,
                None,
                partial(
                    ev.CaseFiled,
                    report_id=body.report_id,
                    channel=body.report.channel,
                    category=body.category,
                    category_kind=body.category_kind,
                    grid=body.grid,
                    priority=body.priority,
                    deadline_profile=body.deadline_profile,
                    received_at=filing.received,
                    deadlines=clocks[: len(filing.clocks)],
                    level=body.level,
                    level_unit=row.level_unit,
                ),
                None,
                {
                    "rule": body.rule.model_dump(),
                    "warnings": filing.values["warnings"],
                    "decided_by": body.decided_by.model_dump() if body.decided_by else None,
                },
            )
            await self._emit(
                row,
                Action.DISPATCH,
                ROUTER,
                filed.state,
                partial(ev.CaseDispatched, redispatch=False, deadlines=clocks[len(filing.clocks) :]),
                None,
                {"from_department": None},
            )
            if body.whistle and body.whistle_departments:
                row = await self._whistle(row, ROUTER, body.whistle_departments, "whistle requested by routing rule")
            await self._replay_parked(body.report_id)
            out.append(row)
        return out

    def _filing(self, body: RoutingDecided, now: datetime) -> _Filing:
        """A routed report's new case as it is written: filed, then dispatched to the routed department."""
        filed = machine.check(Action.FILE, CaseFacts(state=None), ROUTER)
        level_unit = body.level_unit if body.level != "district" else None
        facts = CaseFacts(state=filed, level=body.level, level_unit=level_unit, channel=body.report.channel.value)
        dispatched = machine.check(Action.DISPATCH, facts, ROUTER)
        profile, warnings = self.wf.rules.profile(body.deadline_profile)
        if not self.wf.departments.knows(body.department_code):
            warnings.append(f"department {body.department_code} is not in the department directory")
        received = min(body.report.received_at, now)
        values = {
            "id": str(uuid.uuid4()),
            "report_id": body.report_id,
            "state": dispatched.value,
            "version": 2,
            "department_code": body.department_code,
            "channel": body.report.channel.value,
            "category_scheme": body.category.scheme,
            "category_code": body.category.code,
            "category_name": body.category.name,
            "category_kind": body.category_kind,
            "priority": body.priority,
            "deadline_profile": body.deadline_profile,
            "district_code": body.grid.district_code,
            "street_code": body.grid.street_code,
            "community_code": body.grid.community_code,
            "cell_code": body.grid.cell_code,
            "lon": body.location.lon if body.location else None,
            "lat": body.location.lat if body.location else None,
            "address": body.report.address,
            "description": body.report.text[:4000],
            "received_at": received,
            "filed_at": now,
            "updated_at": now,
            "warnings": warnings,
            "level": body.level,
            "level_unit": level_unit,
        }
        filing = [Opening("first_contact", profile.first_contact, received)] if profile.first_contact else []
        filing += level_openings(self.wf.rules, body.level, now)
        return _Filing(body, values, received, filing)

    async def attach_many(self, bodies: Sequence[ReportMerged]) -> None:
        """并案: each report joins the case of its primary report (parked until that case exists), a run of
        merges at once with one statement per table: the cases, the reports joining them (each with what its
        caller is owed), the callers' first-contact clocks, the cases' handling clocks, the versions.

        The report locks make parking and filing wait for each other: two replicas, one filing the primary's
        case while the other parks the merge, would otherwise each miss the other and park it for good.
        Several merges into one case are its moves in turn, each with its own version and event.
        """
        await self.repo.lock_reports([r for b in bodies for r in (b.primary_report_id, b.report_id)])
        found = await self.repo.cases_for_reports(b.primary_report_id for b in bodies)
        now = self.clock.now()
        joining: list[tuple[CaseRow, ReportMerged, callers.Claim]] = []
        for body in bodies:
            case = found.get(body.primary_report_id)
            if case is None:
                await self.repo.park(body.primary_report_id, body.type, body.model_dump(mode="json"), now)
            else:
                joining.append(
                    (case, body, callers.owed_to(self.wf.clockwork, self.wf.rules, State(case.state), body, now))
                )
        added = await self.repo.add_reports(
            [
                CaseReport(
                    row.id, b.report_id, b.report.channel.value, False, now, b.report.external_id, **claim.values
                )
                for row, b, claim in joining
            ]
        )
        joined = []
        for row, body, claim in joining:
            if body.report_id in added:  # else it joined before (a replay), or earlier in this run
                added.discard(body.report_id)
                joined.append((row, body, claim))
        if not joined:
            return
        owed = await self._open_callers_clocks(joined, now)
        moves: dict[str, list[ReportMerged]] = {}
        for row, body, _ in joined:
            machine.check(Action.ATTACH_REPORT, facts_of(row), ROUTER)
            moves.setdefault(row.id, []).append(body)
        cases_of = {row.id: row for row, _, _ in joined}
        claimed = await self.repo.claim_versions(
            {case_id: (cases_of[case_id].version, cases_of[case_id].version + len(b)) for case_id, b in moves.items()},
            now,
        )
        if claimed != set(moves):
            raise Conflict(_RACED, field="version")
        for case_id, merged in moves.items():
            row = cases_of[case_id]
            for i, body in enumerate(merged, 1):
                await self._emit(
                    _Seen(row.id, row.case_no, row.state, row.version + i, row.department_code),
                    Action.ATTACH_REPORT,
                    ROUTER,
                    row.state,
                    partial(
                        ev.ReportAttached,
                        report_id=body.report_id,
                        channel=body.report.channel,
                        deadline_profile=body.deadline_profile,
                        hotline_class=body.hotline_class,
                        deadlines=owed[body.report_id],
                    ),
                    body.reason,
                    {"distance_m": body.distance_m, "text": body.report.text},
                )
        for _, body, _ in joined:
            await self._replay_parked(body.report_id)

    async def _open_callers_clocks(
        self, joined: Sequence[tuple[CaseRow, ReportMerged, callers.Claim]], now: datetime
    ) -> dict[str, list[DeadlineSet]]:
        """Merged callers' first-contact clocks (standing still in a suspended case), and each case's handling
        clock pulled in to the strictest result due of its callers, in merge order: report → deadlines its
        attach event announces."""
        owed: dict[str, list[DeadlineSet]] = {body.report_id: [] for _, body, _ in joined}
        firsts: dict[str, list[Opening]] = {}
        for row, _, claim in joined:
            if claim.first_contact is not None:
                firsts.setdefault(row.id, []).append(claim.first_contact)
        opened = await self.book.open_cases(firsts)
        for row, body, claim in joined:
            if claim.first_contact is not None:
                owed[body.report_id].append(opened[row.id].pop(0))
                if State(row.state) is State.SUSPENDED:
                    await callers.pause(self.book, row.id, claim.first_contact.kind, now)
        due = {row.id for row, _, claim in joined if claim.result_due is not None}
        handles = [d for d in await self.repo.deadlines_of(due, active_only=True) if d.kind == "handle"] if due else []
        for handle in handles:
            span = span_of(handle)
            for row, body, claim in joined:
                if row.id == handle.case_id and claim.result_due is not None:
                    tighter = callers.stricter(span, claim.result_due)
                    if tighter is not None:
                        span = tighter
                        owed[body.report_id].append(deadline_set(handle.kind, span.due, handle.warnings))
            if span != span_of(handle):
                await self.book.store(handle, span, ())
        return owed

    async def report_updated(self, body: ReportUpdated) -> None:
        """A citizen's supplement becomes an audit note; a withdrawal withdraws the case if nothing else holds it."""
        await self.repo.lock_reports([body.report_id])
        row = await self.repo.case_for_report(body.report_id, lock=True)
        if row is None:
            await self.repo.park(body.report_id, body.type, body.model_dump(mode="json"), self.clock.now())
            return
        note = {
            "report_id": body.report_id,
            "kind": body.kind,
            "text": body.text,
            "photos": [p.model_dump(mode="json") for p in body.photos],
            "count": body.count,
        }
        if body.kind == "withdrawn":
            await self.repo.withdraw_report(body.report_id, self.clock.now())
            await self.book.cancel(row.id, [callers.first_contact_kind(body.report_id)])
            others = [r for r in await self.repo.reports_of([row.id]) if r.withdrawn_at is None]
            if not others and State(row.state) in machine.TRANSITIONS[Action.WITHDRAW].sources:
                await self._withdraw(row, WORKFLOW, "the citizen withdrew the report")
                return
            why = "other reports still hold the case" if others else f"the case is already {row.state}"
            await self._emit(row, Action.NOTE, WORKFLOW, row.state, None, f"report withdrawn; {why}", note)
            return
        await self._emit(row, Action.NOTE, WORKFLOW, row.state, None, f"report {body.kind}", note)

    async def _replay_parked(self, report_id: str) -> None:
        for parked in await self.repo.take_parked(report_id):
            if parked.event_type == ReportMerged.model_fields["type"].default:
                await self.attach_many([ReportMerged.model_validate(parked.body)])
            else:
                await self.report_updated(ReportUpdated.model_validate(parked.body))

    # -- dispatchers ---------------------------------------------------------------------------------------

    async def dispatch(
        self, ref: str, who: Principal, department_code: str, expected: int | None, reason: str = ""
    ) -> CaseRow:
        self._known_department(department_code)
        row = await self.load(ref, who)
        return await self._dispatch(row, who, department_code, expected=expected, reason=reason)

    async def _dispatch(
        self, row: CaseRow, who: Principal, department_code: str, *, expected: int | None = None, reason: str = ""
    ) -> CaseRow:
        redispatch = row.state in (State.DISPATCHED, State.ACKNOWLEDGED)
        action = Action.REDISPATCH if redispatch else Action.DISPATCH
        target = await self._check(row, action, who, expected)
        if redispatch and department_code == row.department_code:
            raise Conflict(f"the case is already with {department_code}", field="department_code")
        now = self.clock.now()
        await self.book.cancel(row.id, ["acknowledge"])
        deadlines = await self._open_handling(row, department_code, now)
        await self.repo.assign_departments([(row.id, department_code, now)])
        return await self._record(
            row,
            action,
            who,
            target,
            values={"department_code": department_code, "extension_days": None, "extension_reason": None},
            event=partial(ev.CaseDispatched, redispatch=redispatch, deadlines=deadlines),
            reason=reason or None,
            payload={"from_department": row.department_code},
        )

    async def grant_extension(self, ref: str, who: Principal, days: int | None, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.GRANT_EXTENSION, who, expected)
        granted = days or row.extension_days
        deadlines = await self.book.extend(row.id, "handle", granted)
        await callers.extend_callers(self.book, self.wf.rules, row.id, granted)
        return await self._record(
            row,
            Action.GRANT_EXTENSION,
            who,
            target,
            values={"extension_days": None, "extension_reason": None},
            event=partial(ev.ExtensionGranted, days=granted, deadlines=deadlines),
            payload={"requested_days": row.extension_days},
        )

    async def refuse_extension(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.REFUSE_EXTENSION, who, expected)
        return await self._record(
            row,
            Action.REFUSE_EXTENSION,
            who,
            target,
            values={"extension_days": None, "extension_reason": None},
            event=partial(ev.ExtensionRefused, reason=reason),
            reason=reason,
            payload={"requested_days": row.extension_days},
        )

    async def close(self, ref: str, who: Principal, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.CLOSE, who, expected)
        await self.book.cancel(row.id)
        reports = [r.report_id for r in await self.repo.reports_of([row.id])]
        return await self._record(
            row,
            Action.CLOSE,
            who,
            target,
            values={"closed_at": self.clock.now()},
            event=partial(ev.CaseClosed, report_ids=reports),
        )

    async def suspend(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.SUSPEND, who, expected)
        await self.book.pause(row.id, self.clock.now())
        return await self._record(
            row,
            Action.SUSPEND,
            who,
            target,
            values={"suspended_from": row.state},
            event=partial(ev.CaseSuspended, reason=reason),
            reason=reason,
        )

    async def resume(self, ref: str, who: Principal, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.RESUME, who, expected)
        deadlines = await self.book.resume(row.id, self.clock.now())
        return await self._record(
            row,
            Action.RESUME,
            who,
            target,
            values={"suspended_from": None},
            event=partial(ev.CaseResumed, deadlines=deadlines),
        )

    async def withdraw(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        return await self._withdraw(row, who, reason, expected)

    async def _withdraw(self, row: CaseRow, who: Principal, reason: str, expected: int | None = None) -> CaseRow:
        target = await self._check(row, Action.WITHDRAW, who, expected)
        await self.book.cancel(row.id)
        return await self._record(
            row,
            Action.WITHDRAW,
            who,
            target,
            values={"suspended_from": None},
            event=partial(ev.CaseWithdrawn, reason=reason),
            reason=reason,
        )

    # -- departments -------------------------------------------------------------------------------------

    async def acknowledge(self, ref: str, who: Principal, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.ACKNOWLEDGE, who, expected)
        on_time = await self.book.meet(row.id, ["acknowledge"], self.clock.now())
        return await self._record(row, Action.ACKNOWLEDGE, who, target, payload={"on_time": all(on_time)})

    async def handle(self, ref: str, who: Principal, result: str, photos: list[Photo], expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.HANDLE, who, expected)
        now = self.clock.now()
        on_time = await self.book.meet(row.id, ["handle"], now)
        await self.book.meet(row.id, LEVEL_CLOCKS, now)  # the level's own limit ends with the result too
        verify = await self.book.open(row.id, "verify", self.wf.rules.verify_limit(self._profile(row)), now)
        photo_json = [p.model_dump(mode="json") for p in photos]
        return await self._record(
            row,
            Action.HANDLE,
            who,
            target,
            values={"result": result, "photos": photo_json},
            event=partial(ev.CaseHandled, result=result, photos=photos, deadlines=[verify]),
            payload={"on_time": all(on_time)},
        )

    async def return_case(self, ref: str, who: Principal, reason: str, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.RETURN, who, expected)
        await self.book.cancel(row.id, ["acknowledge"])
        return await self._record(
            row,
            Action.RETURN,
            who,
            target,
            values={"department_code": None, "extension_days": None, "extension_reason": None},
            event=partial(ev.CaseReturned, reason=reason, from_department=row.department_code),
            reason=reason,
        )

    async def request_extension(
        self, ref: str, who: Principal, days: int, reason: str, expected: int | None
    ) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.REQUEST_EXTENSION, who, expected)
        return await self._record(
            row,
            Action.REQUEST_EXTENSION,
            who,
            target,
            values={"extension_days": days, "extension_reason": reason},
            event=partial(ev.ExtensionRequested, days=days, reason=reason),
            reason=reason,
        )

    async def check_in(self, ref: str, who: Principal, department_code: str | None, expected: int | None) -> CaseRow:
        row = await self.load(ref, who)
        target = await self._check(row, Action.CHECK_IN, who, expected)
        dept = who.unit if who.role is Role.DEPARTMENT else department_code
        if not dept:
            raise Invalid("say which department checks in", field="department_code")
        if dept not in await self.repo.pending_checkins(row.id):
            raise Conflict(f"department {dept} has no pending check-in on the case", field="department_code")
        kind = checkin_kind(dept)
        deadline = (await self.repo.active_deadlines(row.id, [kind]))[0]
        whistle_at = next(w.blown_at for w in await self.repo.whistles_of([row.id]) if w.id == deadline.whistle_id)
        on_time = (await self.book.meet(row.id, [kind], self.clock.now()))[0]
        return await self._record(
            row,
            Action.CHECK_IN,
            who,
            target,
            event=partial(ev.DepartmentCheckedIn, checked_in_department=dept, on_time=on_time, whistle_at=whistle_at),
        )

    # -- inspectors and streets ----------------------------------------------------------------------------

    async def verify(
        self, ref: str, who: Principal, passed: bool, note: str, photos: list[Photo], expected: int | None
    ) -> CaseRow:
        row = await self.load(ref, who)
        action = Action.VERIFY_PASS if passed else Action.VERIFY_FAIL
        target = await self._check(row, action, who, expected)
        now = self.clock.now()
        on_time = await self.book.meet(row.id, ["verify"], now)
        rework: list[DeadlineSet] = []
        if not passed:
            rework = await self._open_handling(row, row.department_code, now)
        return await self._record(
            row,
            action,
            who,
            target,
            reason=note or None,
            payload={"on_time": all(on_time)},
            event=partial(ev.CaseVerified, passed=passed, note=note, photos=photos, deadlines=rework),
        )

    async def whistle(
        self, ref: str, who: Principal, departments: list[str], reason: str, expected: int | None
    ) -> CaseRow:
        for code in departments:
            self._known_department(code, field="departments")
        row = await self.load(ref, who)
        return await self._whistle(row, who, departments, reason, expected)

    async def _whistle(
        self, row: CaseRow, who: Principal, departments: list[str], reason: str, expected: int | None = None
    ) -> CaseRow:
        target = await self._check(row, Action.WHISTLE, who, expected)
        pending = await self.repo.pending_checkins(row.id)
        summoned = [d for d in dict.fromkeys(departments) if d not in pending]
        if not summoned:
            raise Conflict("every one of these departments is already summoned", field="departments")
        now = self.clock.now()
        whistle_id = await self.repo.add_whistle(row.id, row.street_code, now, who.subject, reason)
        dues = []
        for dept in summoned:
            deadline = await self.book.open(
                row.id,
                checkin_kind(dept),
                self.wf.rules.whistle_checkin,
                now,
                department_code=dept,
                whistle_id=whistle_id,
            )
            dues.append(deadline.due_at)
            await self.repo.summon_department(row.id, dept, now)
        return await self._record(
            row,
            Action.WHISTLE,
            who,
            target,
            event=partial(
                ev.WhistleBlown, street_code=row.street_code or "", departments=summoned, checkin_due_at=max(dues)
            ),
            reason=reason or None,
        )

    # -- hotline -------------------------------------------------------------------------------------------

    async def first_contact(
        self, ref: str, who: Principal, note: str, expected: int | None, report_id: str | None = None
    ) -> CaseRow:
        row = await self.load(ref, who)
        if report_id is not None and report_id != row.report_id:
            return await self._contact_caller(row, who, report_id, note, expected)
        target = await self._check(row, Action.FIRST_CONTACT, who, expected)
        now = self.clock.now()
        on_time = await self.book.meet(row.id, ["first_contact"], now)
        return await self._record(
            row,
            Action.FIRST_CONTACT,
            who,
            target,
            values={"first_contact_at": now},
            event=partial(ev.FirstContactMade, on_time=all(on_time)),
            reason=note or None,
        )

    async def _contact_caller(
        self, row: CaseRow, who: Principal, report_id: str, note: str, expected: int | None
    ) -> CaseRow:
        """First contact with one merged caller: the machine decides as for the case's own, on that caller's facts."""
        caller = await self.repo.case_report(row.id, report_id)
        if caller is None:
            raise NotFound(f"case {row.case_no} holds no report {report_id}", field="report_id")
        if caller.channel != callers.HOTLINE:
            raise Invalid(
                f"report {report_id} came by {caller.channel}: only 12345 callers are owed first contact",
                field="report_id",
            )
        facts = replace(facts_of(row), first_contact_done=caller.first_contact_at is not None)
        target = await self._check(row, Action.FIRST_CONTACT, who, expected, facts)
        now = self.clock.now()
        on_time = await self.book.meet(row.id, [callers.first_contact_kind(report_id)], now)
        await self.repo.update_case_report(report_id, {"first_contact_at": now})
        return await self._record(
            row,
            Action.FIRST_CONTACT,
            who,
            target,
            event=partial(ev.FirstContactMade, on_time=all(on_time), report_id=report_id),
            reason=note or None,
        )

    async def callback(
        self,
        ref: str,
        who: Principal,
        satisfaction: ev.Satisfaction,
        channel: Literal["hotline", "wechat"],
        comment: str,
        reopen: bool,
        expected: int | None,
    ) -> CaseRow:
        if reopen and satisfaction != "unsatisfied":
            raise Invalid("only an unsatisfied citizen's callback can reopen the case", field="reopen")
        row = await self.load(ref, who)
        target = await self._check(row, Action.CALLBACK, who, expected)
        row = await self._record(
            row,
            Action.CALLBACK,
            who,
            target,
            values={"last_satisfaction": satisfaction},
            event=partial(ev.CallbackRecorded, satisfaction=satisfaction, channel=channel, comment=comment),
            reason=comment or None,
        )
        if not reopen:
            return row
        target = await self._check(row, Action.REOPEN, who)
        deadlines = await self._open_handling(row, row.department_code, self.clock.now())
        reason = comment or "the citizen is unsatisfied"
        return await self._record(
            row,
            Action.REOPEN,
            who,
            target,
            values={"closed_at": None},
            event=partial(ev.CaseReopened, reason=reason, deadlines=deadlines),
            reason=reason,
        )


def _jsonable(value: Any) -> Any:
    """Audit payloads are JSONB: pydantic models and datetimes become plain JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
