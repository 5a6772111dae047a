"""Duplicate merging (并案): the same problem again, near an open case of the same category, joins that case.

Two reports of one problem may be decided at the same moment by two consumers (partitions, replicas). Each
decision holds the merge locks of its neighbourhood (`neighbourhood_keys`) until it commits, so the second
one waits and then sees the first; reports far apart, or of other categories, never wait for each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from router.rules import MergeWindow
from shared.db.engine import lock_key
from shared.geo import distance_m

_M_PER_DEG_LAT = 111_320.0
BUCKET_DEG = 0.01
"""Side of the finest merge-lock bucket in degrees (about 1.1 km north-south): a city has thousands of them."""


@dataclass(frozen=True)
class SearchBox:
    """The bounding box in which open primaries are looked up: the radius as degrees at the report's latitude."""

    west: float
    east: float
    south: float
    north: float

    @classmethod
    def around(cls, lon: float, lat: float, radius_m: float) -> SearchBox:
        dlat = radius_m / _M_PER_DEG_LAT
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        return cls(lon - dlon, lon + dlon, lat - dlat, lat + dlat)


def bucket_size(radius_m: float) -> float:
    """Bucket side for a radius: the finest power-of-two multiple of BUCKET_DEG at least twice the radius.

    It depends only on the category's radius, so every report of a category uses the same buckets, and a
    search box touches at most 2×2 of them (more only far from the equator, where degrees of longitude shrink).
    """
    size = BUCKET_DEG
    while size < 2 * radius_m / _M_PER_DEG_LAT:
        size *= 2
    return size


def neighbourhood_keys(category_id: str, lon: float, lat: float, radius_m: float) -> list[int]:
    """Advisory-lock keys of every bucket the search box touches, sorted (locks taken in one order never deadlock).

    Why it is enough: if report A can find primary B, then B lies in A's search box, so B's own bucket is one
    of A's keys; and B's search box contains B, so B held that key too while it was being decided.
    """
    size = bucket_size(radius_m)
    box = SearchBox.around(lon, lat, radius_m)
    keys = {
        _key(category_id, size, ix, iy)
        for ix in range(math.floor(box.west / size), math.floor(box.east / size) + 1)
        for iy in range(math.floor(box.south / size), math.floor(box.north / size) + 1)
    }
    return sorted(keys)


def _key(category_id: str, size: float, ix: int, iy: int) -> int:
    return lock_key("router", "merge", category_id, f"{size:.6f}", str(ix), str(iy))


@dataclass(frozen=True)
class OpenPrimary:
    """A routed report whose case is still open: later reports of the same problem join it."""

    report_id: str
    category_id: str
    lon: float
    lat: float
    received_at: datetime
    case_id: str | None = None


class PrimaryLookup(Protocol):
    def candidates(
        self, category_id: str, lon: float, lat: float, radius_m: float, since: datetime
    ) -> Iterable[OpenPrimary]:
        """Open primaries of the category received at or after `since`, at least those within `radius_m`."""
        ...


class InMemoryPrimaries:
    """The open-primaries index as a list: for tests, the bench and dry runs over rows read beforehand."""

    def __init__(self, primaries: Iterable[OpenPrimary] = ()) -> None:
        self._rows: dict[str, OpenPrimary] = {p.report_id: p for p in primaries}

    def add(self, primary: OpenPrimary) -> None:
        self._rows[primary.report_id] = primary

    def close(self, report_id: str) -> None:
        self._rows.pop(report_id, None)

    def candidates(
        self, category_id: str, lon: float, lat: float, radius_m: float, since: datetime
    ) -> list[OpenPrimary]:
        return [p for p in self._rows.values() if p.category_id == category_id and p.received_at >= since]


@dataclass(frozen=True)
class Duplicate:
    primary: OpenPrimary
    distance_m: float


def find_duplicate(
    lookup: PrimaryLookup, category_id: str, lon: float, lat: float, received_at: datetime, window: MergeWindow
) -> Duplicate | None:
    """The nearest open primary within the category's radius and window (ties: the earliest).

    The window counts both ways: two reports of one problem taken by two consumers may be decided in the
    opposite order to their arrival, and the earlier one then joins the case the later one opened.
    """
    since = received_at - timedelta(hours=window.window_hours)
    until = received_at + timedelta(hours=window.window_hours)
    best: Duplicate | None = None
    for primary in lookup.candidates(category_id, lon, lat, window.radius_m, since):
        if primary.received_at > until:
            continue
        d = distance_m(lon, lat, primary.lon, primary.lat)
        if d <= window.radius_m and (
            best is None or (d, primary.received_at) < (best.distance_m, best.primary.received_at)
        ):
            best = Duplicate(primary, d)
    return best
