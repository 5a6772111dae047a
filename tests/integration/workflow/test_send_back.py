"""退单: a 12345 ticket outside the district's remit goes back to the city platform, and the hotline hears why
through the 12345 result feedback channel."""

from __future__ import annotations

from tests.integration.workflow.conftest import Desk
from tests.integration.workflow.test_hotline_feedback import desk, feedback, file_hotline_case, hotline  # noqa: F401
from tests.support.webhook_receiver import Receiver

REASON = "该地址属于邻区管辖，不属本区职责"


async def test_a_ticket_sent_back_stops_every_clock_and_each_ticket_hears_the_reason(
    desk: Desk,  # noqa: F811
    hotline: Receiver,  # noqa: F811
) -> None:
    cid, _ = await file_hotline_case(desk)
    r = await desk.p.client.post(
        f"/v1/cases/{cid}/send-back", json={"reason": REASON}, headers=desk.as_("department", "WATER")
    )
    assert r.status_code == 403
    back = await desk.act(cid, "send-back", "dispatcher", reason=REASON)
    assert back["state"] == "withdrawn"
    assert {d["status"] for d in back["deadlines"]} == {"cancelled"}
    assert back["allowed_actions"] == []
    events = [e for e in await desk.case_events(cid) if e.type == "cityloop.case.sent_back.v1"]
    assert [(e.data["reason"], sorted(e.data["ticket_nos"])) for e in events] == [(REASON, ["T-1001", "T-1002"])]
    await desk.p.drain()
    sent = {f["ticket_no"]: f for f in feedback(hotline) if f["status"] == "sent_back"}
    assert set(sent) == {"T-1001", "T-1002"}
    assert sent["T-1001"]["result"] == REASON and sent["T-1002"]["merged"] is True


async def test_only_the_district_sends_back_and_only_12345_tickets(desk: Desk) -> None:  # noqa: F811
    patrol = (await desk.file(channel="patrol", profile="incident-B"))["id"]
    r = await desk.p.client.post(f"/v1/cases/{patrol}/send-back", json={"reason": "x"}, headers=desk.as_("dispatcher"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "channel"
    ticket = (await desk.file())["id"]
    await desk.act(ticket, "delegate", "dispatcher", reason="街道处置")
    await desk.act(ticket, "send-back", "dispatcher", "S01", expect=409, reason="不归我们")
    await desk.act(ticket, "report-up", "dispatcher", "S01", reason="不属本区职责，请区里退单")
    assert (await desk.act(ticket, "send-back", "dispatcher", reason="不属本区职责"))["state"] == "withdrawn"
