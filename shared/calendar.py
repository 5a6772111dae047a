"""Working-time calendar for legal case deadlines (Asia/Shanghai).

Public holidays and make-up workdays (调休) come from ``chinese_calendar``; an
operator override table (see :func:`load_overrides`) extends or corrects it and
always wins.  For a year that neither source knows yet (the State Council
announces a year's arrangement in the preceding November or December), the
statutory holidays are still known in advance: :func:`statutory_holidays`
computes them from the current rules and the lunar calendar, and the calendar
counts them as days off.  Only the make-up working days (调休) cannot be
guessed, so every result that touches such a year carries a warning naming it
instead of failing.  An operator's table for that year, or a ``chinese_calendar``
release that knows it, replaces the estimate (a deadline already computed keeps
its value and its warning: callers store both).

Semantics used by the 12345 "1515" rule and per-category limits:

* **N working days** (:meth:`WorkCalendar.add_working_days`): the day of receipt
  does not count; the deadline is the close of office hours on the N-th working
  day after the receipt day (received Monday, 5 working days, no holiday ->
  Monday of the next week at close of business).
* **Working hours** (:meth:`WorkCalendar.add_working_hours`): only office-hour
  time on working days counts; a start outside office hours begins at the next
  opening.
* **Wall-clock limits** such as the 2-hour street "whistle" check-in are not
  calendar arithmetic: use ``start + timedelta(hours=2)``.

All datetimes must be timezone-aware (naive input raises ``ValueError``); results
are expressed in the calendar's timezone.  Office periods are local wall-clock
times; Asia/Shanghai has had no DST since 1991.
"""

from __future__ import annotations

import csv
import functools
import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped, unused-ignore]
import holidays
import yaml

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "SHANGHAI",
    "Deadline",
    "OverrideFileError",
    "WorkCalendar",
    "WorkTime",
    "default_calendar",
    "load_overrides",
    "statutory_holidays",
]

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(13, 0), time(18, 0)),
)
# Longest run of consecutive days off we accept before assuming a broken table.
_MAX_GAP_DAYS = 366

_LIBRARY_YEARS: frozenset[int] = frozenset(
    range(
        min(chinese_calendar.holidays).year,
        max(chinese_calendar.holidays).year + 1,
    )
)


def _warning(year: int) -> str:
    return (
        f"no announced holiday arrangement for {year} (chinese-calendar {chinese_calendar.__version__} "
        f"and operator overrides): statutory holidays estimated (holidays {holidays.__version__}), "
        f"make-up working days (调休) unknown, other days Monday-Friday"
    )


@functools.cache
def statutory_holidays(year: int) -> frozenset[date]:
    """Days off that the law itself fixes for ``year``, before the State Council's annual notice.

    The rules of the 《全国年节及纪念日放假办法》 in force that year (since 2025: New Year's Day;
    Spring Festival eve and its first three days; Qingming; 1-2 May; Dragon Boat; Mid-Autumn;
    1-3 October), the lunar and solar-term dates, and the working day a holiday falling on a
    weekend is made up on (补假, art. 6), all as the ``holidays`` package computes them.
    Weekend swaps (调休) are the State Council's choice each year and are left out.
    """
    days = holidays.country_holidays("CN", years=year, observed=True, language="en_US")
    return frozenset(d for d, name in days.items() if not name.startswith("Day off"))


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline; ``warnings`` is non-empty if it crossed a year whose holidays were estimated."""

    due_at: datetime
    warnings: tuple[str, ...] = ()
    unknown_years: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkTime:
    """Elapsed office time; ``warnings`` as for :class:`Deadline`."""

    value: timedelta
    warnings: tuple[str, ...] = ()
    unknown_years: tuple[int, ...] = ()


class _Tracker:
    """Collects the unknown years consulted during one computation."""

    def __init__(self) -> None:
        self.years: set[int] = set()

    def result_parts(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        years = tuple(sorted(self.years))
        return tuple(_warning(y) for y in years), years


class WorkCalendar:
    """Office-hours calendar over Chinese public holidays plus operator overrides."""

    def __init__(
        self,
        office_hours: Sequence[tuple[time, time]] = DEFAULT_OFFICE_HOURS,
        tz: ZoneInfo = SHANGHAI,
        overrides: Mapping[date, bool] | None = None,
    ) -> None:
        """Create a calendar.

        ``office_hours`` are sorted, non-overlapping local (start, end) periods.
        ``overrides`` maps a date to True (working day) or False (day off). A year
        with at least one override entry counts as known: the table must then list
        all of that year's holidays and make-up workdays; other days are Mon-Fri
        (no estimate). Other unknown years use :func:`statutory_holidays`.
        """
        periods = tuple(office_hours)
        if not periods:
            raise ValueError("office_hours must contain at least one period")
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office hours are local wall-clock times; use naive times")
            if not start < end:
                raise ValueError(f"office period {start}-{end} is empty or inverted")
        for (_, prev_end), (next_start, _) in itertools.pairwise(periods):
            if next_start < prev_end:
                raise ValueError("office periods must be sorted and non-overlapping")
        self.office_hours = periods
        self.tz = tz
        self.overrides: Mapping[date, bool] = MappingProxyType(dict(overrides or {}))
        self._override_years = frozenset(d.year for d in self.overrides)
        self._known = _LIBRARY_YEARS | self._override_years
        self._cache: dict[date, bool] = {}
        self._prefix: dict[int, list[int]] = {}
        self._logged_years: set[int] = set()
        day_start = date(2000, 1, 1)
        self._full_day = sum(
            (datetime.combine(day_start, end) - datetime.combine(day_start, start) for start, end in periods),
            timedelta(0),
        )

    # -- days ---------------------------------------------------------------

    def known_years(self) -> frozenset[int]:
        """Years covered by chinese-calendar or by the operator override table."""
        return self._known

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day; logs a warning once per unknown year."""
        return self._day(d, None)

    def _day(self, d: date, tracker: _Tracker | None) -> bool:
        workday = self._cache.get(d)
        if workday is None:
            workday = self._cache[d] = self._classify(d)
        self._check_year(d.year, tracker)
        return workday

    def _check_year(self, year: int, tracker: _Tracker | None) -> None:
        if year in self._known:
            return
        if tracker is not None:
            tracker.years.add(year)
        if year not in self._logged_years:
            self._logged_years.add(year)
            log.warning(_warning(year))

    def _classify(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            if d.year in self._override_years:  # the operator's table replaces the estimate
                return d.weekday() < 5
            return d.weekday() < 5 and d not in statutory_holidays(d.year)

    def _count_workdays(self, first: date, last: date, tracker: _Tracker) -> int:
        """Number of working days in ``[first, last]`` (per-year prefix sums)."""
        count = 0
        for year in range(first.year, last.year + 1):
            prefix = self._prefix.get(year)
            if prefix is None:
                jan1 = date(year, 1, 1)
                prefix = [0]
                for offset in range((date(year + 1, 1, 1) - jan1).days):
                    day = jan1 + timedelta(days=offset)
                    prefix.append(prefix[-1] + self._day(day, None))
                self._prefix[year] = prefix
            lo = (max(first, date(year, 1, 1)) - date(year, 1, 1)).days
            hi = (min(last, date(year, 12, 31)) - date(year, 1, 1)).days
            count += prefix[hi + 1] - prefix[lo]
            self._check_year(year, tracker)
        return count

    def _next_workday(self, d: date, tracker: _Tracker) -> date:
        """First working day strictly after ``d``."""
        for offset in range(1, _MAX_GAP_DAYS + 1):
            candidate = d + timedelta(days=offset)
            if self._day(candidate, tracker):
                return candidate
        raise ValueError(f"no working day within {_MAX_GAP_DAYS} days after {d}")

    def opening(self, after: datetime, workdays: int = 1) -> datetime:
        """First opening of office hours at or after ``after`` that begins ``workdays`` consecutive working days."""
        if workdays < 1:
            raise ValueError("workdays must be >= 1")
        local = self._local(after)
        for offset in range(_MAX_GAP_DAYS):
            day = local.date() + timedelta(days=offset)
            opens = datetime.combine(day, self.office_hours[0][0], tzinfo=self.tz)
            if opens >= local and all(self.is_workday(day + timedelta(days=k)) for k in range(workdays)):
                return opens
        raise ValueError(f"no run of {workdays} working days within {_MAX_GAP_DAYS} days after {after}")

    # -- helpers --------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
        return moment.astimezone(self.tz)

    def _periods(self, d: date) -> Iterator[tuple[datetime, datetime]]:
        for start, end in self.office_hours:
            yield (
                datetime.combine(d, start, tzinfo=self.tz),
                datetime.combine(d, end, tzinfo=self.tz),
            )

    def _overlap(self, d: date, lo: datetime, hi: datetime) -> timedelta:
        """Office time of day ``d`` (ignoring workday status) inside ``[lo, hi]``."""
        total = timedelta(0)
        for ps, pe in self._periods(d):
            if min(pe, hi) > max(ps, lo):
                total += min(pe, hi) - max(ps, lo)
        return total

    def _close(self, d: date) -> datetime:
        return datetime.combine(d, self.office_hours[-1][1], tzinfo=self.tz)

    # -- arithmetic -------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """Deadline ``n`` working days after ``start``.

        The receipt day (``start``'s local date) does not count: the deadline is
        the close of office hours on the ``n``-th working day after it.  ``n == 0``
        means the earliest close of business at or after ``start`` (today's if
        ``start`` is a working day not past closing, else the next working day's).
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        local = self._local(start)
        tracker = _Tracker()
        day = local.date()
        if n == 0:
            if not (self._day(day, tracker) and local <= self._close(day)):
                day = self._next_workday(day, tracker)
        else:
            for _ in range(n):
                day = self._next_workday(day, tracker)
        warnings, years = tracker.result_parts()
        return Deadline(self._close(day), warnings, years)

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> Deadline:
        """Deadline after ``hours`` of office time on working days from ``start``.

        A start outside office hours begins at the next opening; a deadline that
        falls exactly on the end of a period is that period's end.  ``hours == 0``
        returns ``start`` moved to the next opening if outside office hours.
        """
        remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        if remaining < timedelta(0):
            raise ValueError("hours must be >= 0")
        cursor = self._local(start)
        tracker = _Tracker()
        day = cursor.date()
        idle_days = 0
        while True:
            # Only consult the calendar for a day that still has office time left.
            open_periods = [(max(ps, cursor), pe) for ps, pe in self._periods(day) if pe > cursor]
            if open_periods and self._day(day, tracker):
                idle_days = 0
                for begin, end in open_periods:
                    if remaining <= end - begin:
                        warnings, years = tracker.result_parts()
                        return Deadline(begin + remaining, warnings, years)
                    remaining -= end - begin
            else:
                idle_days += 1
                if idle_days > _MAX_GAP_DAYS:
                    raise ValueError(f"no working day within {_MAX_GAP_DAYS} days after {day}")
            day += timedelta(days=1)

    def working_time_between(self, a: datetime, b: datetime) -> WorkTime:
        """Office time on working days within ``[a, b]``; negative if ``b < a``."""
        lo, hi = self._local(a), self._local(b)
        sign = 1
        if hi < lo:
            lo, hi, sign = hi, lo, -1
        tracker = _Tracker()
        total = timedelta(0)
        first, last = lo.date(), hi.date()
        # Partial end days are clipped; only days with office time are consulted.
        for day in {first, last}:
            overlap = self._overlap(day, lo, hi)
            if overlap and self._day(day, tracker):
                total += overlap
        if (last - first).days > 1:
            inner = self._count_workdays(first + timedelta(days=1), last - timedelta(days=1), tracker)
            total += self._full_day * inner
        warnings, years = tracker.result_parts()
        return WorkTime(total * sign, warnings, years)


# -- operator override table ----------------------------------------------------


class OverrideFileError(ValueError):
    """The operator override table is malformed."""


_TRUE = frozenset({"true", "yes", "y", "1", "workday", "work", "班", "上班"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "holiday", "休", "休息"})


def _parse_flag(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OverrideFileError(f"{where}: workday must be true/false, got {value!r}")


def _parse_date(value: object, where: str) -> date:
    if isinstance(value, datetime):
        raise OverrideFileError(f"{where}: expected a date, got a datetime {value!r}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise OverrideFileError(f"{where}: invalid date {value!r} (use YYYY-MM-DD)") from exc


def load_overrides(path: str | Path) -> dict[date, bool]:
    """Read an operator override table (``.yaml``/``.yml`` or ``.csv``).

    Rows have ``date`` (YYYY-MM-DD), ``workday`` (true = working day, false = day
    off) and an optional free-text ``note``.  YAML is a list of such mappings, or
    a mapping with that list under ``overrides``; CSV needs a header row and may
    use ``#`` in the date column for comment rows.  Malformed rows and
    conflicting duplicates raise :class:`OverrideFileError` (a ``ValueError``).
    """
    path = Path(path)
    rows: list[tuple[str, Mapping[str, object]]] = []
    if path.suffix.lower() in {".yaml", ".yml"}:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if isinstance(data, Mapping):
            data = data.get("overrides") or []
        if not isinstance(data, list):
            raise OverrideFileError(f"{path}: expected a list of overrides")
        for i, item in enumerate(data, 1):
            if not isinstance(item, Mapping):
                raise OverrideFileError(f"{path} entry {i}: expected a mapping")
            rows.append((f"{path} entry {i}", item))
    elif path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"date", "workday"} <= set(reader.fieldnames or ()):
                raise OverrideFileError(f"{path}: header must name date,workday[,note]")
            for i, line in enumerate(reader, 2):
                raw = (line.get("date") or "").strip()
                if raw and not raw.startswith("#"):
                    rows.append((f"{path} line {i}", line))
    else:
        raise OverrideFileError(f"{path}: unsupported override file type (use .yaml, .yml or .csv)")

    table: dict[date, bool] = {}
    for where, row in rows:
        if "date" not in row or "workday" not in row:
            raise OverrideFileError(f"{where}: 'date' and 'workday' are required")
        d = _parse_date(row["date"], where)
        flag = _parse_flag(row["workday"], where)
        if table.get(d, flag) != flag:
            raise OverrideFileError(f"{where}: conflicting entries for {d}")
        table[d] = flag
    return table


@functools.cache
def default_calendar(overrides_path: str | Path | None = None) -> WorkCalendar:
    """Shared calendar with default office hours, cached per override file path."""
    overrides = load_overrides(overrides_path) if overrides_path is not None else None
    return WorkCalendar(overrides=overrides)
