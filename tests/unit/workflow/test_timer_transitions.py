"""Timers ask the state machine like every other action: its table alone decides whether a timer fires."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.contracts import cases as ev
from workflow import machine
from workflow.machine import Action, State
from workflow.timers import TimerPoller

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


class _Departments:
    def escalation_target(self, code: str | None, level: int) -> str:
        return f"{code}-chief-{level}"


def _row(state: str, step: str, **over: Any) -> Any:
    values = {
        "id": 1,
        "case_id": "c-1",
        "case_no": "DC1",
        "state": state,
        "version": 3,
        "fire_kind": step,
        "kind": "handle",
        "deadline_status": "active",
        "deadline_due": NOW,
        "case_department": "CGZF",
        "department_code": "CGZF",
    }
    return SimpleNamespace(**{**values, **over})


def _poller() -> TimerPoller:
    return TimerPoller(None, None, None, _Departments(), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "action", "event"),
    [
        ("warn", Action.WARN, ev.DeadlineWarned),
        ("due", Action.REMIND, ev.DeadlineBreached),
        ("checkin", Action.CHECKIN_MISSED, ev.CheckInMissed),
        ("escalate:2", Action.ESCALATE, ev.CaseEscalated),
    ],
)
def test_a_due_timer_on_a_running_case_fires_its_machine_action(step: str, action: Action, event: type) -> None:
    fired = _poller()._event(_row("dispatched", step), NOW)
    assert fired is not None
    assert fired[0] is action and isinstance(fired[1], event)


@pytest.mark.parametrize("state", ["suspended", "closed", "withdrawn"])
def test_no_timer_fires_where_the_machine_refuses(state: str) -> None:
    for step in ("warn", "due", "checkin", "escalate:1"):
        assert _poller()._event(_row(state, step), NOW) is None


def test_the_machine_table_not_the_poller_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    narrowed = dataclasses.replace(machine.TRANSITIONS[Action.WARN], sources=frozenset({State.ACKNOWLEDGED}))
    monkeypatch.setitem(machine.TRANSITIONS, Action.WARN, narrowed)
    assert _poller()._event(_row("dispatched", "warn"), NOW) is None
    assert _poller()._event(_row("acknowledged", "warn"), NOW) is not None


def test_escalation_names_the_next_level_and_a_stopped_clock_fires_nothing() -> None:
    fired = _poller()._event(_row("acknowledged", "escalate:2"), NOW)
    assert fired is not None and isinstance(fired[1], ev.CaseEscalated)
    assert fired[1].level == 2 and fired[1].escalated_to == "CGZF-chief-2"
    assert _poller()._event(_row("acknowledged", "due", deadline_status="met"), NOW) is None
