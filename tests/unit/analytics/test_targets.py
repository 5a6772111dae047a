"""Reporting periods and target progress: the calendar arithmetic and the projection rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.scores import BY_NAME
from analytics.targets import parse_period, progress, validate
from shared.errors import Invalid

TZ = ZoneInfo("Asia/Shanghai")


@given(st.integers(1900, 2200), st.integers(1, 12))
def test_a_month_is_its_local_calendar_month(year: int, month: int) -> None:
    span = parse_period(f"{year}-{month:02d}", TZ)
    assert (span.start.year, span.start.month, span.start.day, span.start.hour) == (year, month, 1, 0)
    assert span.end.day == 1 and span.end.hour == 0
    assert (span.end - timedelta(days=1)).month == month
    assert 28 <= (span.end - span.start).days <= 31


@given(st.integers(1900, 2200), st.integers(1, 4))
def test_a_quarter_is_its_three_months_and_the_quarters_tile_the_year(year: int, quarter: int) -> None:
    span = parse_period(f"{year}-Q{quarter}", TZ)
    months = [parse_period(f"{year}-{m:02d}", TZ) for m in range(3 * quarter - 2, 3 * quarter + 1)]
    assert span.start == months[0].start and span.end == months[-1].end
    whole = parse_period(str(year), TZ)
    if quarter == 1:
        assert span.start == whole.start
    if quarter == 4:
        assert span.end == whole.end


@pytest.mark.parametrize("raw", ["2026-13", "2026-00", "2026-Q5", "26", "2026-1", "November", "2026-11-01", ""])
def test_anything_else_is_refused_on_the_period_field(raw: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_period(raw, TZ)
    assert refused.value.field == "period"


def test_elapsed_share_is_clamped_to_the_period() -> None:
    span = parse_period("2026-11", TZ)
    assert span.elapsed(span.start - timedelta(days=3)) == 0
    assert span.elapsed(span.start + timedelta(days=15)) == pytest.approx(0.5)
    assert span.elapsed(datetime(2027, 1, 1, tzinfo=TZ)) == 1


def test_a_count_projects_in_proportion_to_the_time_gone_by() -> None:
    p = progress(BY_NAME["cases"], target=1000, actual=300, recent=None, elapsed=0.25)
    assert p.projection == 1200 and p.gap == -700 and not p.at_risk


def test_a_rate_moves_from_its_value_so_far_toward_its_recent_value() -> None:
    p = progress(BY_NAME["closure_rate"], target=0.98, actual=0.99, recent=0.90, elapsed=0.5)
    assert p.projection == pytest.approx(0.945) and p.gap == pytest.approx(0.01) and p.at_risk


def test_lower_is_better_scores_are_at_risk_above_their_target() -> None:
    ahead = progress(BY_NAME["rework_rate"], target=0.05, actual=0.03, recent=0.04, elapsed=0.5)
    behind = progress(BY_NAME["rework_rate"], target=0.05, actual=0.03, recent=0.09, elapsed=0.5)
    assert ahead.gap == pytest.approx(0.02) and not ahead.at_risk
    assert behind.projection == pytest.approx(0.06) and behind.at_risk


def test_nothing_to_judge_is_at_risk() -> None:
    assert progress(BY_NAME["closure_rate"], target=0.98, actual=None, recent=None, elapsed=0.1).at_risk


@pytest.mark.parametrize(
    ("score", "scope", "unit", "value", "field"),
    [
        ("happiness", "department", "D01", 0.9, "score"),
        ("closure_rate", "district", "D01", 0.9, "scope"),
        ("closure_rate", "department", None, 0.9, "unit"),
        ("closure_rate", "total", "D01", 0.9, "unit"),
        ("closure_rate", "department", "D01", 98, "value"),
        ("composite_score", "street", "330102001", 101, "value"),
        ("overdue", "total", None, -1, "value"),
    ],
)
def test_targets_that_cannot_be_judged_are_refused(
    score: str, scope: str, unit: str | None, value: float, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        validate(score, scope, unit, value)
    assert refused.value.field == field
