"""Tiered handling on a real database and bus: each level's queue and units, 上报 and 下派 with their clock rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.integration.workflow.conftest import MONDAY_9AM, Desk

PHOTO = {"uri": "media://p/1.jpg"}
COMMUNITY = {"role": "dispatcher", "unit": "S01-C1", "level": "community"}


def clock(case: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [d for d in case["deadlines"] if d["kind"] == kind]
    assert len(found) == 1, (kind, case["deadlines"])
    return found[0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def audit(desk: Desk, case_id: str, action: str) -> dict[str, Any]:
    rows = (await desk.p.client.get(f"/v1/cases/{case_id}/audit", headers=desk.as_("admin"))).json()
    return next(r for r in rows if r["action"] == action)


async def test_a_community_problem_is_handled_by_its_grid_workers_and_closed_by_the_community(desk: Desk) -> None:
    case = await desk.file(department="S01-C1-GRID", profile="incident-B", level="community", level_unit="S01-C1")
    cid = case["id"]
    assert (case["level"], case["level_unit"], case["state"]) == ("community", "S01-C1", "dispatched")
    own = clock(case, "level:community")
    assert at(own["start_at"]) == MONDAY_9AM and own["status"] == "active"
    assert at(own["due_at"]) > MONDAY_9AM + timedelta(days=1)  # 2 working days, whatever the profile says

    queue = await desk.p.client.get(
        "/v1/cases", headers=desk.as_(**COMMUNITY), params={"level": "community", "state": ["dispatched"]}
    )
    assert [c["id"] for c in queue.json()["items"]] == [cid]
    await desk.act(cid, "acknowledge", "department", "S01-C1-GRID")
    await desk.act(cid, "handle", "department", "S01-C1-GRID", result="已清理", photos=[PHOTO])
    await desk.act(cid, "verify", "inspector", passed=True, photos=[PHOTO])
    closed = await desk.act(cid, "close", **COMMUNITY)
    assert closed["state"] == "closed"
    mine = clock(closed, "level:community")
    assert mine["status"] == "met" and mine["on_time"] is True
    assert "reported_up" not in await desk.types(cid)


async def test_reported_up_the_1515_clock_keeps_running_and_the_street_limit_starts_at_the_move(desk: Desk) -> None:
    """Clock rules 1, 2 and 4 of workflow/levels.py."""
    case = await desk.file(department="S01-C1-GRID", level="community", level_unit="S01-C1")  # a 12345 ticket
    cid = case["id"]
    handle, first_contact = clock(case, "handle"), clock(case, "first_contact")
    community_due = at(clock(case, "level:community")["due_at"])

    await desk.advance_to(community_due + timedelta(hours=1))  # the community sat on it past its own limit
    moved_at = desk.clock.now()
    up = await desk.act(cid, "report-up", "department", "S01-C1-GRID", reason="涉及违建，社区无执法权")
    assert (up["state"], up["level"], up["level_unit"], up["department_code"]) == ("filed", "street", "S01", None)
    assert clock(up, "handle") == {**handle, **{k: clock(up, "handle")[k] for k in ("elapsed", "traffic_light")}}
    assert clock(up, "first_contact")["due_at"] == first_contact["due_at"]
    left = clock(up, "level:community")
    assert left["status"] == "met" and left["on_time"] is False and at(left["met_at"]) == moved_at
    street = clock(up, "level:street")
    assert at(street["start_at"]) == moved_at and street["status"] == "active"

    events = [e for e in await desk.case_events(cid) if e.type == "cityloop.case.reported_up.v1"]
    assert len(events) == 1
    data = events[0].data
    assert (data["from_level"], data["to_level"], data["from_unit"], data["to_unit"]) == (
        "community",
        "street",
        "S01-C1",
        "S01",
    )
    assert data["reason"] == "涉及违建，社区无执法权"
    assert [(d["kind"], at(d["due_at"])) for d in data["deadlines"]] == [("level:street", at(street["due_at"]))]
    row = await audit(desk, cid, "report_up")
    assert row["reason"] == "涉及违建，社区无执法权" and row["payload"]["left_on_time"] is False
    running = {d["kind"]: at(d["due_at"]) for d in row["payload"]["clocks_running"]}
    assert running["handle"] == at(handle["due_at"]) and "level:street" not in running

    # the street centre dispatches the enforcement squad stationed in it; the 1515 clock still counts from receipt
    dispatched = await desk.act(cid, "dispatch", "dispatcher", "S01", department_code="S01-SQUAD")
    assert clock(dispatched, "handle")["due_at"] == handle["due_at"]
    assert clock(dispatched, "handle")["department_code"] == "S01-SQUAD"
    await desk.act(cid, "acknowledge", "department", "S01-SQUAD")
    handled = await desk.act(cid, "handle", "department", "S01-SQUAD", result="已拆除", photos=[PHOTO])
    assert clock(handled, "level:street")["status"] == "met" and clock(handled, "level:street")["on_time"] is True


async def test_the_district_delegates_down_to_the_community_one_level_at_a_time(desk: Desk) -> None:
    cid = (await desk.file(department="WATER", profile="incident-B"))["id"]
    await desk.act(cid, "delegate", "dispatcher", "S01", expect=403, reason="not yours to move")
    street = await desk.act(cid, "delegate", "dispatcher", reason="街道能解决")
    assert (street["level"], street["level_unit"], street["state"]) == ("street", "S01", "filed")
    assert clock(street, "level:street")["status"] == "active"
    await desk.act(cid, "delegate", **COMMUNITY, expect=403, reason="not yet ours")
    community = await desk.act(cid, "delegate", "dispatcher", "S01", reason="网格员就近处置")
    assert (community["level"], community["level_unit"]) == ("community", "S01-C1")
    assert clock(community, "level:street")["status"] == "met"
    await desk.act(cid, "delegate", **COMMUNITY, expect=409, reason="nowhere lower")
    await desk.act(cid, "dispatch", **COMMUNITY, department_code="S01-C1-GRID")
    assert await desk.types(cid) == ["filed", "dispatched", "delegated", "delegated", "dispatched"]
    delegated = [e.data for e in await desk.case_events(cid) if e.type == "cityloop.case.delegated.v1"]
    assert [(d["from_level"], d["to_level"], d["to_unit"]) for d in delegated] == [
        ("district", "street", "S01"),
        ("street", "community", "S01-C1"),
    ]


async def test_moves_refused_with_the_reason_a_user_can_act_on(desk: Desk) -> None:
    cid = (await desk.file(department="WATER"))["id"]
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/report-up", json={"reason": "too big"}, headers=desk.as_("dispatcher")
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "level"
    r = await desk.p.client.post(f"/v1/cases/{cid}/report-up", json={}, headers=desk.as_("dispatcher"))
    assert r.status_code == 422 and "reason" in r.json()["error"]["field"]
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "handle", "department", "WATER", result="done", photos=[PHOTO])
    r = await desk.p.client.post(f"/v1/cases/{cid}/delegate", json={"reason": "x"}, headers=desk.as_("dispatcher"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "state"
    no_place = await desk.file(department="WATER", street=None)
    r = await desk.p.client.post(
        f"/v1/cases/{no_place['id']}/delegate", json={"reason": "x"}, headers=desk.as_("dispatcher")
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "level"
    assert (await desk.get(no_place["id"]))["level"] == "district"  # nothing half-done


async def test_each_level_sees_only_its_own_place(desk: Desk) -> None:
    """Lists: a community centre sees its community's cases at any level, a street its street's; others none."""
    here = (await desk.file(department="S01-C1-GRID", level="community", level_unit="S01-C1"))["id"]
    district = (await desk.file(department="WATER"))["id"]
    away = (await desk.file(department="S02-C1-GRID", street="S02", level="community", level_unit="S02-C1"))["id"]

    async def ids(role: str, unit: str | None, claim: str | None = None, **params: Any) -> set[str]:
        r = await desk.p.client.get("/v1/cases", headers=desk.as_(role, unit, claim), params=params)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert await ids("dispatcher", "S01-C1", "community") == {here, district}
    assert await ids("dispatcher", "S01-C1", "community", level="community") == {here}
    assert await ids("dispatcher", "S02-C1", "community") == {away}
    assert await ids("dispatcher", "S01") == {here, district}
    assert await ids("dispatcher", "S01", level="street") == set()
    assert await ids("department", "S01-C1-GRID") == {here}
    assert await ids("dispatcher", None, level="community") == {here, away}


async def test_the_street_rates_the_departments_that_handled_its_case_or_answered_its_whistle(desk: Desk) -> None:
    """考核权: the rating is an event carrying the street, the department and the rating."""
    cid = (await desk.file(department="S01-SQUAD", level="street", level_unit="S01"))["id"]
    await desk.act(cid, "whistle", "street", "S01", departments=["ROADS"])
    await desk.act(cid, "rate", "street", "S01", expect=409, department_code="S01-SQUAD", rating="satisfied")
    await desk.act(cid, "acknowledge", "department", "S01-SQUAD")
    await desk.act(cid, "handle", "department", "S01-SQUAD", result="已处置", photos=[PHOTO])
    await desk.act(cid, "rate", "department", "S01-SQUAD", expect=403, department_code="S01-SQUAD", rating="basic")
    await desk.act(cid, "rate", "street", "S02", expect=404, department_code="S01-SQUAD", rating="basic")
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/rate",
        json={"department_code": "PARKS", "rating": "satisfied"},
        headers=desk.as_("street", "S01"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "department_code"
    await desk.act(cid, "rate", "street", "S01", department_code="S01-SQUAD", rating="satisfied", comment="响应快")
    await desk.act(cid, "rate", "street", "S01", department_code="ROADS", rating="unsatisfied")
    rated = [e.data for e in await desk.case_events(cid) if e.type == "cityloop.case.department_rated.v1"]
    assert [(d["street_code"], d["rated_department"], d["rating"]) for d in rated] == [
        ("S01", "S01-SQUAD", "satisfied"),
        ("S01", "ROADS", "unsatisfied"),
    ]
