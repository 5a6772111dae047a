"""What a merged 12345 caller is owed: first contact and a result by its own class, and the case's stricter clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.calendar import WorkCalendar
from workflow.callers import owed, stricter
from workflow.config import Basis, Limit, Profile
from workflow.deadlines import Clockwork, Span

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = Clockwork(WorkCalendar())
GENERAL = Profile(first_contact=Limit(working_days=1), handle=Limit(working_days=5))
COMPLEX = Profile(first_contact=Limit(working_days=1), handle=Limit(working_days=15))


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_a_complex_caller_is_owed_fifteen_working_days_from_its_own_call() -> None:
    due = owed(CLOCK, COMPLEX, at(2025, 3, 4, 10))
    assert due.first_contact is not None and due.first_contact.at == at(2025, 3, 5, 18)
    assert due.result.at == at(2025, 3, 25, 18)


def test_a_call_over_national_day_counts_working_days_only() -> None:
    due = owed(CLOCK, GENERAL, at(2025, 9, 30, 15))  # 1-8 Oct off, Sat 11 Oct worked (调休)
    assert due.first_contact is not None and due.first_contact.at == at(2025, 10, 9, 18)
    assert due.result.at == at(2025, 10, 14, 18)


def test_a_general_caller_pulls_a_complex_case_in_and_a_complex_one_leaves_a_general_case() -> None:
    complex_case = Span(Basis.WORKING_DAYS, at(2025, 3, 3), CLOCK.due(at(2025, 3, 3), COMPLEX.handle).at)
    general_caller = owed(CLOCK, GENERAL, at(2025, 3, 5)).result.at
    tightened = stricter(complex_case, general_caller)
    assert tightened is not None and tightened.due == at(2025, 3, 12, 18) and tightened.start == complex_case.start

    general_case = Span(Basis.WORKING_DAYS, at(2025, 3, 3), CLOCK.due(at(2025, 3, 3), GENERAL.handle).at)
    assert stricter(general_case, owed(CLOCK, COMPLEX, at(2025, 3, 4)).result.at) is None


def test_a_suspended_case_keeps_its_clock_until_it_resumes() -> None:
    paused = Span(Basis.WORKING_DAYS, at(2025, 3, 3), at(2025, 3, 24, 18), paused_at=at(2025, 3, 4))
    assert stricter(paused, at(2025, 3, 10, 18)) is None


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2025, 12, 1)).map(
    lambda d: d.replace(tzinfo=TZ)
)


@settings(max_examples=200, deadline=None)
@given(call=moments, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_the_later_call_is_never_owed_earlier_and_complex_never_before_general(
    call: datetime, later: timedelta
) -> None:
    """Monotone in the call time; the complex class never owes less time; first contact precedes the result."""
    a, b = owed(CLOCK, GENERAL, call), owed(CLOCK, GENERAL, call + later)
    assert a.result.at <= b.result.at
    assert a.first_contact is not None and b.first_contact is not None
    assert a.first_contact.at <= b.first_contact.at <= b.result.at
    assert owed(CLOCK, COMPLEX, call).result.at >= a.result.at > call


@settings(max_examples=200, deadline=None)
@given(start=moments, caller_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_the_case_clock_is_the_earliest_of_what_its_callers_are_owed(start: datetime, caller_after: timedelta) -> None:
    """After a merge the case's due is min(its own, the caller's) and never before its own start."""
    case = Span(Basis.WORKING_DAYS, start, CLOCK.due(start, COMPLEX.handle).at)
    caller = owed(CLOCK, GENERAL, start + caller_after).result.at
    tightened = stricter(case, caller)
    due = tightened.due if tightened else case.due
    assert due == min(case.due, caller)
    assert CLOCK.fraction(tightened or case, due) == 1.0
