"""Events on `cases.v1`, written by workflow, keyed by case id.

Every body carries the case id, its new state and version, when and by whom; analytics scores
from these alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import Actor, CategoryRef, Channel, Contract, GridRef, Photo

TOPIC = "cases.v1"

CaseState = Literal[
    "filed", "dispatched", "acknowledged", "handled", "verified", "closed", "returned", "suspended", "withdrawn"
]
Satisfaction = Literal["satisfied", "basic", "unsatisfied"]
Level = Literal["district", "street", "community"]


class CaseEvent(Contract):
    case_id: str
    case_no: str
    state: CaseState
    version: int
    at: datetime
    actor: Actor | None = None
    department_code: str | None = None


class DeadlineSet(Contract):
    kind: str = Field(
        description="first_contact | acknowledge | handle | verify | checkin:<dept> | first_contact:<report_id>"
    )
    due_at: datetime
    warnings: list[str] = Field(default_factory=list)


class CaseFiled(CaseEvent):
    type: Literal["cityloop.case.filed.v1"] = "cityloop.case.filed.v1"
    report_id: str
    channel: Channel
    category: CategoryRef
    category_kind: Literal["component", "incident"]
    grid: GridRef
    priority: str
    deadline_profile: str
    received_at: datetime
    deadlines: list[DeadlineSet] = Field(default_factory=list)
    level: Level = Field(default="district", description="the level that handles it (分级分层处置)")
    level_unit: str | None = Field(default=None, description="the street or community code of that level")


class CaseDispatched(CaseEvent):
    type: Literal["cityloop.case.dispatched.v1"] = "cityloop.case.dispatched.v1"
    redispatch: bool = False
    deadlines: list[DeadlineSet] = Field(default_factory=list)


class CaseAcknowledged(CaseEvent):
    type: Literal["cityloop.case.acknowledged.v1"] = "cityloop.case.acknowledged.v1"


class CaseHandled(CaseEvent):
    type: Literal["cityloop.case.handled.v1"] = "cityloop.case.handled.v1"
    result: str
    photos: list[Photo] = Field(default_factory=list)
    deadlines: list[DeadlineSet] = Field(default_factory=list, description="the verification clock it starts")


class CaseVerified(CaseEvent):
    type: Literal["cityloop.case.verified.v1"] = "cityloop.case.verified.v1"
    passed: bool
    note: str = ""
    photos: list[Photo] = Field(default_factory=list)
    deadlines: list[DeadlineSet] = Field(default_factory=list, description="rework clocks, when it failed")


class CaseClosed(CaseEvent):
    type: Literal["cityloop.case.closed.v1"] = "cityloop.case.closed.v1"
    report_ids: list[str] = Field(default_factory=list)


class CaseReturned(CaseEvent):
    type: Literal["cityloop.case.returned.v1"] = "cityloop.case.returned.v1"
    reason: str
    from_department: str | None = None


class ExtensionRequested(CaseEvent):
    type: Literal["cityloop.case.extension_requested.v1"] = "cityloop.case.extension_requested.v1"
    days: int
    reason: str


class ExtensionGranted(CaseEvent):
    type: Literal["cityloop.case.extension_granted.v1"] = "cityloop.case.extension_granted.v1"
    days: int
    deadlines: list[DeadlineSet] = Field(default_factory=list)


class ExtensionRefused(CaseEvent):
    type: Literal["cityloop.case.extension_refused.v1"] = "cityloop.case.extension_refused.v1"
    reason: str


class CaseSuspended(CaseEvent):
    type: Literal["cityloop.case.suspended.v1"] = "cityloop.case.suspended.v1"
    reason: str


class CaseResumed(CaseEvent):
    type: Literal["cityloop.case.resumed.v1"] = "cityloop.case.resumed.v1"
    deadlines: list[DeadlineSet] = Field(default_factory=list)


class CaseReopened(CaseEvent):
    type: Literal["cityloop.case.reopened.v1"] = "cityloop.case.reopened.v1"
    reason: str
    deadlines: list[DeadlineSet] = Field(default_factory=list)


class CaseWithdrawn(CaseEvent):
    type: Literal["cityloop.case.withdrawn.v1"] = "cityloop.case.withdrawn.v1"
    reason: str


class ReportAttached(CaseEvent):
    """A duplicate report joined this case (并案)."""

    type: Literal["cityloop.case.report_attached.v1"] = "cityloop.case.report_attached.v1"
    report_id: str
    channel: Channel
    deadline_profile: str | None = Field(default=None, description="what this report's caller is owed")
    hotline_class: Literal["general", "complex"] | None = None
    deadlines: list[DeadlineSet] = Field(
        default_factory=list,
        description="the caller's own clocks (first_contact:<report_id>) and a handle clock it tightened",
    )


class FirstContactMade(CaseEvent):
    type: Literal["cityloop.case.first_contact.v1"] = "cityloop.case.first_contact.v1"
    on_time: bool
    report_id: str | None = Field(default=None, description="the merged caller contacted; None: the case's own")


class DeadlineWarned(CaseEvent):
    type: Literal["cityloop.case.deadline_warned.v1"] = "cityloop.case.deadline_warned.v1"
    kind: str
    due_at: datetime


class DeadlineBreached(CaseEvent):
    """The deadline passed: a reminder (催办) goes to the department."""

    type: Literal["cityloop.case.deadline_breached.v1"] = "cityloop.case.deadline_breached.v1"
    kind: str
    due_at: datetime


class CaseEscalated(CaseEvent):
    """Supervision (督办) at a rising level after the deadline."""

    type: Literal["cityloop.case.escalated.v1"] = "cityloop.case.escalated.v1"
    kind: str
    level: int
    due_at: datetime
    escalated_to: str | None = None


class WhistleBlown(CaseEvent):
    type: Literal["cityloop.case.whistle_blown.v1"] = "cityloop.case.whistle_blown.v1"
    street_code: str
    departments: list[str]
    checkin_due_at: datetime


class DepartmentCheckedIn(CaseEvent):
    type: Literal["cityloop.case.department_checked_in.v1"] = "cityloop.case.department_checked_in.v1"
    checked_in_department: str
    on_time: bool
    whistle_at: datetime


class CheckInMissed(CaseEvent):
    type: Literal["cityloop.case.checkin_missed.v1"] = "cityloop.case.checkin_missed.v1"
    missed_department: str
    due_at: datetime


class CallbackRecorded(CaseEvent):
    type: Literal["cityloop.case.callback_recorded.v1"] = "cityloop.case.callback_recorded.v1"
    satisfaction: Satisfaction
    channel: Literal["hotline", "wechat"] = "hotline"
    comment: str = ""


class DepartmentRated(CaseEvent):
    """考核权: a street rates how a department stationed in it or summoned by its whistle handled the case."""

    type: Literal["cityloop.case.department_rated.v1"] = "cityloop.case.department_rated.v1"
    street_code: str
    rated_department: str
    rating: Satisfaction = Field(description="satisfied (满意) | basic (基本满意) | unsatisfied (不满意)")
    comment: str = ""


class LevelMove(CaseEvent):
    """The case moved to another handling level; it waits in that level's dispatchers' queue (state filed).

    Clocks: the case's own deadlines (first contact, the 12345 1515 handling limit) keep running; the level it
    left has its `level:<level>` clock met at the move, and the new level's handling limit starts now
    (`deadlines`, empty when the new level has no limit of its own)."""

    from_level: Level
    to_level: Level
    from_unit: str | None = None
    to_unit: str | None = None
    reason: str
    deadlines: list[DeadlineSet] = Field(default_factory=list)


class CaseReportedUp(LevelMove):
    """上报: community → street → district, with a reason."""

    type: Literal["cityloop.case.reported_up.v1"] = "cityloop.case.reported_up.v1"


class CaseDelegated(LevelMove):
    """下派: district → street → community."""

    type: Literal["cityloop.case.delegated.v1"] = "cityloop.case.delegated.v1"


class CaseSentBack(CaseEvent):
    """退单: a 12345 ticket outside the district's remit goes back to the city platform (the case ends)."""

    type: Literal["cityloop.case.sent_back.v1"] = "cityloop.case.sent_back.v1"
    reason: str
    ticket_nos: list[str] = Field(default_factory=list, description="the 12345 ticket numbers sent back")
