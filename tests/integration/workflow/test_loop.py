"""The closed loop over HTTP and the bus: filing, dispatch, handling, verification, closing and its exceptions."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import text

from shared.bus.base import OutMessage
from shared.contracts import make_envelope, topic_of
from shared.contracts.common import Channel, Reporter
from shared.contracts.reports import ReportUpdated
from shared.contracts.routing import ReportMerged, RoutedReport
from tests.integration.workflow.conftest import MONDAY_9AM, Desk, routing_decided
from workflow.timers import poller_of

PHOTO = {"uri": "media://p/1.jpg", "sha256": "a" * 64}


async def test_a_routed_report_goes_round_the_whole_loop_with_a_full_audit_trail(desk: Desk) -> None:
    case = await desk.file()
    cid = case["id"]
    assert re.fullmatch(r"DC20250303\d{6}", case["case_no"])
    assert (case["state"], case["department_code"], case["version"]) == ("dispatched", "WATER", 2)

    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "first-contact", "dispatcher", note="called back")
    await desk.act(cid, "handle", "department", "WATER", result="valve replaced", photos=[PHOTO])
    await desk.act(cid, "verify", "inspector", passed=True, photos=[PHOTO])
    closed = await desk.act(cid, "close", "dispatcher")
    assert closed["state"] == "closed" and closed["traffic_light"] is None
    await desk.act(cid, "callback", "dispatcher", satisfaction="satisfied")
    await desk.p.drain()

    assert await desk.types(cid) == [
        "filed",
        "dispatched",
        "acknowledged",
        "first_contact",
        "handled",
        "verified",
        "closed",
        "callback_recorded",
    ]
    events = await desk.case_events(cid)
    assert [e.data["version"] for e in events] == list(range(1, 9))
    assert events[4].data["photos"][0]["uri"] == PHOTO["uri"]
    handled = await desk.get(cid)
    verify = next(d for d in handled["deadlines"] if d["kind"] == "verify")
    assert [(d["kind"], d["due_at"]) for d in events[4].data["deadlines"]] == [("verify", verify["due_at"])]
    assert events[5].data["photos"][0]["uri"] == PHOTO["uri"]
    trail = (await desk.p.client.get(f"/v1/cases/{cid}/audit", headers=desk.as_("admin"))).json()
    assert [(t["action"], t["from_state"], t["to_state"]) for t in trail][:3] == [
        ("file", None, "filed"),
        ("dispatch", "filed", "dispatched"),
        ("acknowledge", "dispatched", "acknowledged"),
    ]
    assert trail[2]["actor"] == {"id": "department-WATER", "role": "department", "unit": "WATER"}
    assert all(t["event_id"] for t in trail)


async def test_case_numbers_count_up_through_the_day_and_past_a_million(desk: Desk) -> None:
    first, second = await desk.file(), await desk.file()
    assert int(second["case_no"][-6:]) == int(first["case_no"][-6:]) + 1
    async with desk.p.runtime("workflow").transaction() as session:
        await session.execute(text("UPDATE workflow.case_counters SET last = 999999"))
    assert (await desk.file())["case_no"] == "DC202503031000000"


async def test_case_numbers_count_up_within_a_day_and_restart_the_next(desk: Desk) -> None:
    first = await desk.file()
    second = await desk.file()
    desk.clock.advance(timedelta(days=1))
    third = await desk.file()
    assert (first["case_no"], second["case_no"], third["case_no"]) == (
        "DC20250303000001",
        "DC20250303000002",
        "DC20250304000001",
    )
    by_no = await desk.get(second["case_no"])
    assert by_no["id"] == second["id"]


async def test_a_return_goes_to_the_dispatcher_who_dispatches_elsewhere(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    returned = await desk.act(cid, "return", "department", "WATER", reason="this is a road defect")
    assert returned["state"] == "returned" and returned["department_code"] is None
    again = await desk.act(cid, "dispatch", "dispatcher", department_code="ROADS")
    assert again["state"] == "dispatched" and again["department_code"] == "ROADS"
    assert {d["department_code"] for d in again["departments"]} == {"WATER", "ROADS"}
    handle = next(d for d in again["deadlines"] if d["kind"] == "handle")
    assert handle["department_code"] == "ROADS" and handle["due_at"] == "2025-03-10T10:00:00Z"  # the clock ran on
    await desk.act(cid, "acknowledge", "department", "WATER", expect=403)  # former department: sees, cannot act
    moved = await desk.act(cid, "dispatch", "dispatcher", department_code="PARKS")
    assert moved["department_code"] == "PARKS"
    await desk.act(cid, "dispatch", "dispatcher", department_code="NOPE", expect=422)
    await desk.p.drain()
    events = await desk.case_events(cid)
    assert [e.data.get("redispatch") for e in events if e.type.endswith("dispatched.v1")] == [False, False, True]
    assert next(e for e in events if e.type.endswith("returned.v1")).data["from_department"] == "WATER"


async def test_a_granted_extension_moves_the_handling_deadline_by_working_days(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "extension", "department", "WATER", days=3, reason="parts on order")
    await desk.act(cid, "extension", "department", "WATER", days=1, reason="again", expect=409)
    granted = await desk.act(cid, "extension/grant", "dispatcher")
    handle = next(d for d in granted["deadlines"] if d["kind"] == "handle")
    assert handle["due_at"] == "2025-03-13T10:00:00Z"  # Mon 10 Mar 18:00 + 3 working days
    assert granted["extension_request"] is None
    await desk.act(cid, "extension", "department", "WATER", days=2, reason="more")
    refused = await desk.act(cid, "extension/refuse", "dispatcher", reason="no")
    assert next(d for d in refused["deadlines"] if d["kind"] == "handle")["due_at"] == "2025-03-13T10:00:00Z"


async def test_suspension_stops_every_clock_and_resuming_pushes_deadlines(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    await desk.act(cid, "suspend", "dispatcher", reason="waiting for the owner")
    await desk.advance(timedelta(days=14))  # far past every deadline: nothing may fire while suspended
    assert await desk.types(cid) == ["filed", "dispatched", "suspended"]
    suspended = await desk.get(cid)
    assert all(d["suspended"] for d in suspended["deadlines"]) and suspended["traffic_light"] == "green"
    resumed = await desk.act(cid, "resume", "dispatcher")
    assert resumed["state"] == "dispatched"
    handle = next(d for d in resumed["deadlines"] if d["kind"] == "handle")
    # Suspended Mon 3 Mar 9:00 for ten working days: due moves from Mon 10 Mar to Mon 24 Mar 18:00.
    assert handle["due_at"] == "2025-03-24T10:00:00Z" and handle["elapsed"] == 0.0


async def test_a_next_step_written_during_a_suspension_waits_for_the_resumption(desk: Desk) -> None:
    """A sweep that fires a step writes the clock's next one; if a suspension commits meanwhile, that row is
    pending under a paused clock. It must neither fire nor be lost: it waits, and fires after the resume."""
    cid = (await desk.file())["id"]
    await desk.act(cid, "suspend", "dispatcher", reason="waiting for the owner")
    async with desk.p.runtime("workflow").engine.begin() as conn:  # the race's outcome, written directly
        await conn.execute(
            text("UPDATE workflow.timers SET status = 'pending' WHERE case_id = :c AND kind = 'handle'"), {"c": cid}
        )
    await desk.advance(timedelta(days=14))
    assert await desk.types(cid) == ["filed", "dispatched", "suspended"]
    async with desk.p.runtime("workflow").engine.connect() as conn:
        handle = await conn.execute(
            text("SELECT status FROM workflow.timers WHERE case_id = :c AND kind = 'handle'"), {"c": cid}
        )
        assert handle.scalars().all() == ["paused"]
    await desk.act(cid, "resume", "dispatcher")
    await desk.advance(timedelta(days=30))
    warned = [e for e in await desk.case_events(cid) if e.type.endswith("deadline_warned.v1")]
    assert [e.data["kind"] for e in warned].count("handle") == 1


async def test_an_unsatisfied_callback_reopens_the_case_for_rework(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "handle", "department", "WATER", result="done")
    await desk.act(cid, "verify", "inspector", passed=True, photos=[PHOTO])
    await desk.act(cid, "close", "dispatcher")
    await desk.act(cid, "callback", "dispatcher", satisfaction="basic", reopen=True, expect=422)
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/callback",
        headers=desk.p.api_key("hotline"),
        json={"satisfaction": "unsatisfied", "comment": "still leaking", "reopen": True},
    )
    assert r.status_code == 200, r.text
    reopened = r.json()
    assert reopened["state"] == "dispatched" and reopened["department_code"] == "WATER"
    assert reopened["closed_at"] is None and reopened["satisfaction"] == "unsatisfied"
    active = [d for d in reopened["deadlines"] if d["status"] == "active"]
    assert [d["kind"] for d in active] == ["handle"] and active[0]["start_at"] == reopened["updated_at"]
    await desk.p.drain()
    events = await desk.case_events(cid)
    assert [e.type.split(".")[2] for e in events][-2:] == ["callback_recorded", "reopened"]
    assert [(d["kind"], d["due_at"]) for d in events[-1].data["deadlines"]] == [("handle", active[0]["due_at"])]


async def test_a_failed_verification_sends_the_case_back_for_rework(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "handle", "department", "WATER", result="done")
    await desk.act(cid, "verify", "inspector", passed=True, photos=[], expect=422)  # an on-site photo is required
    failed = await desk.act(cid, "verify", "inspector", passed=False, note="still wet", photos=[PHOTO])
    assert failed["state"] == "dispatched"
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.p.drain()
    verified = [e for e in await desk.case_events(cid) if e.type.endswith("verified.v1")]
    assert verified[0].data["passed"] is False and verified[0].data["state"] == "dispatched"
    rework = {d["kind"] for d in verified[0].data["deadlines"]}
    assert "handle" in rework and verified[0].data["photos"][0]["uri"] == PHOTO["uri"]


async def test_concurrent_actions_on_one_case_one_wins_the_other_gets_409(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    dept = desk.as_("department", "WATER")
    seen = {**dept, "If-Match": '"2"'}  # both clients saw version 2; either order, only the first may act on it
    results = await asyncio.gather(
        desk.p.client.post(f"/v1/cases/{cid}/acknowledge", headers=seen),
        desk.p.client.post(f"/v1/cases/{cid}/extension", headers=seen, json={"days": 1, "reason": "parts"}),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    assert next(r for r in results if r.status_code == 409).json()["error"]["field"] == "version"
    if results[0].status_code == 409:  # the extension request won: acknowledge now
        await desk.act(cid, "acknowledge", "department", "WATER")
    before = (await desk.get(cid))["version"]

    results = await asyncio.gather(  # without If-Match: compare-and-set on the version each request read
        desk.p.client.post(f"/v1/cases/{cid}/handle", headers=dept, json={"result": "fixed"}),
        desk.p.client.post(f"/v1/cases/{cid}/return", headers=dept, json={"reason": "not ours"}),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    current = await desk.get(cid)
    assert current["version"] == before + 1 and current["state"] in ("handled", "returned")
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/withdraw", headers=desk.as_("dispatcher"), json={"reason": "x", "version": before}
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"


async def test_a_merged_report_joins_its_case_even_if_it_arrives_first(desk: Desk) -> None:
    primary = routing_decided()
    routed = RoutedReport(channel=Channel.WECHAT, reporter=Reporter(kind="citizen"), received_at=MONDAY_9AM)
    early = ReportMerged(report_id="r-dup-1", primary_report_id=primary.report_id, report=routed, reason="same leak")
    await desk.p.publish(early, subject=early.report_id)  # another partition: may be handled before the primary
    await desk.p.drain()
    assert await parked_on_metrics(desk) == 1
    await desk.p.publish(primary, subject=primary.report_id)
    late = ReportMerged(report_id="r-dup-2", primary_report_id="r-dup-1", report=routed, reason="same leak")
    await desk.p.publish(late, subject=late.report_id)
    await desk.p.drain()
    listed = (await desk.p.client.get("/v1/cases", headers=desk.as_("admin"))).json()["items"]
    assert len(listed) == 1 and sorted(listed[0]["report_ids"]) == sorted([primary.report_id, "r-dup-1", "r-dup-2"])
    assert (await desk.types(listed[0]["id"])).count("report_attached") == 2
    assert await parked_on_metrics(desk) == 0


async def parked_on_metrics(desk: Desk) -> float:
    await poller_of(desk.p.runtime("workflow")).refresh_metrics()
    metrics = (await desk.p.client.get("/metrics")).text
    found = re.search(r"^cityloop_workflow_parked_events (\S+)$", metrics, re.M)
    assert found, "the gauge is exported"
    return float(found.group(1))


async def test_a_withdrawn_report_withdraws_its_unhandled_case_and_a_supplement_is_noted(desk: Desk) -> None:
    case = await desk.file()
    rid = case["report_id"]
    await desk.p.publish(
        ReportUpdated(report_id=rid, kind="supplement", text="it is getting worse", at=MONDAY_9AM), subject=rid
    )
    await desk.p.publish(ReportUpdated(report_id=rid, kind="withdrawn", at=MONDAY_9AM), subject=rid)
    await desk.p.drain()
    after = await desk.get(case["id"])
    assert after["state"] == "withdrawn" and all(d["status"] == "cancelled" for d in after["deadlines"])
    trail = (await desk.p.client.get(f"/v1/cases/{case['id']}/audit", headers=desk.as_("admin"))).json()
    assert any(t["action"] == "note" and t["payload"]["text"] == "it is getting worse" for t in trail)
    await desk.advance(timedelta(days=30))
    assert (await desk.types(case["id"]))[-1] == "withdrawn"  # no timer outlives its case


async def test_a_withdrawal_after_handling_only_leaves_a_note(desk: Desk) -> None:
    case = await desk.file()
    await desk.act(case["id"], "acknowledge", "department", "WATER")
    await desk.act(case["id"], "handle", "department", "WATER", result="fixed")
    await desk.p.publish(
        ReportUpdated(report_id=case["report_id"], kind="withdrawn", at=MONDAY_9AM), subject=case["report_id"]
    )
    await desk.p.drain()
    assert (await desk.get(case["id"]))["state"] == "handled"


async def test_bad_requests_name_the_field(desk: Desk) -> None:
    cid = (await desk.file())["id"]
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/extension", headers=desk.as_("department", "WATER"), json={"days": 0, "reason": "x"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "days"
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/acknowledge", headers={**desk.as_("department", "WATER"), "If-Match": "yesterday"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "If-Match"
    r = await desk.p.client.post(f"/v1/cases/{cid}/close", headers=desk.as_("department", "WATER"))
    assert r.status_code == 403 and r.json()["error"]["field"] == "role"
    r = await desk.p.client.post(f"/v1/cases/{cid}/close", headers=desk.as_("dispatcher"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "state"


async def test_decisions_that_arrive_together_are_filed_together_each_numbered_dispatched_and_timed(desk: Desk) -> None:
    """A poll's routing decisions are filed with one statement per table: every case still gets its own number
    (the day's next ones), its department, its clocks, both moves in its trail and both events; a replayed
    decision files nothing more, and a merge behind its primary's decision in the same poll joins that case."""
    bodies = [routing_decided(department=d) for d in ("WATER", "ROADS", "WATER", "PARKS", "ROADS")]
    merged = ReportMerged(
        report_id="r-merged-in-same-poll",
        primary_report_id=bodies[1].report_id,
        reason="same problem",
        deadline_profile="1515-general",
        hotline_class="general",
        report=RoutedReport(channel=Channel.HOTLINE, reporter=Reporter(kind="citizen"), received_at=MONDAY_9AM),
    )
    messages = [(b, b.report_id) for b in [*bodies, bodies[2]]] + [(merged, merged.report_id)]
    await desk.p.bus.publish(
        [
            OutMessage(topic_of(body), key, make_envelope(body, source="/test", subject=key).to_bytes())
            for body, key in messages
        ]
    )
    await desk.p.drain()

    listed = (await desk.p.client.get("/v1/cases", headers=desk.as_("admin"), params={"limit": 200})).json()["items"]
    by_report = {r: c for c in listed for r in c["report_ids"]}
    cases = [by_report[b.report_id] for b in bodies]
    assert len({c["id"] for c in cases}) == len(bodies) == len(listed)
    numbers = sorted(int(c["case_no"][-6:]) for c in cases)
    assert numbers == list(range(numbers[0], numbers[0] + len(bodies)))
    assert [(c["state"], c["department_code"], c["version"]) for c in cases] == [
        ("dispatched", b.department_code, 3 if b is bodies[1] else 2) for b in bodies
    ]
    assert by_report[merged.report_id]["id"] == cases[1]["id"]
    for case, body in zip(cases, bodies, strict=True):
        full = await desk.get(case["id"])
        assert [(d["kind"], d["department_code"]) for d in full["deadlines"] if d["kind"] == "handle"] == [
            ("handle", body.department_code)
        ]
        trail = (await desk.p.client.get(f"/v1/cases/{case['id']}/audit", headers=desk.as_("admin"))).json()
        assert [(t["action"], t["from_state"], t["to_state"], t["version"]) for t in trail][:2] == [
            ("file", None, "filed", 1),
            ("dispatch", "filed", "dispatched", 2),
        ]
        events = await desk.case_events(case["id"])
        assert [(e.type, e.data["state"], e.data["version"], e.data.get("department_code")) for e in events][:2] == [
            ("cityloop.case.filed.v1", "filed", 1, None),
            ("cityloop.case.dispatched.v1", "dispatched", 2, body.department_code),
        ]
