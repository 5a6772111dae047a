"""Video-AI alerts and IoT alarms: registered sources only, thresholds, repeats, recoveries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.clock import ManualClock
from shared.contracts import parse_as
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived, ReportUpdated
from tests.integration.intake.helpers import T0, b64, intake_env, intake_platform, jpeg

__all__ = ["intake_env"]


def after_the_fact() -> ManualClock:
    return ManualClock(T0 + timedelta(minutes=90))  # every source time the tests send is then in the past


def alert(alert_id: str, minutes: float = 0, **changes: Any) -> dict[str, Any]:
    body = {
        "alert_id": alert_id,
        "camera_id": "CAM-001",
        "algorithm": "street_vending",
        "confidence": 0.91,
        "captured_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    return body | changes


async def test_repeated_alerts_within_the_window_are_one_report_with_a_count(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, clock=after_the_fact()) as p:
        key = p.api_key("video")
        first = await p.client.post("/v1/video/alerts", json=alert("A1", snapshot_base64=b64(jpeg())), headers=key)
        second = await p.client.post("/v1/video/alerts", json=alert("A2", 10), headers=key)
        retried = await p.client.post("/v1/video/alerts", json=alert("A2", 10), headers=key)
        third = await p.client.post("/v1/video/alerts", json=alert("A3", 35), headers=key)
        later = await p.client.post("/v1/video/alerts", json=alert("A4", 80), headers=key)
        await p.drain()
        events = await p.events("reports.received.v1")
    assert [r.status_code for r in (first, second, retried, third, later)] == [202, 200, 200, 200, 202]
    assert [r.json()["status"] for r in (first, second, retried, third)] == [
        "accepted",
        "repeated",
        "repeated",
        "repeated",
    ]
    assert second.json() == retried.json()
    assert third.json()["count"] == 3 and third.json()["report_id"] == first.json()["report_id"]
    assert later.json()["report_id"] != first.json()["report_id"]
    received = [parse_as(e, ReportReceived) for e in events if e.type == "cityloop.report.received.v1"]
    repeats = [parse_as(e, ReportUpdated) for e in events if e.type == "cityloop.report.updated.v1"]
    assert len(received) == 2 and [u.count for u in repeats] == [2, 3]
    report = received[0]
    assert report.category_hint is not None and (report.category_hint.scheme, report.category_hint.code) == (
        "video",
        "street_vending",
    )
    assert report.grid_hint is not None and report.grid_hint.cell_code == "110101001001"
    assert report.photos[0].content_type == "image/jpeg" and report.confidence == 0.91


async def test_low_confidence_is_ignored_and_unknown_sources_refused(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        key = p.api_key("video")
        low = await p.client.post("/v1/video/alerts", json=alert("L1", confidence=0.42), headers=key)
        camera = await p.client.post("/v1/video/alerts", json=alert("L2", camera_id="CAM-999"), headers=key)
        algorithm = await p.client.post("/v1/video/alerts", json=alert("L3", camera_id="CAM-002"), headers=key)
        wrong_client = await p.client.post("/v1/video/alerts", json=alert("L4"), headers=p.api_key("iot"))
        await p.drain()
        events = await p.events("reports.received.v1")
    assert low.status_code == 200 and low.json()["status"] == "ignored" and "threshold 0.70" in low.json()["reason"]
    assert camera.status_code == 422 and camera.json()["error"]["field"] == "camera_id"
    assert algorithm.status_code == 422 and algorithm.json()["error"]["field"] == "algorithm"
    assert wrong_client.status_code == 403
    assert events == []


def alarm(message_id: str, status: str = "alarm", minutes: float = 0, **changes: Any) -> dict[str, Any]:
    body = {
        "message_id": message_id,
        "device_id": "SMK-01",
        "alarm_type": "smoke",
        "status": status,
        "severity": "critical",
        "value": 0.31,
        "unit": "dB/m",
        "at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    return body | changes


async def test_alarm_then_recovery_closes_it_and_the_next_alarm_is_new(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, clock=after_the_fact()) as p:
        key = p.api_key("iot")
        opened = await p.client.post("/v1/iot/alarms", json=alarm("M1"), headers=key)
        again = await p.client.post("/v1/iot/alarms", json=alarm("M2", minutes=1), headers=key)
        recovered = await p.client.post("/v1/iot/alarms", json=alarm("M3", "recovered", 5), headers=key)
        stray = await p.client.post("/v1/iot/alarms", json=alarm("M4", "recovered", 6), headers=key)
        reopened = await p.client.post("/v1/iot/alarms", json=alarm("M5", minutes=30), headers=key)
        unknown = await p.client.post("/v1/iot/alarms", json=alarm("M6", device_id="NOPE"), headers=key)
        mismatch = await p.client.post("/v1/iot/alarms", json=alarm("M7", alarm_type="gas"), headers=key)
        await p.drain()
        events = await p.events("reports.received.v1")
    assert [r.json()["status"] for r in (opened, again, recovered, stray, reopened)] == [
        "accepted",
        "repeated",
        "recovered",
        "ignored",
        "accepted",
    ]
    assert recovered.json()["report_id"] == opened.json()["report_id"] != reopened.json()["report_id"]
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "device_id"
    assert mismatch.status_code == 422 and mismatch.json()["error"]["field"] == "alarm_type"
    kinds = [(e.type.split(".")[2], e.subject) for e in events]
    rid = opened.json()["report_id"]
    assert kinds == [("received", rid), ("updated", rid), ("updated", rid), ("received", reopened.json()["report_id"])]
    report = parse_as(events[0], ReportReceived)
    assert report.severity == "critical" and report.urgency == "urgent"
    assert report.place.point is not None and report.place.point.crs is Crs.WGS84
    assert parse_as(events[2], ReportUpdated).kind == "recovered"
