"""Durable deadlines on the manual clock: 1515 due times, the escalation ladder, lights, unknown years."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text

from shared.calendar import WorkCalendar
from tests.integration.workflow.conftest import SHANGHAI, Desk
from workflow.service import Workflow
from workflow.timers import poller_of


async def test_1515_deadlines_and_every_escalation_step_fire_once_each_up_the_chain(desk: Desk) -> None:
    case = await desk.file(profile="1515-general")
    cid = case["id"]
    due = {d["kind"]: d["due_at"] for d in case["deadlines"]}
    assert due == {"first_contact": "2025-03-04T10:00:00Z", "handle": "2025-03-10T10:00:00Z"}  # Tue, next Mon 18:00
    await desk.act(cid, "first-contact", "dispatcher")

    # Handling budget: 48 office hours from Mon 3 Mar 9:00. Warn at 80 % = 38.4 h = Fri 7 Mar 16:24.
    await desk.advance_to(datetime(2025, 3, 7, 16, 23, tzinfo=SHANGHAI))
    assert "deadline_warned" not in await desk.types(cid)
    await desk.advance(timedelta(minutes=1))
    assert (await desk.get(cid))["traffic_light"] == "yellow"
    await desk.advance_to(datetime(2025, 3, 10, 18, 0, tzinfo=SHANGHAI))  # the deadline: reminder (催办)
    assert (await desk.get(cid))["traffic_light"] == "red"
    await desk.advance(timedelta(days=30))  # far past 120 % and 200 %: supervision levels 1 and 2
    await desk.advance(timedelta(days=30))  # and again: nothing fires twice

    fired = [
        e
        for e in await desk.case_events(cid)
        if e.type.split(".")[2] in ("deadline_warned", "deadline_breached", "escalated")
    ]
    assert [(e.type.split(".")[2], e.data.get("level"), e.data.get("escalated_to")) for e in fired] == [
        ("deadline_warned", None, None),
        ("deadline_breached", None, None),
        ("escalated", 1, "UTIL"),
        ("escalated", 2, "GOV"),
    ]
    assert all(e.data["kind"] == "handle" and e.data["due_at"] == "2025-03-10T10:00:00Z" for e in fired)
    async with desk.p.runtime("workflow").engine.connect() as conn:
        left = (await conn.execute(text("SELECT status, count(*) FROM workflow.timers GROUP BY status"))).all()
    # the handling clock's four steps, each written when the one before fired; the first contact's next step
    # (its warning) stopped when contact was made, and its later steps were never written
    assert dict(left) == {"fired": 4, "cancelled": 1}


async def test_meeting_a_deadline_stops_its_timers(desk: Desk) -> None:
    cid = (await desk.file(profile="component-A", channel="patrol"))["id"]  # acknowledge 0.5 h, handle 2 h
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.advance(timedelta(minutes=30))  # past the acknowledge deadline, met before it
    await desk.act(cid, "handle", "department", "WATER", result="done")
    await desk.advance(timedelta(hours=6))  # the verification limit (4 working hours) passes
    kinds = [
        (e.data.get("kind"), e.type.split(".")[2])
        for e in await desk.case_events(cid)
        if "deadline" in e.type or "escalated" in e.type
    ]
    assert kinds and all(kind == "verify" for kind, _ in kinds)
    assert ("verify", "deadline_breached") in kinds


async def test_a_first_contact_made_late_says_so(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    await desk.advance(timedelta(days=2))
    await desk.act(cid, "first-contact", "dispatcher")
    events = await desk.case_events(cid)
    assert next(e for e in events if e.type.endswith("first_contact.v1")).data["on_time"] is False
    assert any(e.type.endswith("deadline_breached.v1") and e.data["kind"] == "first_contact" for e in events)


async def test_a_deadline_running_into_an_unknown_year_carries_a_visible_warning(desk: Desk) -> None:
    desk.clock.set(datetime(2026, 12, 24, 10, 0, tzinfo=SHANGHAI))
    case = await desk.file(profile="1515-complex", received_at=desk.clock.now())
    handle = next(d for d in case["deadlines"] if d["kind"] == "handle")
    assert handle["due_at"].startswith("2027-01")
    assert any("2027" in w for w in handle["warnings"]) and any("2027" in w for w in case["warnings"])
    dispatched = next(e for e in await desk.case_events(case["id"]) if e.type.endswith("dispatched.v1"))
    assert any("2027" in w for d in dispatched.data["deadlines"] for w in d["warnings"])


async def test_an_announced_year_sets_new_deadlines_and_leaves_the_ones_already_set(desk: Desk) -> None:
    """The State Council's notice arrives as the operator's table (read at the next start): cases filed after it
    get deadlines from the table and no warning; a deadline set on the estimate keeps its time and its warning."""
    desk.clock.set(datetime(2026, 12, 24, 10, 0, tzinfo=SHANGHAI))
    estimated = await desk.file(profile="1515-complex", received_at=desk.clock.now())
    handle = next(d for d in estimated["deadlines"] if d["kind"] == "handle")
    assert handle["due_at"] == "2027-01-15T10:00:00Z" and any("2027" in w for w in handle["warnings"])

    workflow: Workflow = desk.p.runtime("workflow").services["workflow"]
    estimate = workflow.clockwork.calendar
    announced = {date(2027, 1, 1): False, date(2027, 1, 4): False, date(2027, 1, 5): False}  # made up
    workflow.clockwork.calendar = WorkCalendar(overrides=announced)
    try:
        later = await desk.file(profile="1515-complex", received_at=desk.clock.now())
    finally:
        workflow.clockwork.calendar = estimate
    new = next(d for d in later["deadlines"] if d["kind"] == "handle")
    assert new["due_at"] == "2027-01-19T10:00:00Z" and not new["warnings"]
    kept = next(d for d in (await desk.get(estimated["id"]))["deadlines"] if d["kind"] == "handle")
    assert (kept["due_at"], kept["warnings"]) == (handle["due_at"], handle["warnings"])


async def test_an_unknown_profile_is_filed_on_the_default_with_a_warning(desk: Desk) -> None:
    case = await desk.file(profile="made-up")
    assert any("made-up" in w for w in case["warnings"])
    assert next(d for d in case["deadlines"] if d["kind"] == "handle")["due_at"] == "2025-03-10T10:00:00Z"


async def test_urgent_cases_run_on_the_wall_clock(desk: Desk) -> None:
    desk.clock.set(datetime(2025, 3, 8, 22, 0, tzinfo=SHANGHAI))  # Saturday night
    case = await desk.file(profile="urgent-2h", received_at=desk.clock.now())
    handle = next(d for d in case["deadlines"] if d["kind"] == "handle")
    assert handle["due_at"] == "2025-03-08T16:00:00Z"  # Sunday 00:00 in Shanghai
    await desk.advance(timedelta(hours=2))
    assert "deadline_breached" in await desk.types(case["id"])


async def test_prometheus_shows_the_timer_backlog_and_open_cases(desk: Desk) -> None:
    await desk.file(profile="1515-general")  # first contact and handling: each clock's next step
    await poller_of(desk.p.runtime("workflow")).refresh_metrics()
    metrics = (await desk.p.client.get("/metrics")).text
    assert "cityloop_timers_pending 2.0" in metrics and "cityloop_timers_overdue 0.0" in metrics
    assert 'cityloop_cases_open{state="dispatched"} 1.0' in metrics
