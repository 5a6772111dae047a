"""Duplicate detection: nearest open primary of the category within radius and window, never a later one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from router.merge import InMemoryPrimaries, OpenPrimary, find_duplicate
from router.rules import MergeWindow
from shared.geo import distance_m

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
ORIGIN = (116.40, 39.92)
WINDOW = MergeWindow(radius_m=50, window_hours=24)

primaries = st.lists(
    st.builds(
        OpenPrimary,
        report_id=st.uuids().map(str),
        category_id=st.sampled_from(["I0102", "I0103"]),
        lon=st.floats(ORIGIN[0] - 0.002, ORIGIN[0] + 0.002),
        lat=st.floats(ORIGIN[1] - 0.002, ORIGIN[1] + 0.002),
        received_at=st.integers(-48 * 60, 60).map(lambda m: T0 + timedelta(minutes=m)),
    ),
    max_size=12,
)


@given(primaries)
def test_duplicate_is_the_nearest_eligible_primary(rows: list[OpenPrimary]) -> None:
    dup = find_duplicate(InMemoryPrimaries(rows), "I0102", *ORIGIN, T0, WINDOW)
    eligible = [p for p in rows if p.category_id == "I0102" and T0 - timedelta(hours=24) <= p.received_at <= T0
                and distance_m(*ORIGIN, p.lon, p.lat) <= 50]
    if not eligible:
        assert dup is None
        return
    assert dup is not None
    assert dup.primary in eligible
    assert dup.distance_m == min(distance_m(*ORIGIN, p.lon, p.lat) for p in eligible)


def test_closed_primary_takes_no_more_reports() -> None:
    lookup = InMemoryPrimaries([OpenPrimary("p1", "I0102", *ORIGIN, T0 - timedelta(hours=1), "case-1")])
    assert find_duplicate(lookup, "I0102", *ORIGIN, T0, WINDOW) is not None
    lookup.close("p1")
    assert find_duplicate(lookup, "I0102", *ORIGIN, T0, WINDOW) is None
