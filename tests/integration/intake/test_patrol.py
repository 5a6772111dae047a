"""Patrol app: inspector token, multipart photos, offline reports, idempotent retries."""

from __future__ import annotations

from pathlib import Path

from shared.contracts import parse_as
from shared.contracts.reports import ReportReceived
from tests.integration.intake.helpers import intake_env, intake_platform, jpeg, png

__all__ = ["intake_env"]
FORM = {
    "category_code": "0102",
    "lon": "116.4342",
    "lat": "39.9405",
    "description": "路边暴露垃圾",
    "occurred_at": "2025-03-09T16:20:00+08:00",
}


async def test_offline_report_keeps_its_time_and_a_retry_is_not_duplicated(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        headers = {**p.auth("inspector", subject="insp-7"), "Idempotency-Key": "app-42"}
        files = [("photos", ("a.jpg", jpeg(), "image/jpeg")), ("photos", ("b.png", png(), "image/png"))]
        first = await p.client.post("/v1/patrol/reports", data=FORM, files=files, headers=headers)
        retry = await p.client.post("/v1/patrol/reports", data=FORM, files=files, headers=headers)
        changed = await p.client.post(
            "/v1/patrol/reports", data={**FORM, "description": "别的"}, files=files, headers=headers
        )
        await p.drain()
        events = await p.events("reports.received.v1")
        photo = await p.client.get(parse_as(events[0], ReportReceived).photos[1].uri, headers=p.auth("dispatcher"))
    assert (first.status_code, retry.status_code, changed.status_code) == (202, 200, 409)
    assert retry.json()["report_id"] == first.json()["report_id"]
    assert changed.json()["error"]["field"] == "Idempotency-Key"
    report = parse_as(events[0], ReportReceived)
    assert len(events) == 1
    assert report.occurred_at is not None and report.occurred_at.isoformat() == "2025-03-09T16:20:00+08:00"
    assert report.received_at > report.occurred_at
    assert [ph.content_type for ph in report.photos] == ["image/jpeg", "image/png"]
    assert report.reporter.id == "insp-7"
    assert photo.status_code == 200 and photo.content == png()


async def test_photos_are_checked_by_content_and_size(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, max_photo_bytes=1024) as p:
        headers = p.auth("inspector")
        gif = await p.client.post(
            "/v1/patrol/reports",
            data=FORM,
            headers=headers,
            files=[("photos", ("x.jpg", b"GIF89a" + b"\x00" * 40, "image/jpeg"))],
        )
        big = await p.client.post(
            "/v1/patrol/reports",
            data=FORM,
            headers=headers,
            files=[("photos", ("x.jpg", jpeg(b"\x00" * 2000), "image/jpeg"))],
        )
        await p.drain()
        events = await p.events("reports.received.v1")
    assert gif.status_code == 415 and gif.json()["error"]["field"] == "photos[0]"
    assert big.status_code == 413 and big.json()["error"]["field"] == "photos[0]"
    assert events == []


async def test_only_inspectors_may_report(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        anonymous = await p.client.post("/v1/patrol/reports", data=FORM)
        dispatcher = await p.client.post("/v1/patrol/reports", data=FORM, headers=p.auth("dispatcher"))
        future = await p.client.post(
            "/v1/patrol/reports", data={**FORM, "occurred_at": "2030-01-01T00:00:00Z"}, headers=p.auth("inspector")
        )
        bad_lat = await p.client.post("/v1/patrol/reports", data={**FORM, "lat": "91"}, headers=p.auth("inspector"))
    assert (anonymous.status_code, dispatcher.status_code) == (401, 403)
    assert future.status_code == 422 and future.json()["error"]["field"] == "occurred_at"
    assert bad_lat.status_code == 422 and bad_lat.json()["error"]["field"] == "lat"
