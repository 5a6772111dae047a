"""并案 never drops a 12345 caller's obligations: each merged caller keeps its class, its own first-contact clock
(with the timers every clock has) and its result due; the case's handling clock is the stricter of them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.bus.base import OutMessage
from shared.bus.kafka import KafkaBus
from shared.clock import ManualClock
from shared.contracts import make_envelope, topic_of
from shared.contracts.common import Channel, Reporter
from shared.contracts.routing import ReportMerged, RoutedReport
from tests.integration.workflow.conftest import DEPARTMENTS, MONDAY_9AM, SHANGHAI, Desk
from tests.support.harness import running_platform
from workflow.definition import SERVICE

pytestmark = pytest.mark.kafka


@pytest.fixture
async def desk(pg_url: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    """The workflow on the real broker (the product's path), on a manual clock."""
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    clock = ManualClock(MONDAY_9AM)
    bus = KafkaBus(kafka_bootstrap, client_id=f"callers-{uuid.uuid4().hex[:6]}")
    async with running_platform(pg_url, [SERVICE], clock=clock, bus=bus) as p:
        yield Desk(p, clock)
        for name, task in p.platform.tasks.items():
            if ":worker:" in name:
                task.cancel()


def local(d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(2025, 3, d, hh, mm, tzinfo=SHANGHAI)


async def merge(
    desk: Desk, primary: str, report_id: str, profile: str, ticket: str | None, channel: Channel = Channel.HOTLINE
) -> None:
    body = ReportMerged(
        report_id=report_id,
        primary_report_id=primary,
        reason="same problem",
        deadline_profile=profile,
        hotline_class=("complex" if profile.endswith("complex") else "general") if channel is Channel.HOTLINE else None,
        report=RoutedReport(
            channel=channel, external_id=ticket, reporter=Reporter(kind="citizen"), received_at=desk.clock.now()
        ),
    )
    await desk.p.publish(body, subject=report_id)
    await desk.p.drain()


def caller(case: dict[str, Any], report_id: str) -> dict[str, Any]:
    return next(c for c in case["callers"] if c["report_id"] == report_id)


def due(case: dict[str, Any], kind: str) -> str:
    return next(d["due_at"] for d in case["deadlines"] if d["kind"] == kind and d["status"] == "active")


async def test_a_complex_ticket_merged_into_a_general_case_keeps_its_fifteen_days(desk: Desk) -> None:
    case = await desk.file(profile="1515-general")  # Mon 3 Mar 9:00: handle by Mon 10 Mar 18:00
    desk.clock.set(local(4, 10))
    await merge(desk, case["report_ids"][0], "r-complex", "1515-complex", "T-2002")

    case = await desk.get(case["id"])
    mine = caller(case, "r-complex")
    assert (mine["hotline_class"], mine["deadline_profile"]) == ("complex", "1515-complex")
    assert mine["result_due_at"] == "2025-03-25T10:00:00Z"  # 15 working days after Tue 4 Mar, 18:00
    assert mine["first_contact_due_at"] == "2025-03-05T10:00:00Z" and mine["external_id"] == "T-2002"
    assert due(case, "handle") == "2025-03-10T10:00:00Z", "the general caller's 5 days still hold the case"
    attached = next(e for e in await desk.case_events(case["id"]) if e.type.endswith("report_attached.v1"))
    assert attached.data["hotline_class"] == "complex"
    assert [d["kind"] for d in attached.data["deadlines"]] == ["first_contact:r-complex"]

    await desk.act(case["id"], "acknowledge", "department", "WATER")  # an extension (延期) moves every due
    await desk.act(case["id"], "extension", "department", "WATER", days=3, reason="需协调施工")
    extended = await desk.act(case["id"], "extension/grant", "dispatcher")
    assert due(extended, "handle") == "2025-03-13T10:00:00Z"
    assert caller(extended, "r-complex")["result_due_at"] == "2025-03-28T10:00:00Z"


async def test_a_general_ticket_merged_into_a_complex_case_pulls_its_handling_in(desk: Desk) -> None:
    case = await desk.file(profile="1515-complex")  # handle by Mon 24 Mar 18:00
    cid = case["id"]
    assert due(case, "handle") == "2025-03-24T10:00:00Z"
    await desk.act(cid, "first-contact", "dispatcher")
    desk.clock.set(local(5, 9))
    await merge(desk, case["report_ids"][0], "r-general", "1515-general", "T-3002")

    case = await desk.get(cid)
    assert due(case, "handle") == "2025-03-12T10:00:00Z" == caller(case, "r-general")["result_due_at"]
    await desk.act(cid, "first-contact", "dispatcher", report_id="r-general")
    await desk.advance_to(local(12, 18))  # the general caller's due: the reminder (催办) fires now, not on 24 Mar
    breached = [e.data for e in await desk.case_events(cid) if e.type.endswith("deadline_breached.v1")]
    assert [(b["kind"], b["due_at"]) for b in breached] == [("handle", "2025-03-12T10:00:00Z")]


async def test_two_merged_callers_each_get_their_own_first_contact_deadline_and_overdue_signal(desk: Desk) -> None:
    case = await desk.file(profile="1515-general")
    cid, primary = case["id"], case["report_ids"][0]
    desk.clock.set(local(3, 10))
    await merge(desk, primary, "r-a", "1515-general", "T-4002")  # first contact by Tue 18:00
    desk.clock.set(local(4, 10))
    await merge(desk, primary, "r-b", "1515-general", "T-4003")  # first contact by Wed 18:00
    case = await desk.get(cid)
    assert caller(case, "r-a")["first_contact_due_at"] == "2025-03-04T10:00:00Z"
    assert caller(case, "r-b")["first_contact_due_at"] == "2025-03-05T10:00:00Z"

    await desk.act(cid, "first-contact", "dispatcher")  # the case's own caller
    contacted = await desk.act(cid, "first-contact", "dispatcher", report_id="r-a", note="回电已联系")
    assert caller(contacted, "r-a")["first_contact_at"] is not None
    assert caller(contacted, "r-b")["first_contact_at"] is None
    await desk.act(cid, "first-contact", "dispatcher", report_id="r-a", expect=409)  # once per caller
    await desk.act(cid, "first-contact", "dispatcher", report_id="r-nobody", expect=404)
    await merge(desk, primary, "r-patrol", "incident-B", None, Channel.PATROL)  # owed no first contact
    await desk.act(cid, "first-contact", "dispatcher", report_id="r-patrol", expect=422)
    assert caller(await desk.get(cid), "r-patrol")["first_contact_due_at"] is None
    await desk.act(cid, "first-contact", "department", "WATER", report_id="r-b", expect=403)

    await desk.advance_to(local(5, 18))  # r-b's deadline passes uncontacted
    overdue = [
        (e.type.split(".")[2], e.data["kind"])
        for e in await desk.case_events(cid)
        if e.type.split(".")[2] in ("deadline_warned", "deadline_breached") and e.data["kind"] != "handle"
    ]
    assert overdue == [("deadline_warned", "first_contact:r-b"), ("deadline_breached", "first_contact:r-b")]
    assert (await desk.get(cid))["traffic_light"] == "red"

    await desk.advance(timedelta(hours=1))
    await desk.act(cid, "first-contact", "dispatcher", report_id="r-b")
    made = [e.data for e in await desk.case_events(cid) if e.type.endswith("first_contact.v1")]
    assert [(m.get("report_id"), m["on_time"]) for m in made] == [(None, True), ("r-a", True), ("r-b", False)]
    audit = (await desk.p.client.get(f"/v1/cases/{cid}/audit", headers=desk.as_("admin"))).json()
    contacts = [a for a in audit if a["action"] == "first_contact"]
    assert [a["payload"].get("report_id") for a in contacts] == [None, "r-a", "r-b"]
    assert contacts[1]["reason"] == "回电已联系" and contacts[1]["actor"]["role"] == "dispatcher"


async def test_a_caller_merged_into_a_suspended_case_is_owed_first_contact_from_the_resumption(desk: Desk) -> None:
    case = await desk.file(profile="1515-general")
    cid = case["id"]
    await desk.act(cid, "suspend", "dispatcher", reason="等待产权单位确认")
    desk.clock.set(local(3, 10))
    await merge(desk, case["report_ids"][0], "r-s", "1515-general", "T-5002")  # by Tue 18:00 were it running
    await desk.advance_to(local(6, 10))  # Thu: far past Tue 18:00, but the case stood still
    assert not [e for e in await desk.case_events(cid) if "first_contact:r-s" in str(e.data.get("kind"))]
    resumed = await desk.act(cid, "resume", "dispatcher")
    # 24 office hours stood still (Mon 10:00 → Thu 10:00): Tue 18:00 moves to Fri 7 Mar 18:00
    assert caller(resumed, "r-s")["first_contact_due_at"] == "2025-03-07T10:00:00Z"
    await desk.advance_to(local(7, 18))
    breached = [e.data["kind"] for e in await desk.case_events(cid) if e.type.endswith("deadline_breached.v1")]
    assert "first_contact:r-s" in breached


async def test_a_caller_merged_into_a_finished_case_opens_no_clock(desk: Desk) -> None:
    case = await desk.file(profile="1515-general")
    cid = case["id"]
    await desk.act(cid, "withdraw", "dispatcher", reason="市民撤诉")
    await merge(desk, case["report_ids"][0], "r-late", "1515-complex", "T-6002")
    case = await desk.get(cid)
    late = caller(case, "r-late")
    assert late["hotline_class"] == "complex" and late["first_contact_due_at"] is None
    assert not [d for d in case["deadlines"] if d["status"] == "active"]


def merged(desk: Desk, primary: str, report_id: str, profile: str) -> ReportMerged:
    return ReportMerged(
        report_id=report_id,
        primary_report_id=primary,
        reason="same problem",
        deadline_profile=profile,
        hotline_class="complex" if profile.endswith("complex") else "general",
        report=RoutedReport(channel=Channel.HOTLINE, reporter=Reporter(kind="citizen"), received_at=desk.clock.now()),
    )


async def test_merges_that_arrive_together_each_move_their_case_in_turn(desk: Desk) -> None:
    """A poll's merges are attached together (`CaseService.attach_many`): two into one case are its moves in
    turn, each with its version, its event and its caller's own clock, and the case's handling clock ends at
    the strictest due; a repeat attaches nothing more; a merge ahead of its primary's case waits for it."""
    complex_case = await desk.file(profile="1515-complex")  # handle by Mon 24 Mar 18:00
    general_case = await desk.file(profile="1515-general")
    desk.clock.set(local(4, 10))
    first, second = complex_case["report_ids"][0], general_case["report_ids"][0]
    bodies = [
        merged(desk, first, "r-general", "1515-general"),  # due Tue 11 Mar 18:00: pulls the complex case in
        merged(desk, first, "r-complex", "1515-complex"),  # due Tue 25 Mar: leaves it
        merged(desk, second, "r-other", "1515-general"),
        merged(desk, first, "r-general", "1515-general"),  # the same merge again (another event)
        merged(desk, "r-not-filed-yet", "r-early", "1515-general"),
    ]
    await desk.p.bus.publish(
        [
            OutMessage(topic_of(b), b.report_id, make_envelope(b, source="/t", subject=b.report_id).to_bytes())
            for b in bodies
        ]
    )
    await desk.p.drain()

    case = await desk.get(complex_case["id"])
    assert sorted(c["report_id"] for c in case["callers"] if c["report_id"] != first) == ["r-complex", "r-general"]
    assert case["version"] == complex_case["version"] + 2
    assert due(case, "handle") == "2025-03-11T10:00:00Z" == caller(case, "r-general")["result_due_at"]
    attached = [e for e in await desk.case_events(case["id"]) if e.type.endswith("report_attached.v1")]
    assert [(e.data["report_id"], e.data["version"], [d["kind"] for d in e.data["deadlines"]]) for e in attached] == [
        ("r-general", complex_case["version"] + 1, ["first_contact:r-general", "handle"]),
        ("r-complex", complex_case["version"] + 2, ["first_contact:r-complex"]),
    ]
    trail = (await desk.p.client.get(f"/v1/cases/{case['id']}/audit", headers=desk.as_("admin"))).json()
    assert [t["version"] for t in trail if t["action"] == "attach_report"] == [
        complex_case["version"] + 1,
        complex_case["version"] + 2,
    ]
    other = await desk.get(general_case["id"])
    assert (other["version"], [c["report_id"] for c in other["callers"] if c["report_id"] != second]) == (
        general_case["version"] + 1,
        ["r-other"],
    )

    late = await desk.file(report_id="r-not-filed-yet", profile="1515-general")
    assert "r-early" in (await desk.get(late["id"]))["report_ids"]
