"""The fold: how each `cases.v1` event changes a case's read-model rows. Pure Python, no I/O.

A case's events arrive in order (one partition per case), so folding them one by one over the
stored rows gives the same rows on first delivery and on a replay from offset zero. Facts that
relate several cases (recurrence, hot spots) are computed at query time, never folded, because
events of different cases may be consumed in any interleaving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contracts import cases as c
from shared.contracts.common import Contract


@dataclass(slots=True)
class Fact:
    """One row of `analytics.case_facts`; field names are the column names."""

    case_id: str
    case_no: str
    state: str
    version: int
    report_id: str | None = None
    last_event_at: datetime | None = None
    department_code: str | None = None
    district_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    cell_code: str | None = None
    category_scheme: str | None = None
    category_code: str | None = None
    category_name: str | None = None
    category_kind: str | None = None
    channel: str | None = None
    priority: str | None = None
    deadline_profile: str | None = None
    received_at: datetime | None = None
    filed_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    dispatched_at: datetime | None = None
    dispatch_count: int = 0
    return_count: int = 0
    acknowledge_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    first_contact_due_at: datetime | None = None
    first_contact_at: datetime | None = None
    first_contact_on_time: bool | None = None
    handle_due_at: datetime | None = None
    handled_at: datetime | None = None
    first_handled_at: datetime | None = None
    handle_count: int = 0
    verify_due_at: datetime | None = None
    failed_verification_count: int = 0
    first_closed_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    withdrawn_at: datetime | None = None
    extension_requested_count: int = 0
    extension_count: int = 0
    extension_days: int = 0
    suspension_count: int = 0
    suspended_since: datetime | None = None
    suspended_seconds: float = 0.0
    merged_report_count: int = 0
    callback_count: int = 0
    satisfaction: str | None = None
    callback_at: datetime | None = None
    warning_count: int = 0
    breach_count: int = 0
    escalation_count: int = 0
    max_escalation_level: int = 0
    whistle_count: int = 0
    level: str = "district"
    """The handling level holding the case now (tiered handling: district, street or community)."""
    ever_community: bool = False
    ever_below_district: bool = False
    reported_up_count: int = 0
    reported_up_from_community: bool = False
    delegated_count: int = 0


@dataclass(slots=True)
class Dispatch:
    """One dispatch of a case to a department (a row of `analytics.dispatches`)."""

    case_id: str
    seq: int
    department_code: str | None
    dispatched_at: datetime
    redispatch: bool = False
    acknowledge_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    responded_at: datetime | None = None
    returned_at: datetime | None = None
    filed_at: datetime | None = None
    """The case's filing time, copied so the scoreboard's period filter can use this table's own index."""
    street_rating: str | None = None
    """考核: the street's latest rating of this department's handling (satisfied | basic | unsatisfied)."""


@dataclass(slots=True)
class CheckIn:
    """One department summoned by one whistle (a row of `analytics.checkins`)."""

    case_id: str
    whistle_seq: int
    department_code: str
    street_code: str | None
    whistle_at: datetime
    due_at: datetime
    checked_in_at: datetime | None = None
    missed_at: datetime | None = None
    filed_at: datetime | None = None
    """The case's filing time, copied so the scoreboard's period filter can use this table's own index."""
    street_rating: str | None = None
    """考核: the street's latest rating of this summoned department."""


@dataclass(slots=True)
class Escalation:
    event_id: str
    case_id: str
    department_code: str | None
    kind: str
    level: int
    at: datetime
    due_at: datetime
    escalated_to: str | None


@dataclass
class CaseRecord:
    """Everything the read model holds about one case; escalations lists only rows new in this batch."""

    fact: Fact
    dispatches: list[Dispatch] = field(default_factory=list)
    checkins: list[CheckIn] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)

    @classmethod
    def new(cls, event: c.CaseEvent) -> CaseRecord:
        return cls(Fact(case_id=event.case_id, case_no=event.case_no, state=event.state, version=event.version))

    @property
    def current_dispatch(self) -> Dispatch | None:
        return self.dispatches[-1] if self.dispatches else None


def _deadlines(body: Contract) -> list[c.DeadlineSet]:
    """Deadlines an event sets: the declared field, or the same shape sent as an extra field by a newer writer."""
    raw: Iterable[Any] = getattr(body, "deadlines", None) or []
    return [d if isinstance(d, c.DeadlineSet) else c.DeadlineSet.model_validate(d) for d in raw]


def _set_deadlines(record: CaseRecord, body: Contract) -> None:
    fact = record.fact
    for deadline in _deadlines(body):
        if deadline.kind == "first_contact":
            fact.first_contact_due_at = deadline.due_at
        elif deadline.kind == "acknowledge":
            fact.acknowledge_due_at = deadline.due_at
            current = record.current_dispatch
            if current is not None and current.responded_at is None:
                current.acknowledge_due_at = deadline.due_at
        elif deadline.kind == "handle":
            fact.handle_due_at = deadline.due_at
        elif deadline.kind == "verify":
            fact.verify_due_at = deadline.due_at


def _end_suspension(fact: Fact, at: datetime) -> None:
    if fact.suspended_since is not None:
        fact.suspended_seconds += max((at - fact.suspended_since).total_seconds(), 0.0)
        fact.suspended_since = None


def _reset_handling(fact: Fact) -> None:
    """The department must handle (again): the last handling no longer stands."""
    fact.handled_at = None
    fact.verify_due_at = None


def _filed(r: CaseRecord, e: c.CaseFiled, _: str) -> None:
    f = r.fact
    f.report_id, f.channel = e.report_id, e.channel.value
    f.priority, f.deadline_profile = e.priority, e.deadline_profile
    f.category_scheme, f.category_code, f.category_name = e.category.scheme, e.category.code, e.category.name
    f.category_kind = e.category_kind
    f.district_code, f.street_code = e.grid.district_code, e.grid.street_code
    f.community_code, f.cell_code = e.grid.community_code, e.grid.cell_code
    f.received_at, f.filed_at = e.received_at, e.at
    f.department_code = e.department_code or f.department_code
    _reach_level(f, e.level)
    for dispatch in r.dispatches:
        dispatch.filed_at = f.filed_at
    for checkin in r.checkins:
        checkin.filed_at = f.filed_at
    _set_deadlines(r, e)


def _reach_level(f: Fact, level: str) -> None:
    f.level = level
    f.ever_community = f.ever_community or level == "community"
    f.ever_below_district = f.ever_below_district or level != "district"


def _reported_up(r: CaseRecord, e: c.CaseReportedUp, _: str) -> None:
    r.fact.reported_up_count += 1
    r.fact.reported_up_from_community = r.fact.reported_up_from_community or e.from_level == "community"
    _reach_level(r.fact, e.to_level)


def _delegated(r: CaseRecord, e: c.CaseDelegated, _: str) -> None:
    r.fact.delegated_count += 1
    _reach_level(r.fact, e.to_level)


def _rated(r: CaseRecord, e: c.DepartmentRated, _: str) -> None:
    """A rating lands on the department's latest dispatch of the case, else on its latest summons."""
    dispatch = next((d for d in reversed(r.dispatches) if d.department_code == e.rated_department), None)
    if dispatch is not None:
        dispatch.street_rating = e.rating
        return
    summons = next((ci for ci in reversed(r.checkins) if ci.department_code == e.rated_department), None)
    if summons is not None:
        summons.street_rating = e.rating


def _sent_back(r: CaseRecord, e: c.CaseSentBack, _: str) -> None:
    """退单: the ticket was never the district's; like a withdrawal it leaves every score."""
    r.fact.withdrawn_at = r.fact.withdrawn_at or e.at
    _end_suspension(r.fact, e.at)


def _dispatched(r: CaseRecord, e: c.CaseDispatched, _: str) -> None:
    f = r.fact
    f.dispatch_count += 1
    f.first_dispatched_at = f.first_dispatched_at or e.at
    f.dispatched_at = e.at
    f.department_code = e.department_code
    _reset_handling(f)
    r.dispatches.append(
        Dispatch(
            f.case_id,
            f.dispatch_count,
            e.department_code,
            e.at,
            e.redispatch,
            acknowledge_due_at=f.acknowledge_due_at,
            filed_at=f.filed_at,
        )
    )
    _set_deadlines(r, e)


def _acknowledged(r: CaseRecord, e: c.CaseAcknowledged, _: str) -> None:
    r.fact.acknowledged_at = r.fact.acknowledged_at or e.at
    current = r.current_dispatch
    if current is not None:
        current.acknowledged_at = current.acknowledged_at or e.at
        current.responded_at = current.responded_at or e.at


def _returned(r: CaseRecord, e: c.CaseReturned, _: str) -> None:
    r.fact.return_count += 1
    current = r.current_dispatch
    if current is not None and current.returned_at is None:
        current.returned_at = e.at
        current.responded_at = current.responded_at or e.at


def _handled(r: CaseRecord, e: c.CaseHandled, _: str) -> None:
    f = r.fact
    f.handled_at = e.at
    f.first_handled_at = f.first_handled_at or e.at
    f.handle_count += 1
    f.verify_due_at = None
    _set_deadlines(r, e)


def _verified(r: CaseRecord, e: c.CaseVerified, _: str) -> None:
    if not e.passed:
        r.fact.failed_verification_count += 1
        _reset_handling(r.fact)
        _set_deadlines(r, e)


def _closed(r: CaseRecord, e: c.CaseClosed, _: str) -> None:
    f = r.fact
    f.closed_at = e.at
    f.first_closed_at = f.first_closed_at or e.at
    _end_suspension(f, e.at)


def _reopened(r: CaseRecord, e: c.CaseReopened, _: str) -> None:
    f = r.fact
    f.reopen_count += 1
    f.closed_at = None
    _reset_handling(f)
    _set_deadlines(r, e)


def _withdrawn(r: CaseRecord, e: c.CaseWithdrawn, _: str) -> None:
    r.fact.withdrawn_at = r.fact.withdrawn_at or e.at
    _end_suspension(r.fact, e.at)


def _extension_requested(r: CaseRecord, e: c.ExtensionRequested, _: str) -> None:
    r.fact.extension_requested_count += 1


def _extension_granted(r: CaseRecord, e: c.ExtensionGranted, _: str) -> None:
    r.fact.extension_count += 1
    r.fact.extension_days += e.days
    _set_deadlines(r, e)


def _suspended(r: CaseRecord, e: c.CaseSuspended, _: str) -> None:
    r.fact.suspension_count += 1
    r.fact.suspended_since = r.fact.suspended_since or e.at


def _resumed(r: CaseRecord, e: c.CaseResumed, _: str) -> None:
    _end_suspension(r.fact, e.at)
    _set_deadlines(r, e)


def _report_attached(r: CaseRecord, e: c.ReportAttached, _: str) -> None:
    r.fact.merged_report_count += 1


def _first_contact(r: CaseRecord, e: c.FirstContactMade, _: str) -> None:
    if e.report_id is not None:  # a merged caller's own first contact: not the case's
        return
    f = r.fact
    if f.first_contact_at is None:
        f.first_contact_at = e.at
        f.first_contact_on_time = e.at <= f.first_contact_due_at if f.first_contact_due_at else e.on_time


def _warned(r: CaseRecord, e: c.DeadlineWarned, _: str) -> None:
    r.fact.warning_count += 1


def _breached(r: CaseRecord, e: c.DeadlineBreached, _: str) -> None:
    r.fact.breach_count += 1


def _escalated(r: CaseRecord, e: c.CaseEscalated, event_id: str) -> None:
    f = r.fact
    f.escalation_count += 1
    f.max_escalation_level = max(f.max_escalation_level, e.level)
    r.escalations.append(
        Escalation(
            event_id, f.case_id, e.department_code or f.department_code, e.kind, e.level, e.at, e.due_at, e.escalated_to
        )
    )


def _whistle(r: CaseRecord, e: c.WhistleBlown, _: str) -> None:
    f = r.fact
    f.whistle_count += 1
    known = {ci.department_code for ci in r.checkins if ci.whistle_seq == f.whistle_count}
    for department in e.departments:
        if department not in known:
            known.add(department)
            r.checkins.append(
                CheckIn(
                    f.case_id, f.whistle_count, department, e.street_code, e.at, e.checkin_due_at, filed_at=f.filed_at
                )
            )


def _open_checkin(r: CaseRecord, department: str) -> CheckIn | None:
    """The latest summons of `department` it has not answered yet."""
    return next(
        (ci for ci in reversed(r.checkins) if ci.department_code == department and ci.checked_in_at is None), None
    )


def _checked_in(r: CaseRecord, e: c.DepartmentCheckedIn, _: str) -> None:
    checkin = _open_checkin(r, e.checked_in_department)
    if checkin is not None:
        checkin.checked_in_at = e.at


def _checkin_missed(r: CaseRecord, e: c.CheckInMissed, _: str) -> None:
    checkin = _open_checkin(r, e.missed_department)
    if checkin is not None and checkin.missed_at is None:
        checkin.missed_at = e.at


def _callback(r: CaseRecord, e: c.CallbackRecorded, _: str) -> None:
    r.fact.callback_count += 1
    r.fact.satisfaction = e.satisfaction
    r.fact.callback_at = e.at


def _nothing(r: CaseRecord, e: c.CaseEvent, _: str) -> None:
    """Events that only move the state and version (e.g. a refused extension)."""


Fold = Callable[[CaseRecord, Any, str], None]

FOLDS: dict[type[c.CaseEvent], Fold] = {
    c.CaseFiled: _filed,
    c.CaseDispatched: _dispatched,
    c.CaseAcknowledged: _acknowledged,
    c.CaseReturned: _returned,
    c.CaseHandled: _handled,
    c.CaseVerified: _verified,
    c.CaseClosed: _closed,
    c.CaseReopened: _reopened,
    c.CaseWithdrawn: _withdrawn,
    c.ExtensionRequested: _extension_requested,
    c.ExtensionGranted: _extension_granted,
    c.ExtensionRefused: _nothing,
    c.CaseSuspended: _suspended,
    c.CaseResumed: _resumed,
    c.ReportAttached: _report_attached,
    c.FirstContactMade: _first_contact,
    c.DeadlineWarned: _warned,
    c.DeadlineBreached: _breached,
    c.CaseEscalated: _escalated,
    c.WhistleBlown: _whistle,
    c.DepartmentCheckedIn: _checked_in,
    c.CheckInMissed: _checkin_missed,
    c.CallbackRecorded: _callback,
    c.CaseReportedUp: _reported_up,
    c.CaseDelegated: _delegated,
    c.CaseSentBack: _sent_back,
    c.DepartmentRated: _rated,
}
CASE_EVENT_TYPES: frozenset[str] = frozenset(str(t.model_fields["type"].default) for t in FOLDS)


def apply(record: CaseRecord, event: c.CaseEvent, event_id: str) -> None:
    """Fold one event into the case's rows: state and version follow the event, the rest per type."""
    fact = record.fact
    fact.state = event.state
    fact.version = max(fact.version, event.version)
    fact.case_no = event.case_no or fact.case_no
    fact.last_event_at = max(fact.last_event_at, event.at) if fact.last_event_at else event.at
    FOLDS[type(event)](record, event, event_id)
