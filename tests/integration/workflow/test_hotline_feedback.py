"""12345 result feedback (办理结果) end to end: a real uvicorn receiver stands in for the hotline system, and
the signatures are checked with intake's own verifier of inbound tickets (the same scheme both ways)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from intake.signing import verify
from services.pgserver import free_port
from shared.contracts.common import Channel, Reporter
from shared.contracts.routing import ReportMerged, RoutedReport
from tests.integration.workflow.conftest import DEPARTMENTS, MONDAY_9AM, Desk, routing_decided
from tests.integration.workflow.test_webhooks import _desk
from tests.support.webhook_receiver import Receiver

SECRET = "dev-only-hotline-secret"
PHOTO = {"uri": "/v1/media/" + "b" * 64 + ".jpg", "sha256": "b" * 64}


@pytest.fixture
def hotline(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path / "hotline", free_port())
    r.mode("ok")
    r.start()
    try:
        yield r
    finally:
        r.kill()


@pytest.fixture
async def desk(pg_url: str, monkeypatch: pytest.MonkeyPatch, hotline: Receiver) -> AsyncIterator[Desk]:
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    monkeypatch.setenv("CITYLOOP_WEBHOOK_HOTLINE_CALLBACK_URL", hotline.url)
    monkeypatch.setenv("CITYLOOP_WEBHOOK_PUBLIC_BASE_URL", "https://cityloop.example.gov.cn")
    monkeypatch.setenv("CITYLOOP_WEBHOOK_TIMEOUT_S", "3")
    async for d in _desk(pg_url):
        yield d


def feedback(hotline: Receiver) -> list[dict[str, Any]]:
    """What the hotline received, each signature checked as intake checks an inbound ticket."""
    out = []
    for d in hotline.received():
        h = d["headers"]
        verify(
            SECRET,
            h["x-hotline-timestamp"],
            h["x-hotline-signature"],
            d["body"].encode(),
            now=datetime.now(UTC),
            window_s=300,
        )
        out.append({**json.loads(d["body"]), "_id": h["x-feedback-id"], "_mode": d["mode"]})
    return out


async def file_hotline_case(desk: Desk) -> tuple[str, str]:
    body = routing_decided()
    body = body.model_copy(update={"report": body.report.model_copy(update={"external_id": "T-1001"})})
    await desk.p.publish(body, subject=body.report_id)
    await desk.p.drain()
    cases = (await desk.p.client.get("/v1/cases", headers=desk.as_("admin"))).json()["items"]
    cid = next(c["id"] for c in cases if body.report_id in c["report_ids"])
    merged = ReportMerged(
        report_id="r-merged",
        primary_report_id=body.report_id,
        reason="same leak",
        report=RoutedReport(
            channel=Channel.HOTLINE, external_id="T-1002", reporter=Reporter(kind="citizen"), received_at=MONDAY_9AM
        ),
    )
    await desk.p.publish(merged, subject=merged.report_id)
    await desk.p.drain()
    return cid, body.report_id


async def test_every_ticket_of_a_hotline_case_hears_each_step_with_its_result(desk: Desk, hotline: Receiver) -> None:
    cid, primary = await file_hotline_case(desk)
    assert hotline.received() == [], "filing and dispatch are not results"
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.act(cid, "handle", "department", "WATER", result="更换阀门，已恢复供水", photos=[PHOTO])
    await desk.act(cid, "verify", "inspector", passed=True, photos=[PHOTO])
    await desk.act(cid, "close", "dispatcher")
    await desk.p.drain()

    got = feedback(hotline)
    by_ticket: dict[str, list[str]] = {}
    for f in got:
        by_ticket.setdefault(f["ticket_no"], []).append(f["status"])
    assert by_ticket == {
        "T-1001": ["acknowledged", "handled", "closed"],
        "T-1002": ["acknowledged", "handled", "closed"],
    }
    handled = next(f for f in got if f["status"] == "handled" and f["ticket_no"] == "T-1002")
    assert handled["result"] == "更换阀门，已恢复供水" and handled["merged"] is True
    assert handled["department_code"] == "WATER" and handled["case_no"].startswith("DC2025")
    assert handled["photos"] == ["https://cityloop.example.gov.cn" + PHOTO["uri"]]
    assert handled["received_at"] == "2025-03-03T09:00:00+08:00" and handled["event_at"].endswith("+08:00")
    closed = next(f for f in got if f["status"] == "closed" and f["report_id"] == primary)
    assert closed["result"] == "更换阀门，已恢复供水" and closed["closed_at"].endswith("+08:00")

    ack = await desk.p.client.post(f"/v1/hotline/feedback/{closed['_id']}/ack", headers=desk.p.api_key("hotline"))
    assert ack.status_code == 200 and ack.json()["delivery_status"] == "delivered"
    again = await desk.p.client.post(f"/v1/hotline/feedback/{closed['_id']}/ack", headers=desk.p.api_key("hotline"))
    assert again.json()["acknowledged_at"] == ack.json()["acknowledged_at"]
    pending = (await desk.p.client.get("/v1/hotline/feedback", headers=desk.p.api_key("hotline"))).json()
    assert len(pending) == 5 and closed["feedback_id"] not in {p["feedback_id"] for p in pending}
    other = await desk.p.client.post(f"/v1/hotline/feedback/{closed['_id']}/ack", headers=desk.p.api_key("video"))
    assert other.status_code == 403
    missing = await desk.p.client.post("/v1/hotline/feedback/nope:r-1/ack", headers=desk.p.api_key("hotline"))
    assert missing.status_code == 404


async def test_returns_extensions_and_reopening_reach_the_hotline_and_failures_are_retried(
    desk: Desk, hotline: Receiver
) -> None:
    cid, _ = await file_hotline_case(desk)
    hotline.mode("500")
    await desk.act(cid, "return", "department", "WATER", reason="不属于本单位职责")
    await desk.act(cid, "dispatch", "dispatcher", department_code="ROADS")
    await desk.act(cid, "acknowledge", "department", "ROADS")
    await desk.act(cid, "extension", "department", "ROADS", days=3, reason="需协调施工")
    await desk.act(cid, "extension/grant", "dispatcher")
    await desk.p.drain()
    assert {f["_mode"] for f in feedback(hotline)} == {"500"}

    hotline.mode("ok")
    for _ in range(8):
        await desk.advance(timedelta(minutes=10))
    ok = [f for f in feedback(hotline) if f["_mode"] == "ok"]
    statuses = [f["status"] for f in ok if f["ticket_no"] == "T-1001"]
    assert statuses == ["returned", "acknowledged", "extended"]
    returned = next(f for f in ok if f["status"] == "returned")
    assert returned["result"] == "不属于本单位职责" and returned["department_code"] == "WATER"
    extended = next(f for f in ok if f["status"] == "extended")
    assert extended["handle_due_at"] and extended["handle_due_at"].endswith("+08:00")

    await desk.act(cid, "handle", "department", "ROADS", result="已修复", photos=[PHOTO])
    await desk.act(cid, "verify", "inspector", passed=True, photos=[PHOTO])
    await desk.act(cid, "close", "dispatcher")
    await desk.act(cid, "callback", "dispatcher", satisfaction="unsatisfied", reopen=True, comment="路面又塌了")
    await desk.p.drain()
    later = [f for f in feedback(hotline) if f["_mode"] == "ok" and f["ticket_no"] == "T-1002"]
    assert [f["status"] for f in later] == ["returned", "acknowledged", "extended", "handled", "closed", "reopened"]
    assert later[-1]["result"] == "路面又塌了"


async def test_a_merged_complex_ticket_hears_its_own_class_and_due(desk: Desk, hotline: Receiver) -> None:
    body = routing_decided()
    body = body.model_copy(update={"report": body.report.model_copy(update={"external_id": "T-7001"})})
    await desk.p.publish(body, subject=body.report_id)
    await desk.p.drain()
    cases = (await desk.p.client.get("/v1/cases", headers=desk.as_("admin"))).json()["items"]
    cid = next(c["id"] for c in cases if body.report_id in c["report_ids"])
    merged = ReportMerged(
        report_id="r-complex",
        primary_report_id=body.report_id,
        reason="same problem",
        deadline_profile="1515-complex",
        hotline_class="complex",
        report=RoutedReport(
            channel=Channel.HOTLINE, external_id="T-7002", reporter=Reporter(kind="citizen"), received_at=MONDAY_9AM
        ),
    )
    await desk.p.publish(merged, subject=merged.report_id)
    await desk.p.drain()
    await desk.act(cid, "acknowledge", "department", "WATER")
    await desk.p.drain()
    got = {f["ticket_no"]: f for f in feedback(hotline)}
    assert got["T-7002"]["hotline_class"] == "complex"
    assert got["T-7002"]["ticket_due_at"] == "2025-03-24T18:00:00+08:00"  # 15 working days of its own
    assert got["T-7001"]["ticket_due_at"] is None and got["T-7001"]["merged"] is False
