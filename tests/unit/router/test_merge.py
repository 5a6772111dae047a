"""Duplicate detection: nearest open primary of the category within radius and window; merge locks that meet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from router.merge import InMemoryPrimaries, OpenPrimary, SearchBox, find_duplicate, neighbourhood_keys
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
    eligible = [
        p
        for p in rows
        if p.category_id == "I0102"
        and T0 - timedelta(hours=24) <= p.received_at <= T0 + timedelta(hours=24)
        and distance_m(*ORIGIN, p.lon, p.lat) <= 50
    ]
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


def test_earlier_report_decided_after_a_later_one_joins_its_case() -> None:
    """Two consumers may decide two reports of one problem in the opposite order to their arrival."""
    later = OpenPrimary("p-later", "I0102", *ORIGIN, T0 + timedelta(minutes=2), "case-1")
    dup = find_duplicate(InMemoryPrimaries([later]), "I0102", *ORIGIN, T0, WINDOW)
    assert dup is not None and dup.primary.report_id == "p-later"


points = st.tuples(st.floats(-179.0, 179.0), st.floats(-80.0, 80.0))


@given(points, st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.sampled_from([0.0, 15.0, 30.0, 150.0, 2000.0]))
def test_reports_that_could_merge_share_a_merge_lock(
    a: tuple[float, float], fx: float, fy: float, radius_m: float
) -> None:
    """Any point inside A's search box (every primary A could join) holds one of A's keys when it is decided."""
    box = SearchBox.around(*a, radius_m)
    b = (a[0] + fx * (box.east - a[0]), a[1] + fy * (box.north - a[1]))
    if not (box.west <= b[0] <= box.east and box.south <= b[1] <= box.north):
        return  # rounding put b just outside: the search would not find it either
    assert set(neighbourhood_keys("I0102", *a, radius_m)) & set(neighbourhood_keys("I0102", *b, radius_m))


def test_merge_locks_are_few_and_apart_for_far_places_and_other_categories() -> None:
    here = neighbourhood_keys("I0102", *ORIGIN, 50)
    assert 1 <= len(here) <= 4 and here == sorted(here)
    assert not set(here) & set(neighbourhood_keys("I0102", ORIGIN[0] + 0.05, ORIGIN[1], 50)), "5 km away"
    assert not set(here) & set(neighbourhood_keys("I0103", *ORIGIN, 50)), "another category"
