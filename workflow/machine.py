"""The closed loop as an explicit state machine.

Every action a person, another system or a timer can take on a case is one row of `TRANSITIONS`:
the states it may start from, the state it leads to, the roles allowed to take it, an optional
guard on the case's facts, and the event it emits on `cases.v1`. The service asks `check` before
changing anything; nothing else decides whether an action is allowed.

    filed ─dispatch→ dispatched ─acknowledge→ acknowledged ─handle→ handled ─verify(pass)→ verified ─close→ closed
              ↑         │  ↑ verify(fail), reopen (rework)                 │                              │
              └return── ┘  └───────────────────────────────────────────────┘ ←──── reopen (unsatisfied) ──┘
    any open state before handling ─suspend→ suspended ─resume→ the state it left; ─withdraw→ withdrawn
    any open state before handling ─report_up (上报) / delegate (下派)→ filed, in the other level's queue;
                                   ─send_back (退单, a 12345 ticket not in the district's remit)→ withdrawn

Tiered handling: a case belongs to a level (district, street or community) and, below the district, to
that level's unit (street or community code). A street's or community's dispatcher acts only on the cases
at its own level and place; district staff (no unit) act at every level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from shared.auth import Principal, Role
from shared.contracts import cases as ev
from shared.errors import Conflict, Forbidden


class State(StrEnum):
    FILED = "filed"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"
    RETURNED = "returned"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({State.CLOSED, State.WITHDRAWN})
OPEN = frozenset(State) - TERMINAL
BEFORE_HANDLING = frozenset({State.FILED, State.DISPATCHED, State.ACKNOWLEDGED, State.RETURNED})
RUNNING = OPEN - {State.SUSPENDED}
"""States whose clocks run: timers fire only here."""
ALL = frozenset(State)


class Action(StrEnum):
    FILE = "file"
    DISPATCH = "dispatch"
    REDISPATCH = "redispatch"
    ACKNOWLEDGE = "acknowledge"
    HANDLE = "handle"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    GRANT_EXTENSION = "grant_extension"
    REFUSE_EXTENSION = "refuse_extension"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"
    CLOSE = "close"
    SUSPEND = "suspend"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"
    FIRST_CONTACT = "first_contact"
    CALLBACK = "callback"
    WHISTLE = "whistle"
    CHECK_IN = "check_in"
    ATTACH_REPORT = "attach_report"
    NOTE = "note"
    WARN = "warn"
    REMIND = "remind"
    ESCALATE = "escalate"
    CHECKIN_MISSED = "checkin_missed"
    REPORT_UP = "report_up"
    DELEGATE = "delegate"
    SEND_BACK = "send_back"
    RATE = "rate"


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What guards may look at: a snapshot of the case, read under its row lock."""

    state: State | None
    department_code: str | None = None
    suspended_from: State | None = None
    extension_pending: bool = False
    first_contact_done: bool = False
    last_satisfaction: str | None = None
    pending_checkins: frozenset[str] = frozenset()
    level: str = "district"
    level_unit: str | None = None
    channel: str | None = None


Guard = Callable[[CaseFacts, Principal], None]
"""Raises a DomainError (Conflict or Forbidden) naming the field when the action is refused."""


def _current_department(facts: CaseFacts, who: Principal) -> None:
    if who.role is Role.DEPARTMENT and who.unit != facts.department_code:
        raise Forbidden("the case is now assigned to another department", field="department_code")


def _no_extension_pending(facts: CaseFacts, who: Principal) -> None:
    _current_department(facts, who)
    if facts.extension_pending:
        raise Conflict("an extension request is already waiting for a decision", field="extension")


def _extension_pending(facts: CaseFacts, _: Principal) -> None:
    if not facts.extension_pending:
        raise Conflict("no extension request is waiting", field="extension")


def _first_contact_open(facts: CaseFacts, _: Principal) -> None:
    if facts.first_contact_done:
        raise Conflict("first contact is already recorded", field="first_contact")


def _unsatisfied(facts: CaseFacts, _: Principal) -> None:
    if facts.last_satisfaction != "unsatisfied":
        raise Conflict("only an unsatisfied callback reopens a case", field="satisfaction")


def _summoned(facts: CaseFacts, who: Principal) -> None:
    waiting = who.unit in facts.pending_checkins if who.role is Role.DEPARTMENT else bool(facts.pending_checkins)
    if not waiting:
        raise Conflict("no pending check-in on the case for this department", field="department_code")


def _below_district(facts: CaseFacts, who: Principal) -> None:
    """上报: the current handling unit or the level's dispatcher passes it up; the district is the top."""
    _current_department(facts, who)
    if facts.level == "district":
        raise Conflict("the case is already at the district level", field="level")


def _above_community(facts: CaseFacts, _: Principal) -> None:
    if facts.level == "community":
        raise Conflict("the case is already at the community level", field="level")


def _hotline_at_district(facts: CaseFacts, _: Principal) -> None:
    if facts.channel != "hotline":
        raise Conflict("only a 12345 ticket is sent back to the city platform", field="channel")
    if facts.level != "district":
        raise Conflict("only the district centre sends a ticket back: report it up first", field="level")


def _at_callers_level(facts: CaseFacts, who: Principal) -> None:
    """Each level's dispatchers work their own queue: a unit's dispatcher only acts on cases at its level."""
    if who.role is Role.DISPATCHER and who.unit is not None and facts.level_unit != who.unit:
        raise Forbidden(f"the case is handled at the {facts.level} level, not by {who.unit}", field="level")


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State | None
    """None: the case stays in its state (RESUME goes back to `suspended_from`)."""
    roles: frozenset[Role]
    event: type[ev.CaseEvent]
    guard: Guard | None = None
    description: str = field(default="", compare=False)


def _t(
    action: Action,
    sources: frozenset[State] | set[State],
    target: State | None,
    roles: set[Role],
    event: type[ev.CaseEvent],
    guard: Guard | None = None,
    description: str = "",
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), event, guard, description)


S, R = State, Role
_SYS = {R.SYSTEM}
_HOTLINE = {R.SYSTEM, R.DISPATCHER}

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        _t(Action.FILE, set(), S.FILED, _SYS, ev.CaseFiled, None, "a routed report becomes a case"),
        _t(
            Action.DISPATCH,
            {S.FILED, S.RETURNED},
            S.DISPATCHED,
            {R.SYSTEM, R.DISPATCHER},
            ev.CaseDispatched,
            None,
            "send the case to a department (automatic on filing, or by a dispatcher after a return)",
        ),
        _t(
            Action.REDISPATCH,
            {S.DISPATCHED, S.ACKNOWLEDGED},
            S.DISPATCHED,
            {R.DISPATCHER},
            ev.CaseDispatched,
            None,
            "move the case to another department",
        ),
        _t(
            Action.ACKNOWLEDGE,
            {S.DISPATCHED},
            S.ACKNOWLEDGED,
            {R.DEPARTMENT},
            ev.CaseAcknowledged,
            _current_department,
            "the department signs for the case (签收)",
        ),
        _t(
            Action.HANDLE,
            {S.ACKNOWLEDGED},
            S.HANDLED,
            {R.DEPARTMENT},
            ev.CaseHandled,
            _current_department,
            "the department reports the result, with photos (处置)",
        ),
        _t(
            Action.RETURN,
            {S.DISPATCHED, S.ACKNOWLEDGED},
            S.RETURNED,
            {R.DEPARTMENT},
            ev.CaseReturned,
            _current_department,
            "not ours: back to the dispatcher with a reason (退回)",
        ),
        _t(
            Action.REQUEST_EXTENSION,
            {S.DISPATCHED, S.ACKNOWLEDGED},
            None,
            {R.DEPARTMENT},
            ev.ExtensionRequested,
            _no_extension_pending,
            "ask for more working days (延期申请)",
        ),
        _t(
            Action.GRANT_EXTENSION,
            {S.DISPATCHED, S.ACKNOWLEDGED},
            None,
            {R.DISPATCHER},
            ev.ExtensionGranted,
            _extension_pending,
            "the handling deadline moves by working days",
        ),
        _t(
            Action.REFUSE_EXTENSION,
            {S.DISPATCHED, S.ACKNOWLEDGED},
            None,
            {R.DISPATCHER},
            ev.ExtensionRefused,
            _extension_pending,
            "the deadline stays",
        ),
        _t(
            Action.VERIFY_PASS,
            {S.HANDLED},
            S.VERIFIED,
            {R.INSPECTOR},
            ev.CaseVerified,
            None,
            "an inspector confirms the result on site, with a photo (核查)",
        ),
        _t(
            Action.VERIFY_FAIL,
            {S.HANDLED},
            S.DISPATCHED,
            {R.INSPECTOR},
            ev.CaseVerified,
            None,
            "not fixed: back to the department for rework",
        ),
        _t(Action.CLOSE, {S.VERIFIED}, S.CLOSED, {R.DISPATCHER}, ev.CaseClosed, None, "结案"),
        _t(
            Action.SUSPEND,
            BEFORE_HANDLING,
            S.SUSPENDED,
            {R.DISPATCHER},
            ev.CaseSuspended,
            None,
            "挂账: every clock of the case stops",
        ),
        _t(
            Action.RESUME,
            {S.SUSPENDED},
            None,
            {R.DISPATCHER},
            ev.CaseResumed,
            None,
            "back to the state it left; deadlines move by the suspended working time",
        ),
        _t(
            Action.WITHDRAW,
            BEFORE_HANDLING | {S.SUSPENDED},
            S.WITHDRAWN,
            {R.SYSTEM, R.DISPATCHER},
            ev.CaseWithdrawn,
            None,
            "the citizen withdrew the report before it was handled",
        ),
        _t(
            Action.REOPEN,
            {S.CLOSED},
            S.DISPATCHED,
            _HOTLINE,
            ev.CaseReopened,
            _unsatisfied,
            "the citizen is unsatisfied: rework by the last department (重办)",
        ),
        _t(
            Action.FIRST_CONTACT,
            OPEN,
            None,
            _HOTLINE,
            ev.FirstContactMade,
            _first_contact_open,
            "the hotline called the citizen back (先行联系)",
        ),
        _t(
            Action.CALLBACK,
            {S.CLOSED},
            None,
            _HOTLINE,
            ev.CallbackRecorded,
            None,
            "the citizen's satisfaction after closing (回访)",
        ),
        _t(
            Action.WHISTLE,
            BEFORE_HANDLING,
            None,
            {R.STREET, R.SYSTEM},
            ev.WhistleBlown,
            None,
            "吹哨: the street summons departments, each must check in",
        ),
        _t(Action.CHECK_IN, OPEN, None, {R.DEPARTMENT}, ev.DepartmentCheckedIn, _summoned, "报到"),
        _t(Action.ATTACH_REPORT, ALL, None, _SYS, ev.ReportAttached, None, "a duplicate report joins the case (并案)"),
        _t(Action.NOTE, ALL, None, _SYS, ev.CaseEvent, None, "a supplement to a report: audit only, no event"),
        _t(Action.WARN, RUNNING, None, _SYS, ev.DeadlineWarned, None, "a deadline is near (预警)"),
        _t(Action.REMIND, RUNNING, None, _SYS, ev.DeadlineBreached, None, "a deadline passed (催办)"),
        _t(Action.ESCALATE, RUNNING, None, _SYS, ev.CaseEscalated, None, "supervision up the chain (督办)"),
        _t(
            Action.CHECKIN_MISSED, RUNNING, None, _SYS, ev.CheckInMissed, None, "a summoned department did not check in"
        ),
        _t(
            Action.REPORT_UP,
            BEFORE_HANDLING,
            S.FILED,
            {R.DISPATCHER, R.DEPARTMENT},
            ev.CaseReportedUp,
            _below_district,
            "上报: too big for this level; the next level up takes it, with a reason",
        ),
        _t(
            Action.DELEGATE,
            BEFORE_HANDLING,
            S.FILED,
            {R.DISPATCHER},
            ev.CaseDelegated,
            _above_community,
            "下派: the level below handles it (district → street → community)",
        ),
        _t(
            Action.SEND_BACK,
            BEFORE_HANDLING,
            S.WITHDRAWN,
            {R.DISPATCHER},
            ev.CaseSentBack,
            _hotline_at_district,
            "退单: the 12345 ticket is not in the district's remit; back to the city platform, with a reason",
        ),
        _t(
            Action.RATE,
            {S.HANDLED, S.VERIFIED, S.CLOSED},
            None,
            {R.STREET},
            ev.DepartmentRated,
            None,
            "考核: the street rates the handling of a department it was given to or summoned",
        ),
    )
}


def roles_for(action: Action) -> tuple[Role, ...]:
    """Roles an endpoint should require for `action` (admin always passes `shared.auth.require`)."""
    return tuple(sorted(TRANSITIONS[action].roles))


def check(action: Action, facts: CaseFacts, who: Principal) -> State:
    """The state after `action`, or a DomainError: 403 for the wrong role, 409 for the wrong state or a guard."""
    t = TRANSITIONS[action]
    if who.role not in t.roles and who.role is not Role.ADMIN:
        raise Forbidden(f"role {who.role.value} may not {action.value.replace('_', ' ')}", field="role")
    if facts.state is None:
        if t.sources:
            raise Conflict("the case does not exist yet", field="state")
    elif facts.state not in t.sources:
        raise Conflict(f"cannot {action.value.replace('_', ' ')} a case that is {facts.state.value}", field="state")
    if R.DISPATCHER in t.roles:
        _at_callers_level(facts, who)
    if t.guard is not None:
        t.guard(facts, who)
    if action is Action.RESUME:
        if facts.suspended_from is None:
            raise Conflict("the case does not remember the state it was suspended from", field="state")
        return facts.suspended_from
    if t.target is None:
        assert facts.state is not None
        return facts.state
    return t.target


def allowed_actions(facts: CaseFacts, who: Principal) -> list[Action]:
    """Actions `who` could take now: the API shows them so clients need not duplicate these rules."""
    out: list[Action] = []
    for action, t in TRANSITIONS.items():
        if t.roles == frozenset(_SYS) or action is Action.FILE:
            continue
        try:
            check(action, facts, who)
        except (Conflict, Forbidden):
            continue
        out.append(action)
    return out
