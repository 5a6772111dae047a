"""Duplicate merging (并案): the same problem again, near an open case of the same category, joins that case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from router.rules import MergeWindow
from shared.geo import distance_m


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
    """The nearest open primary within the category's radius and window (ties: the earliest)."""
    since = received_at - timedelta(hours=window.window_hours)
    best: Duplicate | None = None
    for primary in lookup.candidates(category_id, lon, lat, window.radius_m, since):
        if primary.received_at > received_at:
            continue  # a report never joins one that came after it
        d = distance_m(lon, lat, primary.lon, primary.lat)
        if d <= window.radius_m and (
            best is None or (d, primary.received_at) < (best.distance_m, best.primary.received_at)
        ):
            best = Duplicate(primary, d)
    return best
