"""The timer poller: fires due deadline timers exactly once, in the transaction of their events.

Each sweep claims at most `batch_size` due rows with `FOR UPDATE SKIP LOCKED` (replicas share the
work and never wait on each other), marks them fired, and in the same transaction writes their
audit rows and outbox events and the timer of each running clock's next step (`schedule.Steps`). A
crash before commit leaves the rows pending for the next sweep; a commit makes them fired for good;
the unique (deadline, step) constraint means no second row can ever fire the same warning, reminder
or supervision level again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.contracts import cases as ev
from shared.contracts.common import Contract
from shared.contracts.envelope import Envelope
from shared.contracts.registry import topic_of
from shared.db.outbox import Outbox
from shared.departments import DepartmentDirectory
from shared.errors import Conflict, Forbidden
from shared.logging import get_logger
from shared.service import ServiceRuntime
from workflow import machine
from workflow.config import Basis
from workflow.deadlines import Span
from workflow.machine import Action, State
from workflow.metrics import (
    CASES_OPEN,
    PARKED_EVENTS,
    PARKED_OLDEST,
    TIMERS_FIRED,
    TIMERS_OVERDUE,
    TIMERS_PENDING,
)
from workflow.repository import Repository
from workflow.schedule import Steps
from workflow.service import WORKFLOW, Workflow, actor_of, audit_row

log = get_logger(__name__)
SYSTEM_ACTOR = actor_of(WORKFLOW)
FIRE_ACTIONS = {
    "warn": Action.WARN,
    "due": Action.REMIND,
    "checkin": Action.CHECKIN_MISSED,
    "escalate": Action.ESCALATE,
}
"""A timer row's step (`escalate:<level>` for supervision) → the machine action it asks for."""
DEPARTMENT_CLOCKS = ("acknowledge", "handle")
"""Deadlines whose supervision climbs the department's chain; first contact and verification have none."""


@dataclass
class Sweep:
    fired: int = 0
    skipped: int = 0
    chained_due: int = 0
    due_times: list[datetime] = field(default_factory=list)

    @property
    def more(self) -> bool:
        """Next steps this sweep wrote are due already (a late sweep): sweep again at once."""
        return self.chained_due > 0


class TimerPoller:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        clock: Clock,
        departments: DepartmentDirectory,
        steps: Steps,
        *,
        batch_size: int = 500,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.departments = departments
        self.steps = steps
        self.batch_size = batch_size

    async def sweep(self) -> Sweep:
        """Fire up to one batch of due timers in one transaction."""
        now = self.clock.now()
        result = Sweep()
        async with self.sessions() as session, session.begin():
            repo = Repository(session)
            rows = await repo.claim_due_timers(now, self.batch_size)
            if not rows:
                return result
            events: list[tuple[str, Envelope]] = []
            audit: list[dict[str, Any]] = []
            stale: list[int] = []
            stopped: list[int] = []
            following: list[tuple[str, int, str, str, datetime]] = []
            for row in rows:
                if row.deadline_status == "active" and row.paused_at is not None:
                    # its clock was paused while this sweep was claiming it: it waits for the resume with it
                    stopped.append(row.id)
                    continue
                if row.deadline_status == "active" and (step := self._next_step(row)) is not None:
                    following.append((row.case_id, row.deadline_id, row.kind, *step))
                fired = self._event(row, now)
                if fired is None:
                    stale.append(row.id)
                    continue
                action, body = fired
                envelope = self.outbox.envelope(body, row.case_id)
                events.append((topic_of(body), envelope))
                audit.append(
                    audit_row(
                        row.case_id,
                        row.version,
                        now,
                        WORKFLOW,
                        action,
                        row.state,
                        row.state,
                        f"{row.kind} {row.fire_kind}",
                        {
                            "timer_id": row.id,
                            "deadline_id": row.deadline_id,
                            "timer_due_at": row.due_at.isoformat(),
                            "deadline_due_at": row.deadline_due.isoformat(),
                            "escalated_to": getattr(body, "escalated_to", None),
                        },
                        envelope.id,
                    )
                )
                result.due_times.append(row.due_at)
            await self.outbox.add_envelopes(session, events)
            repo.add_audit(audit)
            await repo.mark_timers(stale, "cancelled")
            await repo.mark_timers(stopped, "paused")
            await repo.add_timers(following)
        self.outbox.notify(session)  # the fired steps' events go out now, not at the relay's next idle poll
        result.fired, result.skipped = len(events), len(stale) + len(stopped)
        result.chained_due = sum(1 for *_, at in following if at <= now)
        TIMERS_FIRED.inc(result.fired)
        return result

    async def drain(self, max_sweeps: int = 10_000) -> int:
        """Sweep until nothing is due now (tests and tools)."""
        total = 0
        for _ in range(max_sweeps):
            sweep = await self.sweep()
            total += sweep.fired
            if sweep.fired + sweep.skipped < self.batch_size and not sweep.more:
                break
        return total

    def _next_step(self, row: Row[Any]) -> tuple[str, datetime] | None:
        span = Span(Basis(row.basis), row.start_at, row.deadline_due, row.paused, row.paused_at)
        return self.steps.after(row.kind, row.fire_kind, span)

    def _event(self, row: Row[Any], now: datetime) -> tuple[Action, Contract] | None:
        """The event a due timer stands for, or None if the state machine refuses its action now (the case is
        suspended or finished) or its clock stopped meanwhile. The machine decides, as for every other action."""
        step: str = row.fire_kind
        action = FIRE_ACTIONS.get(step.split(":", 1)[0])
        if action is None:
            log.warning("unknown_timer_step", timer_id=row.id, step=step)
            return None
        if row.deadline_status != "active":
            return None
        try:
            machine.check(action, machine.CaseFacts(state=State(row.state)), WORKFLOW)
        except (Conflict, Forbidden):
            return None
        event = machine.TRANSITIONS[action].event
        common = {
            "case_id": row.case_id,
            "case_no": row.case_no,
            "state": row.state,
            "version": row.version,
            "at": now,
            "actor": SYSTEM_ACTOR,
            "department_code": row.case_department,
        }
        if event is ev.CheckInMissed:
            return action, ev.CheckInMissed(
                **common, missed_department=row.department_code or "", due_at=row.deadline_due
            )
        if event is ev.CaseEscalated:
            level = int(step.split(":", 1)[1])
            target = (
                self.departments.escalation_target(row.department_code, level)
                if row.kind in DEPARTMENT_CLOCKS
                else None
            )
            return action, ev.CaseEscalated(
                **common, kind=row.kind, level=level, due_at=row.deadline_due, escalated_to=target
            )
        if event is ev.DeadlineWarned or event is ev.DeadlineBreached:
            return action, event(**common, kind=row.kind, due_at=row.deadline_due)
        raise AssertionError(f"no timer event for {event.__name__}")

    async def refresh_metrics(self) -> None:
        async with self.sessions() as session:
            repo = Repository(session)
            now = self.clock.now()
            pending, overdue = await repo.timer_counts(now)
            parked, oldest = await repo.parked_counts()
            by_state = await repo.open_cases_by_state()
        TIMERS_PENDING.set(pending)
        TIMERS_OVERDUE.set(overdue)
        PARKED_EVENTS.set(parked)
        PARKED_OLDEST.set((now - oldest).total_seconds() if oldest else 0.0)
        for state in machine.OPEN:
            CASES_OPEN.labels(state.value).set(by_state.get(state.value, 0))

    async def any_due(self) -> bool:
        async with self.sessions() as session:
            return await Repository(session).any_timer_due(self.clock.now())


def poller_of(runtime: ServiceRuntime) -> TimerPoller:
    poller: TimerPoller = runtime.services["workflow.timers"]
    return poller


async def run_poller(
    poller: TimerPoller, interval_s: float, metrics_interval_s: float, stop: asyncio.Event | None = None
) -> None:
    """Sweep while work is due, sleep `interval_s` when idle; survive database outages."""
    next_metrics = 0.0
    while stop is None or not stop.is_set():
        try:
            sweep = await poller.sweep()
            if time.monotonic() >= next_metrics:
                next_metrics = time.monotonic() + metrics_interval_s
                await poller.refresh_metrics()
        except Exception as exc:  # the database is away: nothing is lost, the rows stay pending
            log.warning("timer_sweep_failed", error=repr(exc))
            await asyncio.sleep(1.0)
            continue
        if sweep.fired + sweep.skipped < poller.batch_size and not sweep.more:
            await asyncio.sleep(interval_s)


async def timer_worker(runtime: ServiceRuntime) -> None:
    """SERVICE.workers entry: the poller of this process."""
    wf: Workflow = runtime.services["workflow"]
    await run_poller(poller_of(runtime), runtime.settings.poll_interval_s, wf.settings.metrics_interval_s)


async def timers_idle(runtime: ServiceRuntime) -> bool:
    """No timer is due by the runtime's clock (the harness waits for this before calling the platform quiet)."""
    return not await poller_of(runtime).any_due()
