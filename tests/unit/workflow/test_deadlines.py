"""Deadline arithmetic: 1515 due times, timer points, elapsed share, suspension and extension."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.calendar import WorkCalendar
from workflow.config import Basis, Escalation, Limit
from workflow.deadlines import Clockwork, Span

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = Clockwork(WorkCalendar())
POINTS = Escalation().fire_points()


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def span(start: datetime, limit: Limit) -> Span:
    return Span(limit.basis, start, CLOCK.due(start, limit).at)


def test_1515_general_is_due_at_close_of_business_five_working_days_later() -> None:
    assert CLOCK.due(at(2025, 3, 3), Limit(working_days=5)).at == at(2025, 3, 10, 18)
    assert CLOCK.due(at(2025, 3, 3), Limit(working_days=1)).at == at(2025, 3, 4, 18)


def test_national_day_holidays_and_the_make_up_saturday_are_respected() -> None:
    # Received Tue 30 Sep 2025: 1-8 Oct off, Sat 11 Oct is a make-up workday (调休).
    due = CLOCK.due(at(2025, 9, 30, 15), Limit(working_days=5))
    assert due.at == at(2025, 10, 14, 18)
    assert due.warnings == ()


def test_a_deadline_into_an_unknown_year_is_computed_with_a_warning() -> None:
    due = CLOCK.due(at(2026, 12, 24, 10), Limit(working_days=15))
    assert due.at.year == 2027
    assert any("2027" in w for w in due.warnings)


def test_working_hours_skip_lunch_nights_and_weekends() -> None:
    assert CLOCK.due(at(2025, 3, 7, 17), Limit(working_hours=2)).at == at(2025, 3, 10, 10)  # Fri 17:00 → Mon 10:00
    assert CLOCK.due(at(2025, 3, 3, 11), Limit(working_hours=2)).at == at(2025, 3, 3, 14)  # lunch 12-13 skipped


def test_wall_clock_limits_ignore_the_calendar() -> None:
    sunday_night = at(2025, 3, 9, 23)
    assert CLOCK.due(sunday_night, Limit(hours=2)).at == sunday_night + timedelta(hours=2)


def test_timers_fire_at_their_share_of_working_time() -> None:
    s = span(at(2025, 3, 3), Limit(working_hours=2))  # Monday 9:00, due 11:00
    points = CLOCK.schedule(s, POINTS)
    assert points == {
        "warn": at(2025, 3, 3, 10, 36),  # 80 % of 120 min
        "due": at(2025, 3, 3, 11),
        "escalate:1": at(2025, 3, 3, 11, 24),  # 120 %
        "escalate:2": at(2025, 3, 3, 14),  # 200 %: four office hours, lunch skipped
    }


def test_escalation_of_a_five_day_deadline_runs_on_working_days() -> None:
    # Received Monday 9:00, due next Monday 18:00: the receipt day's hours count as time used,
    # so the budget is six office days (48 h) and twice the time ends after twelve office days.
    s = span(at(2025, 3, 3), Limit(working_days=5))
    assert CLOCK.budget(s) == timedelta(hours=48)
    points = CLOCK.schedule(s, POINTS)
    assert points["due"] == at(2025, 3, 10, 18)
    assert points["escalate:2"] == at(2025, 3, 18, 18)


def test_the_light_is_frozen_over_a_weekend_and_while_suspended() -> None:
    s = span(at(2025, 3, 7, 9), Limit(working_hours=16))  # Fri 9:00 → Mon 18:00
    friday_close = CLOCK.fraction(s, at(2025, 3, 7, 18))
    assert friday_close == CLOCK.fraction(s, at(2025, 3, 9, 12)) == 0.5
    paused = Span(s.basis, s.start, s.due, paused_at=at(2025, 3, 7, 13))
    assert CLOCK.fraction(paused, at(2025, 3, 20)) == CLOCK.fraction(s, at(2025, 3, 7, 13))


def test_resuming_pushes_the_due_time_by_the_suspended_working_time() -> None:
    s = span(at(2025, 3, 3), Limit(working_days=5))  # due Mon 10 Mar 18:00
    suspended = Span(s.basis, s.start, s.due, paused_at=at(2025, 3, 4, 9))
    resumed, warnings = CLOCK.resumed(suspended, at(2025, 3, 6, 9))  # two working days stood still
    assert resumed.due == at(2025, 3, 12, 18)
    assert resumed.paused == timedelta(hours=16) and resumed.paused_at is None
    assert CLOCK.budget(resumed) == CLOCK.budget(s)
    assert warnings == ()


def test_an_extension_adds_working_days_across_a_weekend() -> None:
    s = span(at(2025, 3, 3), Limit(working_days=5))
    extended, _ = CLOCK.extended(s, 3)
    assert extended.due == at(2025, 3, 13, 18)
    hours, _ = CLOCK.extended(span(at(2025, 3, 3), Limit(working_hours=2)), 1)
    assert hours.due == at(2025, 3, 4, 11)  # one office day (8 h) later
    wall, _ = CLOCK.extended(span(at(2025, 3, 3), Limit(hours=2)), 1)
    assert wall.due == at(2025, 3, 4, 11)


starts = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(TZ))


@settings(max_examples=150, deadline=None)
@given(
    start=starts,
    hours=st.integers(min_value=1, max_value=200),
    pause_at=st.floats(0.0, 0.9),
    pause_days=st.integers(min_value=0, max_value=20),
)
def test_each_timer_fires_at_its_share_of_the_budget_even_after_a_suspension(
    start: datetime, hours: int, pause_at: float, pause_days: int
) -> None:
    s = span(start, Limit(working_hours=hours))
    budget = CLOCK.budget(s)
    paused_at = CLOCK.advance(s.basis, s.start, budget * pause_at).at
    s, _ = CLOCK.resumed(Span(s.basis, s.start, s.due, paused_at=paused_at), paused_at + timedelta(days=pause_days))
    assert CLOCK.budget(s) == budget
    points = CLOCK.schedule(s, POINTS)
    assert sorted(points.values()) == [points[k] for k in ("warn", "due", "escalate:1", "escalate:2")]
    for kind, fraction in POINTS.items():
        if fraction > pause_at:  # timers before the pause had fired already; later ones moved with it
            assert abs(CLOCK.fraction(s, points[kind]) - fraction) < 1e-6, kind


@settings(max_examples=100, deadline=None)
@given(start=starts, days=st.integers(min_value=1, max_value=20), basis=st.sampled_from(list(Basis)))
def test_the_light_turns_red_exactly_at_the_due_time(start: datetime, days: int, basis: Basis) -> None:
    limit = {
        Basis.WORKING_DAYS: Limit(working_days=days),
        Basis.WORKING_HOURS: Limit(working_hours=days * 3),
        Basis.WALL: Limit(hours=days),
    }[basis]
    s = span(start, limit)
    assert CLOCK.fraction(s, s.due) == 1.0
    assert CLOCK.fraction(s, s.due - timedelta(minutes=1)) < 1.0 or CLOCK.budget(s) == timedelta(0)
