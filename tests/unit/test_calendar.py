"""Acceptance tests for the working-time calendar (shared.calendar)."""

from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.calendar import (
    SHANGHAI,
    OverrideFileError,
    WorkCalendar,
    default_calendar,
    load_overrides,
    statutory_holidays,
)

TZ = ZoneInfo("Asia/Shanghai")
FIRST_KNOWN = min(chinese_calendar.holidays).year
LAST_KNOWN = max(chinese_calendar.holidays).year
FIRST_UNKNOWN = LAST_KNOWN + 1
CAL = WorkCalendar()

starts = st.datetimes(
    min_value=datetime(2004, 1, 1),
    max_value=datetime(2026, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([TZ, UTC, ZoneInfo("America/New_York")]),
)
durations = st.integers(min_value=0, max_value=400 * 60).map(lambda m: timedelta(minutes=m))


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def close_of(d: date) -> datetime:
    return datetime.combine(d, time(18), tzinfo=TZ)


@functools.cache
def library_workdays() -> list[date]:
    """Every working day chinese-calendar knows, sorted (the oracle)."""
    day, end, out = date(FIRST_KNOWN, 1, 1), date(LAST_KNOWN, 12, 31), []
    while day <= end:
        if chinese_calendar.is_workday(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def nth_workday_after(d: date, n: int, is_workday: Callable[[date], bool]) -> date:
    """Naive reference: n-th working day strictly after d."""
    while n:
        d += timedelta(days=1)
        n -= is_workday(d)
    return d


def library_or_weekday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def library_or_estimate(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5 and d not in statutory_holidays(d.year)


# -- library coverage ---------------------------------------------------------


def test_known_years_match_library() -> None:
    assert CAL.known_years() == frozenset(range(FIRST_KNOWN, FIRST_UNKNOWN))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(FIRST_UNKNOWN, 1, 4))
    if chinese_calendar.__version__ == "1.11.0":
        assert (FIRST_KNOWN, LAST_KNOWN) == (2004, 2026)


def test_is_workday_agrees_with_library_every_day() -> None:
    workdays = set(library_workdays())
    day = date(FIRST_KNOWN, 1, 1)
    while day.year <= LAST_KNOWN:
        assert CAL.is_workday(day) == (day in workdays), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 4), True),  # Sunday make-up workday (Spring Festival)
        (date(2023, 4, 23), True),  # Sunday make-up workday (Labour Day)
        (date(2024, 9, 29), True),  # Sunday make-up workday (National Day)
        (date(2024, 10, 1), False),  # Golden Week
        (date(2024, 10, 7), False),
        (date(2024, 2, 3), False),  # ordinary Saturday
        (date(2024, 3, 15), True),  # ordinary Friday
    ],
)
def test_known_days(day: date, expected: bool) -> None:
    assert CAL.is_workday(day) is expected


# -- working days ---------------------------------------------------------------


def test_add_working_days_every_start_day_2004_to_last_known() -> None:
    """Exhaustive check against chinese-calendar for every receipt day."""
    workdays = library_workdays()
    day = date(FIRST_KNOWN, 1, 1)
    while day.year <= LAST_KNOWN:
        start = datetime.combine(day, time(10), tzinfo=TZ)
        after = bisect.bisect_right(workdays, day)
        for n in (0, 1, 2, 5, 15):
            result = CAL.add_working_days(start, n)
            # n == 0 at 10:00: today if a workday, else the next one.
            i = bisect.bisect_left(workdays, day) if n == 0 else after + n - 1
            if i < len(workdays):
                assert result.due_at == close_of(workdays[i]), (day, n)
                assert result.warnings == (), (day, n)
            else:  # runs past the library's last year: Mon-Fri, with a warning
                assert result.unknown_years == (FIRST_UNKNOWN,), (day, n)
                assert result.warnings, (day, n)
        day += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=30))
def test_add_working_days_property(start: datetime, n: int) -> None:
    result = CAL.add_working_days(start, n)
    local = start.astimezone(TZ)
    d, due = local.date(), result.due_at.date()
    assert result.due_at.tzinfo is SHANGHAI
    assert result.due_at.timetz() == time(18, tzinfo=TZ)
    assert result.due_at >= start
    if due.year > LAST_KNOWN:
        assert result.unknown_years == (FIRST_UNKNOWN,)
        assert str(FIRST_UNKNOWN) in result.warnings[0]
        return
    assert result.warnings == ()
    assert chinese_calendar.is_workday(due)
    if n == 0:
        first = d if local <= close_of(d) else d + timedelta(days=1)
        assert chinese_calendar.get_workdays(first, due) == [due]
    else:
        assert len(chinese_calendar.get_workdays(d + timedelta(days=1), due)) == n


def test_receipt_day_does_not_count() -> None:
    monday = at(2024, 3, 11, 9, 30)
    assert CAL.add_working_days(monday, 1).due_at == at(2024, 3, 12, 18)
    assert CAL.add_working_days(monday, 5).due_at == at(2024, 3, 18, 18)
    assert CAL.add_working_days(monday, 15).due_at == at(2024, 4, 1, 18)
    # Late evening receipt is the same receipt day.
    assert CAL.add_working_days(at(2024, 3, 11, 23, 59), 1).due_at == at(2024, 3, 12, 18)


def test_working_days_skip_golden_week_and_count_make_up_days() -> None:
    # Sat 2024-09-28 received; Sun 09-29 is a make-up workday, 10-01..07 off.
    assert CAL.add_working_days(at(2024, 9, 28, 10), 1).due_at == at(2024, 9, 29, 18)
    assert CAL.add_working_days(at(2024, 9, 30, 10), 1).due_at == at(2024, 10, 8, 18)
    # Fri 2024-02-02: Sat off, Sun 02-04 make-up workday.
    assert CAL.add_working_days(at(2024, 2, 2, 10), 1).due_at == at(2024, 2, 4, 18)
    assert CAL.add_working_days(at(2023, 4, 21, 10), 1).due_at == at(2023, 4, 23, 18)


def test_zero_working_days() -> None:
    assert CAL.add_working_days(at(2024, 3, 11, 10), 0).due_at == at(2024, 3, 11, 18)
    assert CAL.add_working_days(at(2024, 3, 11, 18), 0).due_at == at(2024, 3, 11, 18)
    assert CAL.add_working_days(at(2024, 3, 11, 19), 0).due_at == at(2024, 3, 12, 18)
    assert CAL.add_working_days(at(2024, 10, 1, 10), 0).due_at == at(2024, 10, 8, 18)


def test_opening_of_two_working_days_skips_weekends_and_holidays() -> None:
    assert CAL.opening(at(2024, 3, 11, 8, 0), workdays=2) == at(2024, 3, 11, 9)  # Monday before opening
    assert CAL.opening(at(2024, 3, 11, 9, 1), workdays=2) == at(2024, 3, 12, 9)
    assert CAL.opening(at(2024, 3, 15, 10), workdays=2) == at(2024, 3, 18, 9)  # Friday: after the weekend
    assert CAL.opening(at(2024, 9, 27, 10), workdays=2) == at(2024, 9, 29, 9)  # make-up Sunday, then Monday
    assert CAL.opening(at(2024, 9, 30, 10), workdays=2) == at(2024, 10, 8, 9)  # National Day week off


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=3))
def test_opening_begins_a_run_of_working_days(start: datetime, n: int) -> None:
    opens = CAL.opening(start, workdays=n)
    day = opens.date()
    assert opens >= start and opens.timetz() == time(9, tzinfo=TZ)
    assert all(CAL.is_workday(day + timedelta(days=k)) for k in range(n))
    earlier = [d for d in (day - timedelta(days=k) for k in range(1, 60)) if at(d.year, d.month, d.day, 9) >= start]
    assert not any(all(CAL.is_workday(d + timedelta(days=k)) for k in range(n)) for d in earlier)


@settings(max_examples=200, deadline=None)
@given(
    a=starts,
    b=starts,
    n=st.integers(min_value=0, max_value=30),
    m=st.integers(min_value=0, max_value=30),
)
def test_add_working_days_monotone(a: datetime, b: datetime, n: int, m: int) -> None:
    a, b = sorted((a, b))
    n, m = sorted((n, m))
    assert CAL.add_working_days(a, n).due_at <= CAL.add_working_days(b, n).due_at
    assert CAL.add_working_days(a, n).due_at <= CAL.add_working_days(a, m).due_at


# -- working hours ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2024, 3, 12, 10), 2, at(2024, 3, 12, 12)),  # ends exactly at lunch
        (at(2024, 3, 12, 11, 30), 1, at(2024, 3, 12, 13, 30)),  # across lunch
        (at(2024, 3, 12, 12, 30), 1, at(2024, 3, 12, 14)),  # starts at lunch
        (at(2024, 3, 12, 17), 1, at(2024, 3, 12, 18)),  # ends at close
        (at(2024, 3, 12, 20), 1, at(2024, 3, 13, 10)),  # overnight
        (at(2024, 3, 13, 6), 0.5, at(2024, 3, 13, 9, 30)),  # before opening
        (at(2024, 3, 15, 17), 2, at(2024, 3, 18, 10)),  # weekend
        (at(2024, 3, 12, 10), 16, at(2024, 3, 14, 10)),  # two full days
        (at(2024, 9, 30, 17), 2, at(2024, 10, 8, 10)),  # Golden Week
        (at(2024, 2, 2, 17), 2, at(2024, 2, 4, 10)),  # make-up Sunday
        (at(2023, 4, 21, 17), 2, at(2023, 4, 23, 10)),  # make-up Sunday
        (at(2024, 3, 12, 10), 0, at(2024, 3, 12, 10)),
        (at(2024, 3, 12, 12), 0, at(2024, 3, 12, 13)),  # zero moves to opening
        (at(2024, 3, 12, 18), 0, at(2024, 3, 13, 9)),
    ],
)
def test_add_working_hours_examples(start: datetime, hours: float, due: datetime) -> None:
    result = CAL.add_working_hours(start, hours)
    assert result.due_at == due
    assert result.warnings == ()
    assert CAL.add_working_hours(start, timedelta(hours=hours)).due_at == due


def test_working_time_between_examples() -> None:
    assert CAL.working_time_between(at(2024, 3, 15, 17), at(2024, 3, 18, 10)).value == (timedelta(hours=2))
    # Whole Golden Week 2024 (09-29 make-up Sunday counts, 10-01..07 do not).
    week = CAL.working_time_between(at(2024, 9, 28), at(2024, 10, 8))
    assert week.value == timedelta(hours=16)
    assert CAL.working_time_between(at(2024, 3, 12, 12), at(2024, 3, 12, 13)).value == (timedelta(0))
    back = CAL.working_time_between(at(2024, 3, 18, 10), at(2024, 3, 15, 17))
    assert back.value == -timedelta(hours=2)


def test_input_in_other_timezone_is_converted() -> None:
    start = datetime(2024, 3, 17, 23, 30, tzinfo=UTC)  # Mon 07:30 in Shanghai
    due = CAL.add_working_hours(start, 1).due_at
    assert due == at(2024, 3, 18, 10)
    assert due.tzinfo is SHANGHAI
    assert CAL.add_working_days(start, 1).due_at == at(2024, 3, 19, 18)


@settings(max_examples=300, deadline=None)
@given(a=starts, h=durations)
def test_working_hours_round_trip(a: datetime, h: timedelta) -> None:
    due = CAL.add_working_hours(a, h)
    assert due.due_at >= a
    between = CAL.working_time_between(a, due.due_at)
    assert between.value == h
    assert between.unknown_years == due.unknown_years
    assert bool(due.warnings) == (due.due_at.year > LAST_KNOWN)
    if h:  # a positive deadline lies inside office hours on a workday
        local = due.due_at.astimezone(TZ)
        assert CAL.is_workday(local.date()) or local.year > LAST_KNOWN
        assert any(s < local.time() <= e for s, e in CAL.office_hours)


@settings(max_examples=200, deadline=None)
@given(a=starts, b=starts, h=durations, k=durations)
def test_working_hours_monotone(a: datetime, b: datetime, h: timedelta, k: timedelta) -> None:
    a, b = sorted((a, b))
    h, k = sorted((h, k))
    assert CAL.add_working_hours(a, h).due_at <= CAL.add_working_hours(b, h).due_at
    assert CAL.add_working_hours(a, h).due_at <= CAL.add_working_hours(a, k).due_at


@settings(max_examples=200, deadline=None)
@given(a=starts, b=starts, c=starts)
def test_working_time_between_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    ab = CAL.working_time_between(a, b).value
    assert timedelta(0) <= ab <= b - a
    assert ab + CAL.working_time_between(b, c).value == CAL.working_time_between(a, c).value
    assert CAL.working_time_between(b, a).value == -ab


# -- unknown years, warnings, overrides ----------------------------------------


def test_late_december_deadline_into_unknown_year_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cal = WorkCalendar()
    start = at(LAST_KNOWN, 12, 21, 10)
    with caplog.at_level(logging.WARNING, logger="shared.calendar"):
        result = cal.add_working_days(start, 15)
        cal.add_working_days(start, 15)
    expected = nth_workday_after(start.date(), 15, library_or_estimate)
    assert expected.year == FIRST_UNKNOWN
    assert result.due_at == close_of(expected)
    assert result.unknown_years == (FIRST_UNKNOWN,)
    assert len(result.warnings) == 1
    assert str(FIRST_UNKNOWN) in result.warnings[0]
    assert "调休" in result.warnings[0] and "estimated" in result.warnings[0]
    # Logged once per calendar and year, not once per call.
    assert [r.getMessage() for r in caplog.records] == list(result.warnings)
    if FIRST_UNKNOWN == 2027:  # chinese-calendar 1.11: Mon 2026-12-21 + 15, New Year's Day 2027 off
        assert result.due_at == at(2027, 1, 12, 18)

    hours = cal.add_working_hours(start, 15 * 8)
    assert hours.unknown_years == (FIRST_UNKNOWN,)
    span = cal.working_time_between(start, hours.due_at)
    assert span.value == timedelta(hours=120)
    assert span.unknown_years == (FIRST_UNKNOWN,)


def test_is_workday_in_unknown_year_falls_back_to_weekdays() -> None:
    cal = WorkCalendar()
    monday = date(FIRST_UNKNOWN, 1, 1) + timedelta(days=-date(FIRST_UNKNOWN, 1, 1).weekday() + 7)
    while monday in statutory_holidays(FIRST_UNKNOWN):
        monday += timedelta(days=7)
    assert cal.is_workday(monday)
    assert not cal.is_workday(monday + timedelta(days=5))
    assert cal.is_workday(date(FIRST_KNOWN - 1, 12, 31)) == (date(FIRST_KNOWN - 1, 12, 31).weekday() < 5)
    assert FIRST_UNKNOWN not in cal.known_years()


def test_operator_override_for_unknown_year_removes_warning() -> None:
    start = at(LAST_KNOWN, 12, 21, 10)
    new_year = date(FIRST_UNKNOWN, 1, 1)
    while new_year.weekday() >= 5:  # first weekday of the year is declared off
        new_year += timedelta(days=1)
    saturday = new_year + timedelta(days=(5 - new_year.weekday()) % 7)
    overrides = {new_year: False, saturday: True}  # holiday + make-up Saturday
    cal = WorkCalendar(overrides=overrides)

    assert FIRST_UNKNOWN in cal.known_years()
    assert not cal.is_workday(new_year)
    assert cal.is_workday(saturday)
    result = cal.add_working_days(start, 15)
    assert result.warnings == ()
    assert result.unknown_years == ()

    def reference(d: date) -> bool:
        return overrides.get(d, library_or_weekday(d))

    assert result.due_at == close_of(nth_workday_after(start.date(), 15, reference))
    if FIRST_UNKNOWN == 2027:  # 2027-01-01 off, Sat 2027-01-02 worked: net unchanged
        assert result.due_at == at(2027, 1, 11, 18)
        only_holiday = WorkCalendar(overrides={date(2027, 1, 1): False})
        assert only_holiday.add_working_days(start, 15).due_at == at(2027, 1, 12, 18)
    # One year later is still unknown and still warns.
    later = cal.add_working_days(at(FIRST_UNKNOWN, 12, 20, 10), 15)
    assert later.unknown_years == (FIRST_UNKNOWN + 1,)


def test_overrides_take_precedence_over_library() -> None:
    typhoon_friday, golden_week_day = date(2024, 3, 15), date(2024, 10, 1)
    cal = WorkCalendar(overrides={typhoon_friday: False, golden_week_day: True})
    assert not cal.is_workday(typhoon_friday)
    assert cal.is_workday(golden_week_day)
    assert cal.add_working_days(at(2024, 3, 14, 10), 1).due_at == at(2024, 3, 18, 18)
    assert cal.add_working_days(at(2024, 9, 30, 10), 1).due_at == at(2024, 10, 1, 18)
    assert cal.add_working_hours(at(2024, 3, 14, 17), 2).due_at == at(2024, 3, 18, 10)
    assert cal.known_years() == CAL.known_years()


# -- input validation ------------------------------------------------------------


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2024, 3, 12, 10)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.working_time_between(naive, at(2024, 3, 12))
    with pytest.raises(ValueError, match="naive"):
        CAL.working_time_between(at(2024, 3, 12), naive)


def test_negative_amounts_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(at(2024, 3, 12), -1)
    with pytest.raises(ValueError):
        CAL.add_working_hours(at(2024, 3, 12), -0.5)


@pytest.mark.parametrize(
    "periods",
    [
        [],
        [(time(12), time(9))],
        [(time(13), time(18)), (time(9), time(12))],
        [(time(9), time(13)), (time(12), time(18))],
        [(time(9, tzinfo=UTC), time(12))],
    ],
)
def test_invalid_office_hours(periods: list[tuple[time, time]]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(office_hours=periods)


def test_custom_office_hours() -> None:
    cal = WorkCalendar(office_hours=[(time(8, 30), time(17, 30))])
    assert cal.add_working_hours(at(2024, 3, 15, 17), 1).due_at == at(2024, 3, 18, 9)
    assert cal.add_working_days(at(2024, 3, 15, 10), 1).due_at == at(2024, 3, 18, 17, 30)


def test_no_workday_ever_raises() -> None:
    start = date(2024, 1, 1)
    never = WorkCalendar(overrides={start + timedelta(days=i): False for i in range(800)})
    with pytest.raises(ValueError):
        never.add_working_days(at(2024, 1, 1), 1)
    with pytest.raises(ValueError):
        never.add_working_hours(at(2024, 1, 1), 1)


# -- override files ----------------------------------------------------------------


def test_load_overrides_yaml(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(
        "overrides:\n"
        "  - {date: 2027-01-01, workday: false, note: 元旦}\n"
        "  - {date: '2027-02-20', workday: true, note: 春节调休}\n"
        "  - {date: 2027-01-01, workday: false, note: duplicate agrees}\n",
        encoding="utf-8",
    )
    assert load_overrides(path) == {date(2027, 1, 1): False, date(2027, 2, 20): True}
    plain = tmp_path / "plain.yml"
    plain.write_text("- date: 2027-10-01\n  workday: no\n", encoding="utf-8")
    assert load_overrides(plain) == {date(2027, 10, 1): False}


def test_load_overrides_csv(tmp_path: Path) -> None:
    path = tmp_path / "overrides.csv"
    path.write_text(
        "\ufeffdate,workday,note\n# comment row,,\n2027-01-01,false,元旦\n2027-02-20,班,春节调休\n\n2027-10-01,休,\n",
        encoding="utf-8",
    )
    assert load_overrides(path) == {
        date(2027, 1, 1): False,
        date(2027, 2, 20): True,
        date(2027, 10, 1): False,
    }


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad.csv", "date,workday\n2027-01-01,maybe\n"),
        ("bad.csv", "date,workday\n2027-13-01,true\n"),
        ("bad.csv", "date,workday\n2027-01-01,true\n2027-01-01,false\n"),
        ("bad.csv", "day,workday\n2027-01-01,true\n"),
        ("bad.yaml", "- date: 2027-01-01\n"),
        ("bad.yaml", "- 2027-01-01\n"),
        ("bad.yaml", "overrides: 3\n"),
        ("bad.txt", "2027-01-01 false\n"),
    ],
)
def test_load_overrides_rejects_bad_tables(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OverrideFileError):
        load_overrides(path)


def test_default_calendar(tmp_path: Path) -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar().known_years() == CAL.known_years()
    path = tmp_path / "ops.csv"
    path.write_text("date,workday,note\n2024-03-15,false,typhoon\n", encoding="utf-8")
    cal = default_calendar(path)
    assert not cal.is_workday(date(2024, 3, 15))
    assert cal is default_calendar(path)


# -- unannounced years: statutory holidays estimated, 调休 unknown ---------------------

# Weekday days off that chinese-calendar does not flag as in-lieu although no law made them holidays:
# Spring Festival eve was given off by a weekend swap before it became statutory in 2025, and
# 2006-01-03 was a swap for New Year. The estimate (rightly) does not claim them.
SWAP_DAYS_NOT_FLAGGED = frozenset(
    {
        date(2006, 1, 3),
        date(2015, 2, 18),
        date(2017, 1, 27),
        date(2018, 2, 15),
        date(2020, 1, 24),
        date(2021, 2, 11),
        date(2022, 1, 31),
    }
)


@settings(max_examples=60, deadline=None)
@given(year=st.integers(min_value=FIRST_KNOWN, max_value=LAST_KNOWN))
def test_estimate_never_misses_a_statutory_holiday_of_a_known_year(year: int) -> None:
    """Against every year the library knows: each weekday it gives off that is no swap is estimated."""
    estimate = statutory_holidays(year)
    off = {d for d in chinese_calendar.holidays if d.year == year}
    statutory = {d for d in off if d.weekday() < 5 and not chinese_calendar.is_in_lieu(d)}
    assert statutory - SWAP_DAYS_NOT_FLAGGED <= estimate
    # ... and it never invents a holiday on a day the State Council kept as a working day.
    assert all(not chinese_calendar.is_workday(d) for d in estimate)


@settings(max_examples=60, deadline=None)
@given(year=st.integers(min_value=FIRST_UNKNOWN, max_value=2100))
def test_estimate_of_an_unannounced_year_has_the_current_rules(year: int) -> None:
    estimate = statutory_holidays(year)
    fixed = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2), *(date(year, 10, d) for d in (1, 2, 3))}
    assert fixed <= estimate
    # Spring Festival: the eve and the first three days of the lunar year, between 20 Jan and 21 Feb.
    festival = [d for d in sorted(estimate) if date(year, 1, 20) <= d <= date(year, 2, 21)]
    run = [festival[0] + timedelta(days=i) for i in range(4)]
    assert set(run) <= estimate
    assert 13 <= len(estimate) <= 13 + 7  # 13 statutory days, plus weekdays making up weekend ones


def test_new_years_day_2027_is_a_day_off() -> None:
    assert 2027 not in CAL.known_years() or chinese_calendar.__version__ != "1.11.0"
    if 2027 in CAL.known_years():
        pytest.skip("chinese-calendar already knows 2027")
    assert not CAL.is_workday(date(2027, 1, 1))  # a Friday
    assert CAL.is_workday(date(2026, 12, 31)) and CAL.is_workday(date(2027, 1, 4))
    result = CAL.add_working_days(at(2026, 12, 31, 10), 1)
    assert result.due_at == at(2027, 1, 4, 18)  # Friday the 1st is skipped, not just the weekend
    assert result.unknown_years == (2027,) and "调休" in result.warnings[0]


def test_spring_festival_2027_is_days_off() -> None:
    if 2027 in CAL.known_years():
        pytest.skip("chinese-calendar already knows 2027")
    # Eve Fri 5 Feb, 1st-3rd of the lunar year 6-8 Feb; the two falling on the weekend made up on 9-10 Feb.
    off = [date(2027, 2, d) for d in range(5, 11)]
    assert [CAL.is_workday(d) for d in off] == [False] * 6
    assert CAL.is_workday(date(2027, 2, 4)) and CAL.is_workday(date(2027, 2, 11))
    result = CAL.add_working_days(at(2027, 2, 4, 10), 1)
    assert result.due_at == at(2027, 2, 11, 18)
    assert result.warnings and "2027" in result.warnings[0]
    hours = CAL.add_working_hours(at(2027, 2, 4, 17), 2)
    assert hours.due_at == at(2027, 2, 11, 10)


def test_operator_table_replaces_the_estimate() -> None:
    """Once the notice is out, the operator's table for that year is the truth, estimate or not."""
    announced = {
        date(2027, 2, 5): False,
        date(2027, 2, 8): False,
        date(2027, 2, 11): False,
        date(2027, 2, 12): False,
        date(2027, 2, 20): True,
    }  # a made-up arrangement
    cal = WorkCalendar(overrides=announced)
    assert cal.is_workday(date(2027, 2, 9))  # estimated off, but not in the table
    assert not cal.is_workday(date(2027, 2, 11))
    assert cal.is_workday(date(2027, 2, 20))  # a make-up Saturday
    assert cal.is_workday(date(2027, 1, 1))  # a table year is Mon-Fri outside the table: no estimate mixed in
    result = cal.add_working_days(at(2027, 2, 4, 10), 1)
    assert result.due_at == at(2027, 2, 9, 18)
    assert result.warnings == () and result.unknown_years == ()


def test_newer_library_release_replaces_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chinese-calendar that knows 2027 wins over the estimate, and the warning goes away."""
    import shared.calendar as module

    before = WorkCalendar().add_working_days(at(2027, 2, 4, 10), 1)
    released = {date(2027, 1, 1): False, date(2027, 2, 9): True, date(2027, 2, 13): True}
    real = chinese_calendar.is_workday

    def is_workday(d: date) -> bool:
        return released.get(d, d.weekday() < 5) if d.year == 2027 else real(d)

    monkeypatch.setattr(module, "_LIBRARY_YEARS", CAL.known_years() | {2027})
    monkeypatch.setattr(chinese_calendar, "is_workday", is_workday)
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 2, 9)) and cal.is_workday(date(2027, 2, 13))
    result = cal.add_working_days(at(2027, 2, 4, 10), 1)
    assert result.due_at == at(2027, 2, 5, 18)
    assert result.warnings == ()
    # A deadline computed before the release keeps its value and its warning (callers store both).
    assert before.due_at == at(2027, 2, 11, 18) and before.warnings
