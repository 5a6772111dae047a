"""吹哨报到: a street summons departments; each checks in within two hours or a breach is recorded."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.workflow.conftest import Desk


async def test_summoned_departments_check_in_on_time_or_are_reported_missing(desk: Desk) -> None:
    cid = (await desk.file(street="S01"))["id"]
    blown = await desk.act(cid, "whistle", "street", "S01", departments=["ROADS", "PARKS"], reason="flooded road")
    assert [c["department_code"] for c in blown["whistles"][0]["checkins"]] == ["ROADS", "PARKS"]
    assert (await desk.p.client.get(f"/v1/cases/{cid}", headers=desk.as_("department", "ROADS"))).status_code == 200

    await desk.advance(timedelta(minutes=70))
    await desk.act(cid, "checkin", "department", "ROADS")
    await desk.act(cid, "checkin", "department", "ROADS", expect=409)  # once is enough
    await desk.act(cid, "checkin", "department", "WATER", expect=409)  # assigned, but not summoned
    await desk.advance(timedelta(minutes=50))  # two hours after the whistle
    await desk.advance(timedelta(minutes=30))
    late = await desk.act(cid, "checkin", "department", "PARKS")

    checkins = {c["department_code"]: c for c in late["whistles"][0]["checkins"]}
    assert checkins["ROADS"]["on_time"] is True and checkins["ROADS"]["checked_in_at"] == "2025-03-03T02:10:00Z"
    assert checkins["PARKS"]["on_time"] is False and checkins["PARKS"]["checked_in_at"] == "2025-03-03T03:30:00Z"
    events = await desk.case_events(cid)
    whistle = next(e for e in events if e.type.endswith("whistle_blown.v1"))
    assert whistle.data["street_code"] == "S01" and whistle.data["checkin_due_at"] == "2025-03-03T03:00:00Z"
    missed = [e.data for e in events if e.type.endswith("checkin_missed.v1")]
    assert [m["missed_department"] for m in missed] == ["PARKS"]
    checked = [
        (e.data["checked_in_department"], e.data["on_time"])
        for e in events
        if e.type.endswith("department_checked_in.v1")
    ]
    assert checked == [("ROADS", True), ("PARKS", False)]


async def test_a_whistle_needs_an_open_case_and_known_departments(desk: Desk) -> None:
    cid = (await desk.file(street="S01"))["id"]
    await desk.act(cid, "whistle", "street", "S01", departments=["NOPE"], expect=422)
    await desk.act(cid, "whistle", "street", "S01", departments=["ROADS"])
    await desk.act(cid, "whistle", "street", "S01", departments=["ROADS"], expect=409)  # already summoned
    await desk.act(cid, "whistle", "department", "WATER", departments=["PARKS"], expect=403)
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "handle", "department", "WATER", result="done")
    await desk.act(cid, "whistle", "street", "S01", departments=["PARKS"], expect=409)


async def test_a_routing_rule_can_blow_the_whistle_when_the_case_is_filed(desk: Desk) -> None:
    case = await desk.file(whistle=True, whistle_departments=["ROADS", "PARKS"])
    assert case["whistles"][0]["blown_by"] == "router"
    assert {d["department_code"]: d["relation"] for d in case["departments"]} == {
        "WATER": "assigned",
        "ROADS": "summoned",
        "PARKS": "summoned",
    }
    await desk.advance(timedelta(hours=2))
    assert (await desk.types(case["id"])).count("checkin_missed") == 2
