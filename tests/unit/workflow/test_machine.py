"""The state machine against a spec written out independently: every action × state × role."""

from __future__ import annotations

from collections import deque

import pytest

from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden
from workflow.machine import TRANSITIONS, Action, CaseFacts, State, allowed_actions, check

OPEN_BEFORE_HANDLING = "filed dispatched acknowledged returned"
EVERY_OPEN = "filed dispatched acknowledged handled verified returned suspended"
EVERY = EVERY_OPEN + " closed withdrawn"
RUNNING = "filed dispatched acknowledged handled verified returned"

# action: (states it may start from, state it leads to ("=" stays), roles besides admin)
SPEC: dict[Action, tuple[str, str, str]] = {
    Action.DISPATCH: ("filed returned", "dispatched", "system dispatcher"),
    Action.REDISPATCH: ("dispatched acknowledged", "dispatched", "dispatcher"),
    Action.ACKNOWLEDGE: ("dispatched", "acknowledged", "department"),
    Action.HANDLE: ("acknowledged", "handled", "department"),
    Action.RETURN: ("dispatched acknowledged", "returned", "department"),
    Action.REQUEST_EXTENSION: ("dispatched acknowledged", "=", "department"),
    Action.GRANT_EXTENSION: ("dispatched acknowledged", "=", "dispatcher"),
    Action.REFUSE_EXTENSION: ("dispatched acknowledged", "=", "dispatcher"),
    Action.VERIFY_PASS: ("handled", "verified", "inspector"),
    Action.VERIFY_FAIL: ("handled", "dispatched", "inspector"),
    Action.CLOSE: ("verified", "closed", "dispatcher"),
    Action.SUSPEND: (OPEN_BEFORE_HANDLING, "suspended", "dispatcher"),
    Action.RESUME: ("suspended", "<suspended_from>", "dispatcher"),
    Action.WITHDRAW: (OPEN_BEFORE_HANDLING + " suspended", "withdrawn", "system dispatcher"),
    Action.REOPEN: ("closed", "dispatched", "system dispatcher"),
    Action.FIRST_CONTACT: (EVERY_OPEN, "=", "system dispatcher"),
    Action.CALLBACK: ("closed", "=", "system dispatcher"),
    Action.WHISTLE: (OPEN_BEFORE_HANDLING, "=", "street system"),
    Action.CHECK_IN: (EVERY_OPEN, "=", "department"),
    Action.ATTACH_REPORT: (EVERY, "=", "system"),
    Action.NOTE: (EVERY, "=", "system"),
    Action.WARN: (RUNNING, "=", "system"),
    Action.REMIND: (RUNNING, "=", "system"),
    Action.ESCALATE: (RUNNING, "=", "system"),
    Action.CHECKIN_MISSED: (RUNNING, "=", "system"),
    Action.REPORT_UP: (OPEN_BEFORE_HANDLING, "filed", "dispatcher department"),
    Action.DELEGATE: (OPEN_BEFORE_HANDLING, "filed", "dispatcher"),
    Action.SEND_BACK: (OPEN_BEFORE_HANDLING, "withdrawn", "dispatcher"),
    Action.RATE: ("handled verified closed", "=", "street"),
}


def facts(state: State, **kw: object) -> CaseFacts:
    """Facts under which every guard passes for a department WATER principal, unless overridden: a 12345 case
    held at the street level by the unit "WATER" (so a dispatcher of unit WATER works at the case's level)."""
    base: dict[object, object] = {
        "department_code": "WATER",
        "suspended_from": State.ACKNOWLEDGED,
        "last_satisfaction": "unsatisfied",
        "pending_checkins": frozenset({"WATER"}),
        "level": "street",
        "level_unit": "WATER",
        "channel": "hotline",
    }
    base.update(kw)
    return CaseFacts(state=state, **base)  # type: ignore[arg-type]


def facts_for(action: Action, state: State) -> CaseFacts:
    if action is Action.SEND_BACK:  # only the district centre sends a ticket back
        return facts(state, level="district", level_unit=None)
    return facts(state, extension_pending=action in (Action.GRANT_EXTENSION, Action.REFUSE_EXTENSION))


def who(role: Role, unit: str | None = "WATER") -> Principal:
    return Principal(f"{role.value}-1", role, unit)


def who_for(action: Action, role: Role) -> Principal:
    return who(role, None if action is Action.SEND_BACK else "WATER")


def test_spec_covers_every_action_but_filing() -> None:
    assert set(SPEC) == set(TRANSITIONS) - {Action.FILE}


@pytest.mark.parametrize("action", list(SPEC), ids=lambda a: a.value)
def test_every_state_and_role_is_allowed_or_refused_as_specified(action: Action) -> None:
    sources, to, roles = SPEC[action]
    allowed_states = {State(s) for s in sources.split()}
    allowed_roles = {Role(r) for r in roles.split()} | {Role.ADMIN}
    mismatches = []
    for state in State:
        for role in Role:
            f = facts_for(action, state)
            try:
                got: object = check(action, f, who_for(action, role))
            except Forbidden:
                got = 403
            except Conflict:
                got = 409
            if role not in allowed_roles:
                want: object = 403
            elif state not in allowed_states:
                want = 409
            elif to == "=":
                want = state
            elif to == "<suspended_from>":
                want = f.suspended_from
            else:
                want = State(to)
            if got != want:
                mismatches.append((state.value, role.value, got, want))
    assert not mismatches


def test_filing_needs_a_case_that_does_not_exist_yet() -> None:
    assert check(Action.FILE, CaseFacts(state=None), who(Role.SYSTEM)) is State.FILED
    with pytest.raises(Conflict):
        check(Action.ACKNOWLEDGE, CaseFacts(state=None), who(Role.DEPARTMENT))


@pytest.mark.parametrize("action", [Action.ACKNOWLEDGE, Action.RETURN, Action.REQUEST_EXTENSION])
def test_a_department_cannot_act_on_a_case_now_assigned_elsewhere(action: Action) -> None:
    with pytest.raises(Forbidden) as err:
        check(action, facts(State.DISPATCHED), who(Role.DEPARTMENT, "ROADS"))
    assert err.value.field == "department_code"


def test_handling_is_refused_to_a_former_department() -> None:
    with pytest.raises(Forbidden):
        check(Action.HANDLE, facts(State.ACKNOWLEDGED, department_code="ROADS"), who(Role.DEPARTMENT))


def test_a_second_extension_request_waits_for_the_first_decision() -> None:
    with pytest.raises(Conflict) as err:
        check(Action.REQUEST_EXTENSION, facts(State.ACKNOWLEDGED, extension_pending=True), who(Role.DEPARTMENT))
    assert err.value.field == "extension"


@pytest.mark.parametrize("action", [Action.GRANT_EXTENSION, Action.REFUSE_EXTENSION])
def test_an_extension_decision_needs_a_request(action: Action) -> None:
    with pytest.raises(Conflict):
        check(action, facts(State.ACKNOWLEDGED, extension_pending=False), who(Role.DISPATCHER))


def test_first_contact_is_recorded_once() -> None:
    with pytest.raises(Conflict) as err:
        check(Action.FIRST_CONTACT, facts(State.DISPATCHED, first_contact_done=True), who(Role.SYSTEM))
    assert err.value.field == "first_contact"


@pytest.mark.parametrize("satisfaction", ["satisfied", "basic", None])
def test_only_an_unsatisfied_callback_reopens(satisfaction: str | None) -> None:
    with pytest.raises(Conflict):
        check(Action.REOPEN, facts(State.CLOSED, last_satisfaction=satisfaction), who(Role.SYSTEM))


def test_only_a_summoned_department_checks_in() -> None:
    with pytest.raises(Conflict):
        check(Action.CHECK_IN, facts(State.DISPATCHED, pending_checkins=frozenset({"ROADS"})), who(Role.DEPARTMENT))
    assert (
        check(
            Action.CHECK_IN,
            facts(State.DISPATCHED, pending_checkins=frozenset({"ROADS"})),
            who(Role.DEPARTMENT, "ROADS"),
        )
        is State.DISPATCHED
    )


@pytest.mark.parametrize("left", [State.FILED, State.DISPATCHED, State.ACKNOWLEDGED, State.RETURNED])
def test_resume_returns_to_the_state_the_case_was_suspended_from(left: State) -> None:
    assert check(Action.RESUME, facts(State.SUSPENDED, suspended_from=left), who(Role.DISPATCHER)) is left


def test_allowed_actions_lists_what_the_caller_may_do_now() -> None:
    dept = allowed_actions(facts(State.DISPATCHED), who(Role.DEPARTMENT))
    assert set(dept) == {
        Action.ACKNOWLEDGE,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.CHECK_IN,
        Action.REPORT_UP,  # the case is held below the district: its unit may pass it up
    }
    other = allowed_actions(facts(State.DISPATCHED, pending_checkins=frozenset()), who(Role.DEPARTMENT, "ROADS"))
    assert other == []
    assert set(allowed_actions(facts(State.VERIFIED), who(Role.DISPATCHER))) == {Action.CLOSE, Action.FIRST_CONTACT}


def test_every_open_state_can_still_reach_closed() -> None:
    """No dead end: from each open state some chain of non-timer actions leads to closed."""
    edges: dict[State, set[State]] = {s: set() for s in State}
    for action, t in TRANSITIONS.items():
        for source in t.sources:
            target = t.target or (State.DISPATCHED if action is Action.RESUME else source)
            edges[source].add(target)
    for start in State:
        if start is State.WITHDRAWN:
            continue
        seen: set[State] = {start}
        todo: deque[State] = deque([start])
        while todo:
            for nxt in edges[todo.popleft()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert State.CLOSED in seen, start


def test_withdrawn_is_final() -> None:
    changing = [a for a, t in TRANSITIONS.items() if State.WITHDRAWN in t.sources and t.target is not None]
    assert changing == []


# -- tiered handling: which level's dispatcher may act, and the guards of the moves ---------------------------------

DISPATCHER_ACTIONS = [a for a, t in TRANSITIONS.items() if Role.DISPATCHER in t.roles]
LEVEL_CASES = {  # case level → its unit
    "district": None,
    "street": "S01",
    "community": "S01-C1",
}
CALLERS = {"district": None, "street S01": "S01", "street S02": "S02", "community S01-C1": "S01-C1"}


@pytest.mark.parametrize("action", DISPATCHER_ACTIONS, ids=lambda a: a.value)
def test_each_levels_dispatchers_act_only_on_cases_at_their_level(action: Action) -> None:
    """Every dispatcher action × case level × dispatcher of each level: the district acts everywhere, a street's
    or a community's dispatcher only on the cases its level holds; any other is 403 on `level`."""
    t = TRANSITIONS[action]
    state = next(iter(sorted(t.sources)))
    mismatches = []
    for level, unit in LEVEL_CASES.items():
        f = facts(
            state,
            level=level,
            level_unit=unit,
            extension_pending=action in (Action.GRANT_EXTENSION, Action.REFUSE_EXTENSION),
        )
        for caller, caller_unit in CALLERS.items():
            try:
                check(action, f, Principal("d", Role.DISPATCHER, caller_unit))
                got = "ok"
            except Forbidden as exc:
                got = f"403 {exc.field}"
            except Conflict as exc:
                got = f"409 {exc.field}"
            if caller_unit is not None and caller_unit != unit:
                want = "403 level"
            else:
                want = {
                    (Action.REPORT_UP, "district"): "409 level",
                    (Action.DELEGATE, "community"): "409 level",
                    (Action.SEND_BACK, "street"): "409 level",
                    (Action.SEND_BACK, "community"): "409 level",
                }.get((action, level), "ok")
            if got != want:
                mismatches.append((level, caller, got, want))
    assert not mismatches


def test_a_grid_worker_reports_up_only_a_case_it_holds() -> None:
    f = facts(State.ACKNOWLEDGED, level="community", level_unit="S01-C1", department_code="S01-C1-GRID")
    assert check(Action.REPORT_UP, f, who(Role.DEPARTMENT, "S01-C1-GRID")) is State.FILED
    with pytest.raises(Forbidden) as err:
        check(Action.REPORT_UP, f, who(Role.DEPARTMENT, "S02-C1-GRID"))
    assert err.value.field == "department_code"


def test_only_a_12345_ticket_is_sent_back() -> None:
    with pytest.raises(Conflict) as err:
        check(Action.SEND_BACK, facts(State.FILED, level="district", channel="patrol"), who(Role.DISPATCHER, None))
    assert err.value.field == "channel"


def test_allowed_actions_offer_the_moves_of_the_callers_level() -> None:
    street_case = facts(State.FILED, level="street", level_unit="S01", department_code=None)
    street = set(allowed_actions(street_case, who(Role.DISPATCHER, "S01")))
    assert {Action.REPORT_UP, Action.DELEGATE, Action.DISPATCH} <= street
    assert Action.SEND_BACK not in street
    assert allowed_actions(street_case, who(Role.DISPATCHER, "S01-C1")) == []
    district = set(allowed_actions(facts(State.FILED, level="district", level_unit=None), who(Role.DISPATCHER, None)))
    assert {Action.DELEGATE, Action.SEND_BACK} <= district and Action.REPORT_UP not in district
