"""Injectable time: services ask a clock, tests move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class AcceleratedClock:
    """City time running `speed` times faster than the wall clock, for demos and simulations.

    With a `state_file`, the city time reached is saved and a restart continues from it rather than
    jumping back to the wall clock (timestamps already written stay in the past).
    """

    def __init__(self, speed: float, start: datetime | None = None, state_file: Path | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.state_file = state_file
        saved = self._load()
        self._origin_city = saved or start or datetime.now(UTC)
        self._origin_wall = time.monotonic()
        self._last_saved = 0.0

    def _load(self) -> datetime | None:
        if self.state_file and self.state_file.exists():
            return datetime.fromisoformat(self.state_file.read_text().strip())
        return None

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._origin_wall
        current = self._origin_city + timedelta(seconds=elapsed * self.speed)
        if self.state_file and elapsed - self._last_saved > 1.0:
            self._last_saved = elapsed
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(current.isoformat())
        return current


def clock_for(speed: float, state_file: Path | None = None, start: datetime | None = None) -> Clock:
    """The system clock at speed 1, else an accelerated one starting at `start` (default now) unless resumed."""
    return SystemClock() if speed == 1.0 else AcceleratedClock(speed, start=start, state_file=state_file)


def wall_time(clock: Clock) -> datetime:
    """The time outside systems share (signature timestamps, replay windows).

    Equal to the clock's time, except for an accelerated demo clock, whose city time runs ahead of the
    wall time that a hotline system or `date +%s` signs with.
    """
    return datetime.now(UTC) if isinstance(clock, AcceleratedClock) else clock.now()
