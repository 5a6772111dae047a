"""A generated history of cases as raw bus events, for analytics tests and demos.

`generate(100_000)` writes what the workflow would have published on `cases.v1` for that many
cases over a year (and intake's `reports.received.v1` for every report): returns to the wrong
department and redispatch, extensions granted and refused, suspensions, failed verifications,
reopenings, merged reports, withdrawals, first contacts, whistles with check-ins on time, late and
missed, deadline warnings, breaches and escalations, and callbacks. Events past `end` are cut, so
the newest cases are still open and some of them overdue.

Events are CloudEvents envelopes as plain dicts (JSON-ready), built without pydantic for speed;
a test checks they all parse with the real contracts. Deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.bus.base import InMessage, partition_for

CASES_TOPIC = "cases.v1"
REPORTS_TOPIC = "reports.received.v1"
DISTRICT = "330102"
STREETS = 8
COMMUNITIES = 5
CELLS = 12
DEPARTMENTS = [f"D{i:02d}" for i in range(1, 13)]
CHANNELS = ("hotline", "patrol", "wechat", "video", "iot", "open311")
CHANNEL_CUM_WEIGHTS = (40, 65, 80, 90, 95, 100)
PARTITIONS = 6
_T = "cityloop.case."


@dataclass(frozen=True)
class Category:
    code: str
    kind: str
    department: str
    handle_hours: float
    ack_hours: float


CATEGORIES = [
    Category(
        f"{'01' if i % 2 else '11'}{i:02d}",
        "component" if i % 2 else "incident",
        DEPARTMENTS[i % 12],
        handle_hours=(2, 8, 16, 40)[i % 4],
        ack_hours=(0.5, 1, 2)[i % 3],
    )
    for i in range(1, 31)
]


@dataclass
class History:
    start: datetime
    end: datetime
    cases: list[dict[str, Any]] = field(default_factory=list)
    """`cases.v1` envelopes in publish order (by time)."""
    reports: list[dict[str, Any]] = field(default_factory=list)
    """`reports.received.v1` envelopes in publish order."""

    def messages(self, topic: str = CASES_TOPIC) -> Iterator[InMessage]:
        """The envelopes as a consumer would receive them: bytes, keyed, with per-partition offsets."""
        offsets = [0] * PARTITIONS
        for envelope in self.cases if topic == CASES_TOPIC else self.reports:
            key = envelope["subject"]
            partition = partition_for(key, PARTITIONS)
            yield InMessage(topic, partition, offsets[partition], key, orjson.dumps(envelope))
            offsets[partition] += 1


class _Case:
    """Builds one case's events: main steps change the state, side events carry the state in force."""

    def __init__(self, no: int) -> None:
        self.case_id = f"case-{no:07d}"
        self.case_no = f"DC{no:08d}"
        self.events: list[tuple[datetime, int, str, str | None, dict[str, Any]]] = []

    def add(self, at: datetime, name: str, state: str | None = None, /, **data: Any) -> None:
        """`state` None: a side event that keeps the state in force when it happens."""
        self.events.append((at, len(self.events), name, state, data))

    def envelopes(self, end: datetime) -> list[tuple[datetime, dict[str, Any]]]:
        out = []
        state = "filed"
        for version, (at, _, kind, new_state, data) in enumerate(sorted(self.events, key=lambda e: (e[0], e[1])), 1):
            if at > end:
                break
            state = new_state or state
            iso = at.isoformat()
            body = {
                "case_id": self.case_id,
                "case_no": self.case_no,
                "state": state,
                "version": version,
                "at": iso,
                **data,
            }
            out.append(
                (
                    at,
                    {
                        "specversion": "1.0",
                        "id": f"{self.case_id}-v{version}",
                        "source": "/cityloop/workflow",
                        "type": f"{_T}{kind}.v1",
                        "time": iso,
                        "subject": self.case_id,
                        "datacontenttype": "application/json",
                        "caseid": self.case_id,
                        "data": body,
                    },
                )
            )
        return out


def _deadline(kind: str, due: datetime) -> dict[str, Any]:
    return {"kind": kind, "due_at": due.isoformat(), "warnings": []}


class _Generator:
    def __init__(self, seed: int, start: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        streets = [f"{DISTRICT}{s:03d}" for s in range(1, STREETS + 1)]
        self.cells = [
            (street, f"{street}{c:03d}", f"{street}{c:03d}{g:02d}")
            for street in streets
            for c in range(1, COMMUNITIES + 1)
            for g in range(1, CELLS + 1)
        ]
        # a few busy cells and categories make hot spots and recurrences
        self.cell_weights = list(itertools.accumulate(1 + 40 * (self.rng.random() < 0.05) for _ in self.cells))
        self.category_weights = list(itertools.accumulate(1 + 6 * (i % 7 == 0) for i in range(len(CATEGORIES))))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def hours(self, mean: float) -> timedelta:
        """A skewed duration around `mean` hours (lognormal), rounded to seconds."""
        return timedelta(seconds=round(3600 * mean * self.rng.lognormvariate(-0.2, 0.6)))

    def case(self, no: int) -> tuple[_Case, list[tuple[str, str, datetime]]]:
        rng = self.rng
        c = _Case(no)
        day = self.start + timedelta(days=rng.randrange(self.days))
        received = (
            day
            + timedelta(
                hours=rng.choice([7, 8, 9, 9, 10, 10, 11, 13, 14, 15, 16, 17, 19, 21]) - 8, seconds=rng.randrange(3600)
            )
        ).replace(microsecond=0)
        channel = rng.choices(CHANNELS, cum_weights=CHANNEL_CUM_WEIGHTS)[0]
        street, community, cell = rng.choices(self.cells, cum_weights=self.cell_weights)[0]
        category = rng.choices(CATEGORIES, cum_weights=self.category_weights)[0]
        hotline = channel == "hotline"
        profile = rng.choice(["1515-general", "1515-complex"]) if hotline else f"{category.kind}-B"
        handle_hours = (5 * 24 if profile == "1515-general" else 15 * 24) if hotline else category.handle_hours
        report_id = f"rep-{no:07d}"
        reports = [(report_id, channel, received)]

        t = received + self.minutes(1, 90 if rng.random() < 0.1 else 55)
        filed = t.replace(microsecond=0)
        first_contact_due = filed + timedelta(hours=24)
        c.add(
            filed,
            "filed",
            "filed",
            report_id=report_id,
            channel=channel,
            category={"scheme": "taxonomy", "code": category.code},
            category_kind=category.kind,
            grid={"district_code": DISTRICT, "street_code": street, "community_code": community, "cell_code": cell},
            priority="normal",
            deadline_profile=profile,
            received_at=received.isoformat(),
            deadlines=[_deadline("first_contact", first_contact_due)] if hotline else [],
            **self.levels(c, no, filed, street, community),
        )
        if hotline:
            contact = filed + self.hours(10)
            c.add(contact, "first_contact", on_time=contact <= first_contact_due)
        department = category.department
        wrong = rng.random() < 0.08
        t = filed + self.minutes(5, 120)
        first = rng.choice([d for d in DEPARTMENTS if d != department]) if wrong else department
        t = self.dispatch(c, t, first, category, handle_hours, redispatch=False)
        if rng.random() < 0.02:  # withdrawn by the citizen before anyone acted
            c.add(t + self.minutes(1, 20), "withdrawn", "withdrawn", reason="citizen withdrew")
            return c, reports
        if wrong:
            t += self.minutes(10, 240)
            c.add(t, "returned", "returned", department_code=first, reason="not ours", from_department=first)
            t = self.dispatch(c, t + self.minutes(5, 60), department, category, handle_hours, redispatch=True)
        closed = self.work(c, t, department, category, handle_hours, street)
        loops = 0
        while closed is not None and loops < 2:
            loops += 1
            satisfaction, t = self.callback(c, closed)
            if rng.random() >= (0.25 if satisfaction == "unsatisfied" else 0.015):
                break
            t += self.hours(10)
            c.add(t, "reopened", "filed", reason="problem is back")
            t = self.dispatch(c, t + self.minutes(5, 60), department, category, handle_hours, redispatch=True)
            closed = self.work(c, t, department, category, handle_hours, None)
        if closed is not None:
            for _ in range(rng.choices([0, 1, 2, 3], [85, 10, 4, 1])[0]):
                merged_at = filed + (closed - filed) * rng.random()
                merged_id = f"rep-{no:07d}-{len(reports)}"
                merged_channel = rng.choices(CHANNELS, cum_weights=CHANNEL_CUM_WEIGHTS)[0]
                reports.append((merged_id, merged_channel, merged_at - timedelta(seconds=30)))
                c.add(merged_at, "report_attached", report_id=merged_id, channel=merged_channel)
            self.ratings(c, no, closed, department, street)
        return c, reports

    @staticmethod
    def ratings(c: _Case, no: int, closed: datetime, department: str, street: str) -> None:
        """考核: half the streets rate the department that handled the case, and one it summoned (own random stream)."""
        rng = random.Random(no * 104729 + 3)
        ratings = ["satisfied", "basic", "unsatisfied"]
        if rng.random() < 0.5:
            c.add(
                closed + timedelta(minutes=30),
                "department_rated",
                street_code=street,
                rated_department=department,
                rating=rng.choice(ratings),
            )
        for _, _, name, _, data in list(c.events):
            if name == "whistle_blown" and rng.random() < 0.7:
                c.add(
                    closed + timedelta(minutes=31),
                    "department_rated",
                    street_code=street,
                    rated_department=rng.choice(data["departments"]),
                    rating=rng.choice(ratings),
                )

    @staticmethod
    def levels(c: _Case, no: int, filed: datetime, street: str, community: str) -> dict[str, Any]:
        """Tiered handling: the level filed at, and 上报 / 下派 before the first dispatch (its own random stream,
        so every other step of the history stays as it was)."""
        rng = random.Random(no * 7919 + 15)
        level = rng.choices(["district", "street", "community"], [75, 10, 15])[0]
        units = {"district": None, "street": street, "community": community}
        path = [level]
        if level == "community" and rng.random() < 0.2:
            path += ["street", "community"][: rng.choice([1, 1, 2])]  # sometimes the street sends it back down
        elif level == "street" and rng.random() < 0.15:
            path.append("district")
        elif level == "district" and rng.random() < 0.1:
            path += ["street", "community"][: rng.choice([1, 2])]
        for step, (a, b) in enumerate(itertools.pairwise(path), 1):
            up = ["community", "street", "district"].index(b) > ["community", "street", "district"].index(a)
            c.add(
                filed + timedelta(minutes=step),
                "reported_up" if up else "delegated",
                "filed",
                from_level=a,
                to_level=b,
                from_unit=units[a],
                to_unit=units[b],
                reason="level test",
                deadlines=[],
            )
        return {"level": level, "level_unit": units[level]}

    def dispatch(
        self, c: _Case, t: datetime, department: str, category: Category, handle_hours: float, *, redispatch: bool
    ) -> datetime:
        ack_due = t + timedelta(hours=category.ack_hours)
        self.handle_due = t + timedelta(hours=handle_hours)
        c.add(
            t,
            "dispatched",
            "dispatched",
            department_code=department,
            redispatch=redispatch,
            deadlines=[_deadline("acknowledge", ack_due), _deadline("handle", self.handle_due)],
        )
        return t

    def work(
        self, c: _Case, t: datetime, department: str, category: Category, handle_hours: float, street: str | None
    ) -> datetime | None:
        """Acknowledge, maybe whistle, extend or suspend, handle (maybe twice), verify and close."""
        rng = self.rng
        t += timedelta(hours=category.ack_hours) * rng.uniform(0.05, 1.4)
        c.add(t, "acknowledged", "acknowledged", department_code=department)
        if street and rng.random() < 0.04:
            self.whistle(c, t + self.minutes(5, 60), street)
        if rng.random() < 0.06:
            t += self.minutes(30, 300)
            c.add(t, "extension_requested", department_code=department, days=2, reason="needs parts")
            t += self.minutes(10, 120)
            if rng.random() < 0.8:
                days = rng.randint(1, 5)
                self.handle_due += timedelta(days=days)
                c.add(t, "extension_granted", days=days, deadlines=[_deadline("handle", self.handle_due)])
            else:
                c.add(t, "extension_refused", reason="not justified")
        last_deadline_at = t
        if rng.random() < 0.04:
            t += self.minutes(30, 600)
            c.add(t, "suspended", "suspended", reason="waiting for the owner")
            pause = timedelta(hours=rng.uniform(12, 240))
            t += pause
            self.handle_due += pause
            c.add(t, "resumed", "acknowledged", deadlines=[_deadline("handle", self.handle_due)])
            last_deadline_at = t
        allowed = self.handle_due - t
        handled = t + max(allowed, timedelta(hours=1)) * rng.lognormvariate(-0.45, 0.55)
        handled = handled.replace(microsecond=0)
        self.timers(c, last_deadline_at, handled, department, allowed)
        for attempt in range(2):
            extra: dict[str, Any] = {}
            if rng.random() < 0.5:
                extra["deadlines"] = [_deadline("verify", handled + timedelta(hours=4))]
            c.add(handled, "handled", "handled", department_code=department, result="fixed", **extra)
            verified = handled + self.minutes(20, 400)
            passed = attempt == 1 or rng.random() >= 0.07
            c.add(verified, "verified", "verified" if passed else "acknowledged", passed=passed)
            if passed:
                closed = verified + self.minutes(1, 120 if rng.random() < 0.9 else 3000)
                c.add(closed, "closed", "closed")
                return closed
            handled = verified + self.hours(6)
        return None

    def timers(self, c: _Case, since: datetime, handled: datetime, department: str, allowed: timedelta) -> None:
        """Warnings, breaches and escalations the workflow's timers fire before a late handling."""
        due = self.handle_due
        start = due - allowed
        for fraction, kind, level in (
            (0.8, "deadline_warned", 0),
            (1.0, "deadline_breached", 0),
            (1.2, "escalated", 1),
            (2.0, "escalated", 2),
        ):
            at = (start + allowed * fraction).replace(microsecond=0)
            if not since < at < handled:
                continue
            data: dict[str, Any] = {"kind": "handle", "due_at": due.isoformat(), "department_code": department}
            if kind == "escalated":
                data.update(level=level, escalated_to=f"supervisor-{level}")
            c.add(at, kind, **data)

    def whistle(self, c: _Case, at: datetime, street: str) -> None:
        rng = self.rng
        at = at.replace(microsecond=0)
        departments = rng.sample(DEPARTMENTS, rng.randint(2, 3))
        due = at + timedelta(hours=2)
        c.add(at, "whistle_blown", street_code=street, departments=departments, checkin_due_at=due.isoformat())
        for department in departments:
            if rng.random() < 0.9:
                checked = at + self.minutes(5, 150)
                c.add(
                    checked,
                    "department_checked_in",
                    checked_in_department=department,
                    on_time=checked <= due,
                    whistle_at=at.isoformat(),
                )
            else:
                c.add(due, "checkin_missed", missed_department=department, due_at=due.isoformat())

    def callback(self, c: _Case, closed: datetime) -> tuple[str | None, datetime]:
        """Most closed cases get a callback; returns the answer (None: no callback) and when."""
        if self.rng.random() >= 0.7:
            return None, closed
        satisfaction = self.rng.choices(["satisfied", "basic", "unsatisfied"], [75, 15, 10])[0]
        at = closed + self.hours(20)
        c.add(at, "callback_recorded", satisfaction=satisfaction, channel="hotline")
        return satisfaction, at


def generate(
    cases: int,
    *,
    seed: int = 7,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC) - timedelta(hours=8),
    days: int = 365,
    tail_days: int = 10,
) -> History:
    """`cases` cases filed over `days` days from `start`; the history ends `tail_days` before the last filing."""
    gen = _Generator(seed, start, days)
    end = start + timedelta(days=days - tail_days)
    history = History(start, end)
    timed: list[tuple[datetime, str, dict[str, Any]]] = []
    received: list[tuple[datetime, str, dict[str, Any]]] = []
    for no in range(1, cases + 1):
        case, reports = gen.case(no)
        timed += [(at, case.case_id, envelope) for at, envelope in case.envelopes(end)]
        for report_id, channel, at in reports:
            if at <= end:
                received.append((at, report_id, _report(report_id, channel, at)))
    timed.sort(key=lambda e: (e[0], e[1]))
    received.sort(key=lambda e: (e[0], e[1]))
    history.cases = [e for _, _, e in timed]
    history.reports = [e for _, _, e in received]
    return history


def _report(report_id: str, channel: str, at: datetime) -> dict[str, Any]:
    data = {
        "report_id": report_id,
        "channel": channel,
        "reporter": {"kind": "citizen"},
        "text": "",
        "received_at": at.isoformat(),
    }
    return {
        "specversion": "1.0",
        "id": f"{report_id}-received",
        "source": "/cityloop/intake",
        "type": "cityloop.report.received.v1",
        "time": at.isoformat(),
        "subject": report_id,
        "datacontenttype": "application/json",
        "reportid": report_id,
        "data": data,
    }
