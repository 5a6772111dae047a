"""Deadline arithmetic over the working-time calendar: due times, timer points, elapsed fraction, pauses.

A running deadline is a `Span`: its start, its due time, how it counts time (`Basis`) and how much of
that time was spent suspended. Its budget is the counted time from start to due minus the suspended
time; a timer at fraction f fires once f × budget of counted, unsuspended time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from shared.calendar import WorkCalendar
from workflow.config import Basis, Limit

ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Due:
    at: datetime
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # one timezone in rows and events, whatever the calendar's
        object.__setattr__(self, "at", self.at.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class Span:
    basis: Basis
    start: datetime
    due: datetime
    paused: timedelta = ZERO
    """Counted time spent suspended so far (already added to `due`)."""
    paused_at: datetime | None = None
    """Set while the case is suspended: the clock stands still from here."""


class Clockwork:
    """Counts time by basis: office time on working days, or wall-clock time."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.office_day = sum(
            (
                datetime.combine(date.min, end) - datetime.combine(date.min, start)
                for start, end in calendar.office_hours
            ),
            ZERO,
        )

    def due(self, start: datetime, limit: Limit) -> Due:
        if limit.working_days is not None:
            d = self.calendar.add_working_days(start, limit.working_days)
            return Due(d.due_at, d.warnings)
        if limit.working_hours is not None:
            d = self.calendar.add_working_hours(start, limit.working_hours)
            return Due(d.due_at, d.warnings)
        assert limit.hours is not None
        return Due(start + timedelta(hours=limit.hours))

    def elapsed(self, basis: Basis, a: datetime, b: datetime) -> timedelta:
        if basis is Basis.WALL:
            return b - a
        return self.calendar.working_time_between(a, b).value

    def advance(self, basis: Basis, start: datetime, amount: timedelta) -> Due:
        if basis is Basis.WALL:
            return Due(start + amount)
        d = self.calendar.add_working_hours(start, max(amount, ZERO))
        return Due(d.due_at, d.warnings)

    def budget(self, span: Span) -> timedelta:
        return self.elapsed(span.basis, span.start, span.due) - span.paused

    def fraction(self, span: Span, now: datetime) -> float:
        """Share of the budget used by `now` (frozen while suspended): 1.0 at the due time."""
        at = span.paused_at or now
        budget = self.budget(span)
        if budget <= ZERO:
            return 1.0 if at >= span.due else 0.0
        used = self.elapsed(span.basis, span.start, at) - span.paused
        return max(used, ZERO) / budget

    def schedule(self, span: Span, points: dict[str, float]) -> dict[str, datetime]:
        """When each timer fires: at `fraction` × budget of unsuspended counted time after the start."""
        budget = self.budget(span)
        out: dict[str, datetime] = {}
        for kind, fraction in points.items():
            if fraction == 1.0:
                out[kind] = span.due
            else:
                out[kind] = self.advance(span.basis, span.start, budget * fraction + span.paused).at
        return out

    def resumed(self, span: Span, now: datetime) -> tuple[Span, tuple[str, ...]]:
        """The span after a suspension ends at `now`: due time pushed by the counted suspended time."""
        if span.paused_at is None:
            return span, ()
        stopped = max(self.elapsed(span.basis, span.paused_at, now), ZERO)
        due = self.advance(span.basis, span.due, stopped)
        return replace(span, due=due.at, paused=span.paused + stopped, paused_at=None), due.warnings

    def extended(self, span: Span, days: int) -> tuple[Span, tuple[str, ...]]:
        """The span with `days` more working days (an office day each on an hours basis, 24 h on wall clock)."""
        if span.basis is Basis.WORKING_DAYS:
            d = self.calendar.add_working_days(span.due, days)
            due = Due(d.due_at, d.warnings)
        elif span.basis is Basis.WORKING_HOURS:
            due = self.advance(span.basis, span.due, self.office_day * days)
        else:
            due = Due(span.due + timedelta(days=days))
        return replace(span, due=due.at), due.warnings
