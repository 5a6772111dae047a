"""The router alone on a real database and bus: reports in, decisions out, the queue and the rules admin."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from router.definition import SERVICE
from router.service import RouterService
from shared.clock import ManualClock
from shared.contracts import Envelope
from shared.contracts.cases import CaseClosed, CaseFiled
from shared.contracts.common import CategoryRef, Channel, Contract, Crs, GridRef, Location, Place, Reporter
from shared.contracts.reports import ReportReceived, ReportUpdated
from tests.support.harness import RunningPlatform, running_platform

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10AM = datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
ROAD = (116.394467, 39.928105)  # 草河北路, street 110199011, in the demo gazetteer
RULES_FILE = Path(__file__).resolve().parents[3] / "router" / "data" / "rules.yaml"


def report(
    text: str,
    *,
    point: tuple[float, float] | None = ROAD,
    report_id: str | None = None,
    received_at: datetime = MONDAY_10AM,
    **extra: Any,
) -> ReportReceived:
    place = Place(point=Location(lon=point[0], lat=point[1], crs=Crs.WGS84)) if point else Place()
    return ReportReceived(
        report_id=report_id or f"r-{uuid.uuid4().hex[:10]}",
        channel=extra.pop("channel", Channel.PATROL),
        reporter=Reporter(kind="inspector", id="insp-1"),
        text=text,
        place=place,
        received_at=received_at,
        **extra,
    )


@pytest.fixture
async def p(pg_url: str) -> AsyncIterator[RunningPlatform]:
    async with running_platform(pg_url, [SERVICE], clock=ManualClock(MONDAY_10AM)) as platform:
        yield platform


async def send(p: RunningPlatform, *reports: ReportReceived) -> list[Envelope]:
    for r in reports:
        await p.publish(r, subject=r.report_id)
    await p.drain()
    return await p.events("routing.decided.v1")


def of(events: list[Envelope], report_id: str) -> list[Envelope]:
    return [e for e in events if e.data["report_id"] == report_id]


async def test_report_is_routed_with_the_rule_that_fired(p: RunningPlatform) -> None:
    r = report("巡查发现草河北路路灯井盖丢失了", category_hint=CategoryRef(scheme="taxonomy", code="C0106"))
    [event] = of(await send(p, r), r.report_id)
    assert event.type == "cityloop.routing.decided.v1"
    assert event.subject == r.report_id
    assert event.data["category"]["code"] == "C0106"
    assert event.data["department_code"] == "SZ"
    assert event.data["grid"]["street_code"] == "110199011"
    assert event.data["rule"]["rule_id"] == "manhole-cover-missing"
    assert event.data["rule"]["ruleset_version"] == 1
    assert event.data["priority"] == "urgent"


async def test_same_report_published_twice_is_decided_once(p: RunningPlatform) -> None:
    r = report("草河北路路灯不亮了")
    events = await send(p, r, r)
    assert len(of(events, r.report_id)) == 1


async def test_duplicate_joins_open_case_until_it_closes(p: RunningPlatform) -> None:
    first = report("草河北路的雨水箅子丢了", category_hint=CategoryRef(scheme="taxonomy", code="C0104"))
    second = report(
        "草河北路雨水篦子丢了",
        point=(ROAD[0] + 0.00005, ROAD[1]),
        category_hint=CategoryRef(scheme="taxonomy", code="C0104"),
        received_at=MONDAY_10AM + timedelta(hours=3),
    )
    events = await send(p, first)
    await p.publish(
        CaseFiled(
            case_id="case-1",
            case_no="DC1",
            state="filed",
            version=1,
            at=MONDAY_10AM,
            report_id=first.report_id,
            channel=Channel.PATROL,
            category=CategoryRef(scheme="taxonomy", code="C0104"),
            category_kind="component",
            grid=GridRef(),
            priority="urgent",
            deadline_profile="urgent-2h",
            received_at=MONDAY_10AM,
        ),
        subject="case-1",
    )
    await p.drain()  # the case is filed before the duplicate arrives (topics are not ordered with each other)
    [merged] = of(await send(p, second), second.report_id)
    assert merged.type == "cityloop.routing.merged.v1"
    assert merged.data["primary_report_id"] == first.report_id
    assert merged.data["distance_m"] < 15
    assert "case-1" in merged.data["reason"]

    await p.publish(
        CaseClosed(
            case_id="case-1",
            case_no="DC1",
            state="closed",
            version=5,
            at=MONDAY_10AM + timedelta(hours=4),
            report_ids=[first.report_id],
        ),
        subject="case-1",
    )
    await p.drain()
    third = report(
        "草河北路雨水箅子又丢了",
        category_hint=CategoryRef(scheme="taxonomy", code="C0104"),
        received_at=MONDAY_10AM + timedelta(hours=5),
    )
    [again] = of(await send(p, third), third.report_id)
    assert again.type == "cityloop.routing.decided.v1", "a closed case takes no more reports"
    assert len(of(events, first.report_id)) == 1


async def test_near_duplicates_decided_at_the_same_moment_make_one_case(p: RunningPlatform) -> None:
    """Two consumers (partitions, replicas) each take one of two reports of one problem at the same time."""
    hint = CategoryRef(scheme="taxonomy", code="C0104")
    first = report("草河北路的雨水箅子丢了", category_hint=hint)
    second = report("草河北路雨水篦子丢了", point=(ROAD[0] + 0.00005, ROAD[1]), category_hint=hint)
    rt, emitted = p.runtime("router"), []
    router: RouterService = rt.services["router"]

    async def emit(event: Contract) -> None:
        emitted.append(event)

    async with rt.transaction() as one:
        await router.handle_report(one, emit, first, MONDAY_10AM)
        async with rt.transaction() as other:
            racing = asyncio.create_task(router.handle_report(other, emit, second, MONDAY_10AM))
            await asyncio.sleep(0.5)
            assert not racing.done(), "the second decision waits for the first to commit"
            await one.commit()
            await racing
    assert [type(e).__name__ for e in emitted] == ["RoutingDecided", "ReportMerged"]
    assert emitted[1].primary_report_id == first.report_id


async def test_near_duplicates_in_one_batch_make_one_case(p: RunningPlatform) -> None:
    """A batch is looked up before any of it is decided: a duplicate of a report earlier in the same batch
    still merges into it, and a report delivered twice in the batch is decided once."""
    hint = CategoryRef(scheme="taxonomy", code="C0104")
    first = report("草河北路的雨水箅子丢了", category_hint=hint)
    second = report("草河北路雨水篦子丢了", point=(ROAD[0] + 0.00005, ROAD[1]), category_hint=hint)
    rt, emitted = p.runtime("router"), []
    router: RouterService = rt.services["router"]

    async def emit(event: Contract) -> None:
        emitted.append(event)

    async with rt.transaction() as session:
        await router.prepare(session, [first, second, first], MONDAY_10AM)
        for r in (first, second, first):
            await router.handle_report(session, emit, r, MONDAY_10AM)
        await session.commit()
    assert [type(e).__name__ for e in emitted] == ["RoutingDecided", "ReportMerged"]
    assert emitted[1].primary_report_id == first.report_id
    later = report("草河北路雨水箅子还是丢的", category_hint=hint, received_at=MONDAY_10AM + timedelta(hours=1))
    [merged] = of(await send(p, later), later.report_id)
    assert merged.data["primary_report_id"] == first.report_id, "the batch's primary was stored at commit"


async def test_unclassifiable_report_waits_for_a_dispatcher_who_decides_by_hand(p: RunningPlatform) -> None:
    r = report("你好，我想咨询一下社保缴费的政策", channel=Channel.HOTLINE, point=None)
    [manual] = of(await send(p, r), r.report_id)
    assert manual.type == "cityloop.routing.manual.v1"

    alice, bob = p.auth("dispatcher", subject="alice"), p.auth("dispatcher", subject="bob")
    page = (await p.client.get("/v1/dispatch/queue", headers=alice)).json()
    assert [i["report_id"] for i in page["items"]] == [r.report_id]
    assert page["waiting"] == 1

    assert (await p.client.post(f"/v1/dispatch/queue/{r.report_id}/claim", headers=alice)).status_code == 200
    taken = await p.client.post(f"/v1/dispatch/queue/{r.report_id}/claim", headers=bob)
    assert taken.status_code == 409
    assert taken.json()["error"]["field"] == "report_id"

    decision = {
        "category": "I0606",
        "department": "JD110199011",
        "deadline_profile": "1515-general",
        "reason": "物业问题，转街道",
        "cell_code": "110199011003003",
    }
    bad = await p.client.post(
        f"/v1/dispatch/queue/{r.report_id}/dispatch", headers=alice, json={**decision, "department": "NOPE"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "department"
    nowhere = await p.client.post(
        f"/v1/dispatch/queue/{r.report_id}/dispatch",
        headers=alice,
        json={k: v for k, v in decision.items() if k != "cell_code"},
    )
    assert nowhere.status_code == 422 and nowhere.json()["error"]["field"] == "cell_code"
    done = await p.client.post(f"/v1/dispatch/queue/{r.report_id}/dispatch", headers=alice, json=decision)
    assert done.status_code == 200, done.text
    await p.drain()
    decided = of(await p.events("routing.decided.v1"), r.report_id)[-1]
    assert decided.type == "cityloop.routing.decided.v1"
    assert decided.data["decided_by"] == {"id": "alice", "role": "dispatcher"}
    assert decided.data["rule"]["rule_id"] == "manual-dispatch"
    assert decided.data["grid"]["cell_code"] == "110199011003003"
    again = await p.client.post(f"/v1/dispatch/queue/{r.report_id}/dispatch", headers=alice, json=decision)
    assert again.status_code == 409
    assert (await p.client.get("/v1/dispatch/queue", headers=alice)).json()["items"] == []


async def test_withdrawn_report_leaves_the_queue(p: RunningPlatform) -> None:
    r = report("咨询一下孩子上学报名需要什么手续", channel=Channel.HOTLINE, point=None)
    await send(p, r)
    await p.publish(
        ReportUpdated(report_id=r.report_id, kind="withdrawn", at=MONDAY_10AM + timedelta(minutes=5)),
        subject=r.report_id,
    )
    await p.drain()
    headers = p.auth("dispatcher")
    assert (await p.client.get("/v1/dispatch/queue", headers=headers)).json()["items"] == []
    item = (await p.client.get(f"/v1/dispatch/queue/{r.report_id}", headers=headers)).json()
    assert item["status"] == "withdrawn"


async def test_rule_change_is_validated_versioned_audited_and_in_force_at_once(p: RunningPlatform) -> None:
    admin = p.auth("supervisor", subject="sup-zhang")
    current = (await p.client.get("/v1/routing/rules", headers=admin)).json()
    assert current["version"] == 1

    broken = current["yaml"].replace("precedence: 650", "precedence: sixfifty")
    refused = await p.client.put("/v1/routing/rules", headers=admin, json={"yaml": broken})
    assert refused.status_code == 422
    [problem] = refused.json()["error"]["problems"]
    assert problem["line"] == broken.splitlines().index("    precedence: sixfifty") + 1
    assert problem["field"].endswith("precedence")
    assert (await p.client.get("/v1/routing/rules", headers=admin)).json()["version"] == 1

    changed = current["yaml"].replace("department: CGZF, priority: high", "department: CGW, priority: high")
    saved = await p.client.put(
        "/v1/routing/rules", headers=admin, json={"yaml": changed, "comment": "夜间施工交城管委", "expected_version": 1}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    stale = await p.client.put("/v1/routing/rules", headers=admin, json={"yaml": changed, "expected_version": 1})
    assert stale.status_code == 409

    [v2, v1] = (await p.client.get("/v1/routing/rules/history", headers=admin)).json()
    assert (v2["version"], v2["created_by"], v2["comment"]) == (2, "sup-zhang", "夜间施工交城管委")
    assert "-    then: {department: CGZF" in v2["diff"] and "+    then: {department: CGW" in v2["diff"]
    assert v1["created_by"] == "system"

    late = MONDAY_10AM + timedelta(hours=13)
    p.platform.clock.set(late)  # type: ignore[attr-defined]
    night = report("草河北路工地夜间施工噪音太大，吵得睡不着", channel=Channel.HOTLINE, received_at=late)
    [event] = of(await send(p, night), night.report_id)
    assert event.data["rule"]["rule_id"] == "night-construction-noise"
    assert (event.data["department_code"], event.data["rule"]["ruleset_version"]) == ("CGW", 2)


async def test_malformed_rules_file_is_refused_with_file_and_line(
    p: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = p.runtime("router").services["router"]
    bad = tmp_path / "rules.yaml"
    text = RULES_FILE.read_text(encoding="utf-8").replace(
        "deadline_profile: 1515-general}", "deadline_profile: 1515-generous}"
    )
    bad.write_text(text, encoding="utf-8")
    monkeypatch.setattr(svc.settings, "rules_path", bad)
    r = await p.client.post("/v1/routing/rules/reload", headers=p.auth("admin"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "rules_path"
    [problem] = error["problems"]
    assert problem["file"] == str(bad)
    assert problem["line"] == next(i for i, line in enumerate(text.splitlines(), 1) if "1515-generous" in line)
    assert "unknown deadline profile '1515-generous'" in problem["reason"]
    assert svc.rules.version == 1
    assert (await p.client.get("/v1/routing/rules", headers=p.auth("admin"))).json()["version"] == 1


async def test_dry_run_shows_proposed_rules_without_publishing(p: RunningPlatform) -> None:
    headers = p.auth("dispatcher")
    body = {
        "report": {
            "channel": "hotline",
            "reporter": {"kind": "citizen"},
            "text": "草河北路有人占道经营摆摊卖水果",
            "place": {"address": "草河北路"},
            "hotline_class": "general",
        }
    }
    now = (await p.client.post("/v1/routing/dry-run", headers=headers, json=body)).json()
    assert now["outcome"] == "routed" and now["rule_id"] == "hotline-general"
    proposed = (await p.client.get("/v1/routing/rules", headers=headers)).json()["yaml"] + (
        "  - id: vending-first\n    precedence: 999\n    description: vendors first\n"
        "    when: {categories: [I0508, I0501]}\n    then: {priority: urgent}\n"
    )
    then = (await p.client.post("/v1/routing/dry-run", headers=headers, json={**body, "rules_yaml": proposed})).json()
    assert then["rule_id"] == "vending-first" and then["event"]["priority"] == "urgent"
    assert then["ruleset_version"] == 2
    bad = await p.client.post("/v1/routing/dry-run", headers=headers, json={**body, "rules_yaml": "rules: [\n"})
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["file"] == "proposed rules"
    await p.drain()
    assert await p.events("routing.decided.v1") == []


async def test_roles_guard_the_queue_and_the_rules(p: RunningPlatform) -> None:
    assert (await p.client.get("/v1/dispatch/queue", headers=p.auth("inspector"))).status_code == 403
    assert (await p.client.get("/v1/dispatch/queue")).status_code == 401
    put = await p.client.put("/v1/routing/rules", headers=p.auth("dispatcher"), json={"yaml": "name: x\n"})
    assert put.status_code == 403
    missing = await p.client.post("/v1/dispatch/queue/nope/claim", headers=p.auth("dispatcher"))
    assert missing.status_code == 404
