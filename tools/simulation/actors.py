"""The people who work the cases: departments, dispatchers, inspectors, street offices, the hotline.

Each case the simulator sees (by polling the case list as a supervisor, and in the answer to every
command it sends) is planned afresh whenever its phase changes: who acts next, what they do and when,
on the city clock. Most act well within the deadline the case shows; some are late (so deadlines warn,
pass and escalate), some return the case or ask for more time, some inspectors find the work not done,
some citizens are unsatisfied. Every decision comes from a random generator seeded by the simulation
seed and the case's report id, so a run repeats given the same answers.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.logging import get_logger
from shared.taxonomy import Taxonomy
from tools.simulation import media, texts
from tools.simulation.client import CityClient
from tools.simulation.district import INSPECTORS, District, Spot
from tools.simulation.scheduler import Scheduler
from tools.simulation.texts import Problem

log = get_logger("tools.simulate")

OPEN_STATES = ("filed", "dispatched", "acknowledged", "handled", "verified", "returned")
NEW_STATES = ("filed", "dispatched", "returned")
OPEN = frozenset({*OPEN_STATES, "suspended"})
BEFORE_HANDLING = frozenset({"filed", "dispatched", "acknowledged", "returned"})
CITIZEN_CHANNELS = frozenset({"hotline", "wechat", "open311"})
OBSERVER, DISPATCHER = "supervisor1", "dispatcher1"
WHISTLE_PARTNERS = ("enforcement", "market_supervision", "housing", "ecology_environment", "street_office")
H = timedelta(hours=1)
M = timedelta(minutes=1)

Case = dict[str, Any]
Act = Callable[[Case], Awaitable[Case | None]]


@dataclass(frozen=True)
class Behaviour:
    """How people behave; shares are per occasion."""

    late: float = 0.12
    """A department acknowledging or handling after its deadline (warned, reminded, escalated)."""
    returns: float = 0.04
    misrouted_returns: float = 0.35
    """Returning a case that went to a department its problem does not belong to."""
    extension: float = 0.08
    extension_granted: float = 0.7
    verify_fails: float = 0.15
    verify_late: float = 0.08
    whistle_complex: float = 0.4
    whistle_other: float = 0.03
    checkin_late: float = 0.10
    checkin_missed: float = 0.08
    first_contact_late: float = 0.10
    reopen_unsatisfied: float = 0.7
    queue_backlog: float = 0.2
    """A queued report waiting hours for a dispatcher (late filing), instead of minutes."""
    report_up: float = 0.15
    """Grid workers passing a community case up to the street centre (上报) instead of handling it."""
    delegate: float = 0.06
    """The district centre handing a freshly dispatched case down to its street centre (下派)."""
    street_rates: float = 0.3
    """A street office rating the department that handled a case in its street (考核)."""
    on_time_cap: timedelta = 6 * H
    """People act within the deadline but seldom wait longer than this even when they could."""


@dataclass(frozen=True)
class Reported:
    problem: Problem | None
    spot: Spot | None


@dataclass
class _Memo:
    version: int
    phase: tuple[Any, ...]
    epoch: int
    case: Case


@dataclass
class Actors:
    client: CityClient
    scheduler: Scheduler
    district: District
    seed: int
    behaviour: Behaviour = field(default_factory=Behaviour)
    taxonomy: Taxonomy = field(default_factory=Taxonomy.load)
    memos: dict[str, _Memo] = field(default_factory=dict)
    planned: dict[str, set[str]] = field(default_factory=dict)
    """Case id → what has been planned for it (forgotten once the case is done with)."""
    queued: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    """Cases nobody will touch again (closed and called back, withdrawn): forgotten, and stale answers ignored."""
    reports: dict[str, Reported] = field(default_factory=dict)
    """Report id → what its reporter meant and where: what a dispatcher reading the report would know."""
    since: datetime | None = None
    """When this simulator started: later reports it did not file are left to the people who filed them."""

    def expect(self, report_id: str, channel: str, problem: Problem | None, spot: Spot | None) -> None:
        self.reports[report_id] = Reported(problem, spot)

    def _ours(self, report_id: str, at: str) -> bool:
        """Whether the simulator plays the people of this report: its own, or one from before it started."""
        return report_id in self.reports or self.since is None or datetime.fromisoformat(at) < self.since

    def _problem(self, report_id: str) -> Problem | None:
        reported = self.reports.get(report_id)
        return reported.problem if reported else None

    # -- watching ------------------------------------------------------------------------------------------

    async def watch(self) -> None:
        """Poll the case list (new cases often, every open case every tenth time) and the dispatch queue."""
        polls = 0
        while not self.scheduler.stop.is_set():
            full = polls % 10 == 0
            try:
                await self.poll(OPEN_STATES if full else NEW_STATES, pages=10 if full else 1)
                await self.work_queue()
            except Exception:  # an answer we did not expect must not end the simulation
                log.exception("simulator_watch_failed")
            polls += 1
            await self.scheduler.sleep(min(5.0, max(0.5, self.client.clock.wall_seconds(5 * M))))

    async def poll(self, states: tuple[str, ...], pages: int) -> None:
        offset: int | None = 0
        for _ in range(pages):
            params: list[tuple[str, str | int]] = [("state", s) for s in states]
            response = await self.client.as_user(
                OBSERVER, "list cases", "GET", "/v1/cases", params=[*params, ("limit", 100), ("offset", offset or 0)]
            )
            if response is None:
                return
            body = response.json()
            for case in body["items"]:
                self.observe(case)
            offset = body.get("next_offset")
            if offset is None:
                return

    async def work_queue(self) -> None:
        """The dispatcher looks at the reports no rule could decide and takes each, after a while."""
        response = await self.client.as_user(
            DISPATCHER, "dispatch queue", "GET", "/v1/dispatch/queue", params={"limit": 100}
        )
        for item in response.json()["items"] if response is not None else []:
            if item["status"] == "claimed" and item.get("claimed_by") != DISPATCHER:
                continue
            if item["report_id"] in self.queued or not self._ours(item["report_id"], item["queued_at"]):
                continue
            self.queued.add(item["report_id"])
            rng = random.Random(f"{self.seed}/{item['report_id']}/queue")
            wait = rng.uniform(60, 180) if rng.random() < self.behaviour.queue_backlog else rng.uniform(5, 30)
            when = self.client.clock.now() + wait * M
            self.scheduler.after(self.client.clock.wall_until(when), self._by_hand(item, rng))

    def _by_hand(self, item: dict[str, Any], rng: random.Random) -> Callable[[], Awaitable[None]]:
        async def dispatch() -> None:
            report_id = item["report_id"]
            path = f"/v1/dispatch/queue/{report_id}"
            if (
                item["status"] == "waiting"
                and await self.client.as_user(DISPATCHER, "claim", "POST", f"{path}/claim") is None
            ):
                return
            reported = self.reports.get(report_id) or Reported(None, None)
            candidates = [c["code"] for c in item.get("candidates") or [] if c.get("code") in self.taxonomy]
            category = (
                reported.problem.category_id
                if reported.problem
                else candidates[0]
                if candidates
                else texts.pick(rng).category_id
            )
            grid = item.get("grid") or {}
            spot = reported.spot or self.district.spot(rng)
            street = grid.get("street_code") or spot.street_code
            department = (
                self._department_of_class(category, street) or self.district.street_offices.get(street or "") or "CMD"
            )
            body: dict[str, Any] = {
                "category": category,
                "department": department,
                "reason": "人工研判：根据诉求内容派至职责部门",
            }
            if not grid.get("cell_code") and spot.cell_code:
                body["cell_code"] = spot.cell_code
            if await self.client.as_user(DISPATCHER, "dispatch by hand", "POST", f"{path}/dispatch", json=body):
                self.client.stats.actions["dispatch_by_hand"] += 1

        return dispatch

    def observe(self, case: Case) -> None:
        """Take in a case as it is now; plan what its people do next when its phase changed."""
        memo = self.memos.get(case["id"])
        if case["id"] in self.finished or (memo is not None and case["version"] < memo.version):
            return  # an older answer overtaken by a newer one
        if not self._ours(case["report_id"], case["filed_at"]):
            return
        phase = (case["state"], case["department_code"], _due(case, "handle"), case["extension_request"] is not None)
        epoch = 0 if memo is None else memo.epoch + (phase != memo.phase)
        self.memos[case["id"]] = _Memo(case["version"], phase, epoch, case)
        self.client.stats.cases_seen.add(case["id"])
        self._plan(case, epoch)
        if case["state"] == "withdrawn" or (
            case["state"] == "closed"
            and (
                case["channel"] not in CITIZEN_CHANNELS
                or f"called back/{case['closed_at']}" in self.planned.get(case["id"], ())
            )
        ):
            self.finished.add(case["id"])
            self.memos.pop(case["id"], None)
            self.planned.pop(case["id"], None)

    # -- planning ------------------------------------------------------------------------------------------

    def _rng(self, case: Case, what: str, epoch: int | str = "") -> random.Random:
        return random.Random(f"{self.seed}/{case['report_id']}/{epoch}/{what}")

    def _at(
        self,
        case: Case,
        what: str,
        when: datetime,
        act: Act,
        *,
        epoch: int | None = None,
        key: str = "",
        states: frozenset[str] | None = None,
    ) -> None:
        """Do `act` at city time `when`, once per key; with an epoch, only if the case is still in it then
        (with `states`, only if the case is in one of them then)."""
        if not self._first(case, f"{what}/{key or epoch}"):
            return

        async def run() -> None:
            memo = self.memos.get(case["id"])
            if (
                memo is None
                or (epoch is not None and memo.epoch != epoch)
                or (states is not None and memo.case["state"] not in states)
            ):
                return  # the case moved on without us
            out = await act(memo.case)
            if out is not None:
                self.client.stats.actions[what] += 1
                self.observe(out)

        self.scheduler.after(self.client.clock.wall_until(when), run)

    def _plan(self, case: Case, epoch: int) -> None:
        state = case["state"]
        if state == "dispatched":
            self._dispatched(case, epoch)
        elif state == "acknowledged":
            self._acknowledged(case, epoch)
        elif state == "handled":
            self._handled(case, epoch)
        elif state == "verified":
            self._at(case, "close", self._soon(case, "close", 5 * M, 40 * M), self._close, epoch=epoch)
        elif state == "returned" or (state == "filed" and not case["department_code"]):
            self._at(case, "redispatch", self._soon(case, "redispatch", 10 * M, 60 * M), self._redispatch, epoch=epoch)
        elif state == "closed" and case["channel"] in CITIZEN_CHANNELS:
            self._at(
                case,
                "callback",
                self._soon(case, "callback", 20 * M, 4 * H),
                self._callback,
                key=str(case["closed_at"]),
            )
        if case["extension_request"] is not None:
            self._at(
                case,
                "extension_decision",
                self._soon(case, "extension_decision", 10 * M, 60 * M),
                self._decide_extension,
                epoch=epoch,
            )
        self._first_contact(case)
        self._whistle(case)
        self._check_ins(case)

    def _when(
        self,
        rng: random.Random,
        span: tuple[datetime, datetime] | None,
        *,
        late: bool,
        on_time: tuple[float, float],
        late_by: tuple[float, float] = (1.3, 2.4),
        cap: timedelta | None = None,
    ) -> datetime:
        """A moment within (or, when late, past) the deadline `span`; at most `cap` from now when on time."""
        now = self.client.clock.now()
        if span is None:
            return now + rng.uniform(0.1, 1.0) * (cap or self.behaviour.on_time_cap)
        start, due = span
        budget = due - start
        if late:
            return max(now, start + budget * rng.uniform(*late_by))
        when = start + budget * rng.uniform(*on_time)
        return max(now + rng.uniform(1, 5) * M, min(when, now + (cap or self.behaviour.on_time_cap)))

    def _soon(self, case: Case, what: str, low: timedelta, high: timedelta) -> datetime:
        rng = self._rng(case, what, case["version"])
        return self.client.clock.now() + low + (high - low) * rng.random()

    # -- departments ---------------------------------------------------------------------------------------

    def _dispatched(self, case: Case, epoch: int) -> None:
        rng, b = self._rng(case, "dispatched", epoch), self.behaviour
        if self._moves(case, rng, epoch):
            return
        dept = case["department_code"]
        right = self._right_department(case)
        share = b.misrouted_returns if right is not None and right != dept else b.returns
        if rng.random() < share:
            reason = rng.choice(texts.RETURN_REASONS)
            when = self._when(
                rng, _span(case, "acknowledge") or _span(case, "handle"), late=False, on_time=(0.1, 0.5), cap=2 * H
            )
            self._at(case, "return", when, lambda c: self._as_department(c, "return", {"reason": reason}), epoch=epoch)
            return
        late = rng.random() < b.late
        acknowledge = _span(case, "acknowledge")
        if acknowledge is not None:
            when = self._when(rng, acknowledge, late=late, on_time=(0.05, 0.6), cap=2 * H)
        else:  # 1515 tickets have no acknowledging limit, only the handling one
            when = self._when(rng, _span(case, "handle"), late=False, on_time=(0.02, 0.2), cap=(12 if late else 2) * H)
        self._at(case, "acknowledge", when, lambda c: self._as_department(c, "acknowledge", None), epoch=epoch)

    def _acknowledged(self, case: Case, epoch: int) -> None:
        rng, b = self._rng(case, "acknowledged", epoch), self.behaviour
        if case["extension_request"] is not None:
            return  # waiting for the dispatcher's answer: the next phase plans the handling
        handle = _span(case, "handle")
        long_job = handle is not None and handle[1] - handle[0] >= 8 * H
        if long_job and rng.random() < b.extension and self._first(case, "asked for time"):
            body = {"days": rng.randint(1, 5), "reason": rng.choice(texts.EXTENSION_REASONS)}
            when = self._when(rng, handle, late=False, on_time=(0.1, 0.4), cap=3 * H)
            self._at(case, "request_extension", when, lambda c: self._as_department(c, "extension", body), epoch=epoch)
            return
        when = self._when(rng, handle, late=rng.random() < b.late, on_time=(0.15, 0.75), late_by=(1.25, 2.3))
        problem = self._problem(case["report_id"])
        result = problem.result if problem else "已安排人员到场处置，问题已解决"
        photo_rng = self._rng(case, "handle-photo", epoch)

        def handle_it(c: Case) -> Awaitable[Case | None]:
            photos = [media.photo_ref(photo_rng, self.client.clock.now().isoformat())]
            return self._as_department(c, "handle", {"result": result, "photos": photos})

        self._at(case, "handle", when, handle_it, epoch=epoch)

    def _moves(self, case: Case, rng: random.Random, epoch: int) -> bool:
        """Tiered handling: a grid worker reports a case up, or the district hands one down to the street."""
        level, b = case.get("level", "district"), self.behaviour
        if level == "community" and rng.random() < b.report_up and self._first(case, "reported up"):
            body = {"reason": rng.choice(texts.REPORT_UP_REASONS)}
            when = self._soon(case, "report_up", 10 * M, 2 * H)
            self._at(case, "report_up", when, lambda c: self._as_department(c, "report-up", body), epoch=epoch)
            return True
        if level == "district" and _street(case) and rng.random() < b.delegate and self._first(case, "delegated"):
            body = {"reason": rng.choice(texts.DELEGATE_REASONS)}
            when = self._soon(case, "delegate", 5 * M, 30 * M)
            self._at(case, "delegate", when, lambda c: self._command(DISPATCHER, c, "delegate", body), epoch=epoch)
            return True
        return False

    async def _as_department(self, case: Case, action: str, body: dict[str, Any] | None) -> Case | None:
        return await self._command(f"dept-{case['department_code']}", case, action, body)

    # -- inspectors and dispatchers ------------------------------------------------------------------------

    def _handled(self, case: Case, epoch: int) -> None:
        rng, b = self._rng(case, "handled", epoch), self.behaviour
        fails = rng.random() < b.verify_fails and self._first(case, "failed verification")
        when = self._when(
            rng,
            _span(case, "verify"),
            late=rng.random() < b.verify_late,
            on_time=(0.1, 0.6),
            late_by=(1.2, 2.0),
            cap=3 * H,
        )
        inspector = rng.choice(INSPECTORS)
        note = rng.choice(texts.VERIFY_FAILURES if fails else texts.VERIFY_PASSES)

        def verify(c: Case) -> Awaitable[Case | None]:
            photos = [media.photo_ref(rng, self.client.clock.now().isoformat())]
            return self._command(inspector, c, "verify", {"passed": not fails, "note": note, "photos": photos})

        self._at(case, "verify_fail" if fails else "verify", when, verify, epoch=epoch)
        street, dept = _street(case), case["department_code"]
        if street and dept and rng.random() < b.street_rates and self._first(case, "rated"):
            body = {"department_code": dept, "rating": rng.choice(["satisfied", "satisfied", "basic", "unsatisfied"])}
            when = self._soon(case, "rate", 5 * M, 40 * M)
            self._at(case, "rate", when, lambda c: self._command(f"street-{street}", c, "rate", body), epoch=epoch)

    async def _close(self, case: Case) -> Case | None:
        return await self._command(_dispatcher(case), case, "close", None)

    async def _redispatch(self, case: Case) -> Case | None:
        """Send a returned (or undispatched) case to the department its problem belongs to, as the dispatcher of
        the level holding it: a community's grid workers, a street's stationed squad or office, or the district's."""
        last = case["department_code"]
        right = self._right_department(case) or self._department_of_category(case)
        level, unit = case.get("level", "district"), case.get("level_unit")
        if level == "community":
            right = f"WG{unit}"
        elif level == "street":
            enforcement = right is not None and self.district.department_kinds.get(right) == "enforcement"
            right = f"ZF{unit}" if enforcement else self.district.street_offices.get(unit or "", right)
        target = right or last
        if target is None:
            return None
        reason = "改派至职责部门" if target != last else "经核实属贵单位职责，请按期处置"
        return await self._command(_dispatcher(case), case, "dispatch", {"department_code": target, "reason": reason})

    async def _decide_extension(self, case: Case) -> Case | None:
        rng = self._rng(case, "extension_decision")
        who = _dispatcher(case)
        if rng.random() < self.behaviour.extension_granted:
            return await self._command(who, case, "extension/grant", None)
        return await self._command(who, case, "extension/refuse", {"reason": rng.choice(texts.REFUSAL_REASONS)})

    # -- the hotline: first contact within a working day, callbacks after closing -----------------------------

    def _first_contact(self, case: Case) -> None:
        span = _span(case, "first_contact")
        if span is None or case["first_contact_at"] is not None:
            return
        rng = self._rng(case, "first_contact")
        when = self._when(
            rng,
            span,
            late=rng.random() < self.behaviour.first_contact_late,
            on_time=(0.05, 0.5),
            late_by=(1.1, 1.6),
            cap=3 * H,
        )
        note = rng.choice(("已电话联系来电人，告知已派单处理", "已与诉求人沟通，约定现场核实时间"))
        self._at(
            case, "first_contact", when, lambda c: self._as_hotline(c, "first-contact", {"note": note}), states=OPEN
        )

    async def _callback(self, case: Case) -> Case | None:
        rng = self._rng(case, "callback", str(case["closed_at"]))
        slow = any(d.get("on_time") is False for d in case["deadlines"])
        # a problem several departments had to be summoned for leaves its citizen satisfied less often
        weights = (50, 25, 25) if slow else (50, 20, 30) if case["whistles"] else (76, 16, 8)
        satisfaction = rng.choices(("satisfied", "basic", "unsatisfied"), weights=weights)[0]
        reopen = (
            satisfaction == "unsatisfied"
            and rng.random() < self.behaviour.reopen_unsatisfied
            and self._first(case, "reopened")
        )
        body = {
            "satisfaction": satisfaction,
            "channel": "wechat" if case["channel"] == "wechat" else "hotline",
            "comment": rng.choice(texts.CALLBACK_COMMENTS[satisfaction]),
            "reopen": reopen,
        }
        out = await self._as_hotline(case, "callback", body)
        if out is not None:
            self.client.stats.satisfaction[satisfaction] += 1
            self._first(case, f"called back/{case['closed_at']}")
        return out

    async def _as_hotline(self, case: Case, action: str, body: dict[str, Any]) -> Case | None:
        if self.client.has_key("hotline"):
            response = await self.client.as_system(
                "hotline", action, "POST", f"/v1/cases/{case['id']}/{action}", json=body
            )
            return response.json() if response is not None else None
        return await self._command(DISPATCHER, case, action, body)

    # -- streets: whistles (吹哨) and the departments checking in (报到) ---------------------------------------

    def _whistle(self, case: Case) -> None:
        street = _street(case)
        if case["state"] not in BEFORE_HANDLING or case["whistles"] or not street or not case["department_code"]:
            return
        if not self._first(case, "whistle decided"):
            return
        rng, b = self._rng(case, "whistle"), self.behaviour
        complex_case = case["deadline_profile"] == "1515-complex" or case["priority"] in ("high", "urgent")
        if rng.random() >= (b.whistle_complex if complex_case else b.whistle_other):
            return
        partners = [self._department_of_kind(kind, street) for kind in WHISTLE_PARTNERS]
        others = [p for p in partners if p and p != case["department_code"]]
        summoned = [case["department_code"], *rng.sample(others, k=min(len(others), rng.randint(1, 2)))]
        body = {"departments": summoned, "reason": rng.choice(texts.WHISTLE_REASONS)}
        when = self.client.clock.now() + rng.uniform(10, 60) * M
        self._at(
            case,
            "whistle",
            when,
            lambda c: self._command(f"street-{street}", c, "whistle", body),
            states=BEFORE_HANDLING,
        )

    def _check_ins(self, case: Case) -> None:
        for whistle in case["whistles"]:
            for checkin in whistle["checkins"]:
                if checkin["status"] != "active" or checkin["checked_in_at"] is not None:
                    continue
                dept = checkin["department_code"]
                key = f"{whistle['id']}/{dept}"
                rng, b = self._rng(case, f"checkin/{key}"), self.behaviour
                roll = rng.random()
                if roll < b.checkin_missed:
                    self._first(case, f"check_in/{key}")  # never comes: the platform records a miss
                    continue
                span = (datetime.fromisoformat(whistle["blown_at"]), datetime.fromisoformat(checkin["due_at"]))
                when = self._when(
                    rng,
                    span,
                    late=roll < b.checkin_missed + b.checkin_late,
                    on_time=(0.05, 0.8),
                    late_by=(1.05, 1.5),
                    cap=2 * H,
                )
                self._at(case, "check_in", when, self._checks_in(dept), key=key, states=OPEN)

    def _first(self, case: Case, plan: str) -> bool:
        """True the first time `plan` is asked for this case."""
        plans = self.planned.setdefault(case["id"], set())
        if plan in plans:
            return False
        plans.add(plan)
        return True

    def _checks_in(self, dept: str) -> Act:
        return lambda c: self._command(f"dept-{dept}", c, "checkin", None)

    # -- helpers -------------------------------------------------------------------------------------------

    async def _command(self, username: str, case: Case, action: str, body: dict[str, Any] | None) -> Case | None:
        response = await self.client.as_user(username, action, "POST", f"/v1/cases/{case['id']}/{action}", json=body)
        return response.json() if response is not None else None

    def _right_department(self, case: Case) -> str | None:
        """The department the reporter's problem belongs to, when the simulator knows the problem."""
        problem = self._problem(case["report_id"])
        return self._department_of_class(problem.category_id, _street(case)) if problem else None

    def _department_of_category(self, case: Case) -> str | None:
        code = (case.get("category") or {}).get("code")
        return self._department_of_class(code, _street(case)) if code else None

    def _department_of_class(self, category_id: str, street: str | None) -> str | None:
        if category_id not in self.taxonomy:
            return None
        return self._department_of_kind(self.taxonomy.get(category_id).department_kind, street)

    def _department_of_kind(self, kind: str, street: str | None) -> str | None:
        if kind == "street_office":
            return self.district.street_offices.get(street or "")
        codes = self.district.departments_of_kind(kind)
        return codes[0] if codes else None


def _dispatcher(case: Case) -> str:
    """The demo dispatcher of the level holding the case (deploy/demo/users.yaml)."""
    level, unit = case.get("level", "district"), case.get("level_unit")
    if level == "street" and unit:
        return f"centre-{unit}"
    if level == "community" and unit:
        return f"community-{unit}"
    return DISPATCHER


def _street(case: Case) -> str | None:
    street: str | None = (case.get("grid") or {}).get("street_code")
    return street


def _deadline(case: Case, kind: str) -> dict[str, Any] | None:
    return next((d for d in case["deadlines"] if d["kind"] == kind and d["status"] == "active"), None)


def _span(case: Case, kind: str) -> tuple[datetime, datetime] | None:
    d = _deadline(case, kind)
    return (datetime.fromisoformat(d["start_at"]), datetime.fromisoformat(d["due_at"])) if d else None


def _due(case: Case, kind: str) -> str | None:
    d = _deadline(case, kind)
    return d["due_at"] if d else None
