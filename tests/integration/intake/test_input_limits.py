"""Ranges and limits on what channels send: event times, body sizes, photos, request rates."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from tests.integration.intake.helpers import (
    T0,
    b64,
    intake_env,
    intake_platform,
    jpeg,
    png,
    post_ticket,
    signed,
    ticket,
)

__all__ = ["intake_env"]
PATROL = {"category_code": "0102", "lon": "116.4342", "lat": "39.9405", "description": "路边暴露垃圾"}


def iso(at: datetime) -> str:
    return at.isoformat()


def video(alert_id: str, at: datetime, **extra: object) -> dict[str, object]:
    return {
        "alert_id": alert_id,
        "camera_id": "CAM-001",
        "algorithm": "street_vending",
        "confidence": 0.91,
        "captured_at": iso(at),
        **extra,
    }


def iot(message_id: str, at: datetime) -> dict[str, object]:
    return {"message_id": message_id, "device_id": "SMK-01", "alarm_type": "smoke", "at": iso(at)}


# --- event times ------------------------------------------------------------------------------------------------


async def test_event_times_outside_each_channels_window_are_422_naming_the_field(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        wrong = (
            ("1900", "1900-01-01T00:00:00+08:00"),
            ("2100", "2100-01-01T00:00:00+08:00"),
            ("31d", iso(T0 - timedelta(days=31))),
            ("ahead", iso(T0 + timedelta(minutes=10))),
        )
        hotline = {label: await post_ticket(p, ticket(f"T-{label}", call_time=when)) for label, when in wrong}
        backfill = await post_ticket(p, ticket("T-29d", call_time=iso(T0 - timedelta(days=29))))
        key_v, key_i = p.api_key("video"), p.api_key("iot")
        old_video = await p.client.post("/v1/video/alerts", json=video("A1", T0 - timedelta(days=3)), headers=key_v)
        fresh_video = await p.client.post("/v1/video/alerts", json=video("A2", T0 - timedelta(hours=1)), headers=key_v)
        future_iot = await p.client.post(
            "/v1/iot/alarms", json=iot("M1", datetime(2100, 1, 1, tzinfo=T0.tzinfo)), headers=key_i
        )
        old_iot = await p.client.post(
            "/v1/iot/alarms", json=iot("M2", datetime(1900, 1, 1, tzinfo=T0.tzinfo)), headers=key_i
        )
        inspector = p.auth("inspector", subject="insp-1")
        stale_patrol = await p.client.post(
            "/v1/patrol/reports", data={**PATROL, "occurred_at": iso(T0 - timedelta(days=8))}, headers=inspector
        )
        await p.drain()
        events = await p.events("reports.received.v1")
    for label, answer in hotline.items():
        assert answer.status_code == 422, label
        assert answer.json()["error"]["field"] == "call_time", label
    assert backfill.status_code == 202  # the hotline may backfill up to 30 days
    assert (old_video.status_code, old_video.json()["error"]["field"]) == (422, "captured_at")
    assert fresh_video.status_code == 202
    assert (future_iot.status_code, future_iot.json()["error"]["field"]) == (422, "at")
    assert (old_iot.status_code, old_iot.json()["error"]["field"]) == (422, "at")
    assert (stale_patrol.status_code, stale_patrol.json()["error"]["field"]) == (422, "occurred_at")
    assert "outside" in old_video.json()["error"]["reason"]
    assert len(events) == 2  # only the two in range were accepted


# --- body sizes -------------------------------------------------------------------------------------------------


async def test_oversized_bodies_are_413_before_they_are_parsed(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, max_body_bytes=64 * 1024) as p:
        huge = ticket(content="摊" * (2 * 1024 * 1024))  # ~6 MB of JSON
        raw, headers = signed(huge, T0)
        declared = await p.client.post("/v1/hotline/tickets", content=raw, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * 4096  # 160 KB without a Content-Length

        chunked = await p.client.post(
            "/v1/hotline/tickets", content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        token = await p.client.post(
            "/v1/auth/token",
            content=b"username=" + b"a" * 70_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        small = await post_ticket(p, ticket())
        await p.drain()
        events = await p.events("reports.received.v1")
    assert declared.status_code == 413 and declared.json()["error"]["field"] == "body"
    assert declared.json()["error"]["code"] == "too_large"
    assert chunked.status_code == 413
    assert token.status_code == 413
    assert small.status_code == 202 and len(events) == 1


async def test_multipart_uploads_have_their_own_larger_limit(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, max_body_bytes=1024, max_upload_bytes=64 * 1024) as p:
        inspector = p.auth("inspector", subject="insp-1")
        fits = await p.client.post(
            "/v1/patrol/reports",
            data=PATROL,
            headers=inspector,
            files=[("photos", ("a.jpg", jpeg(b"\0" * 8000), "image/jpeg"))],
        )
        too_big = await p.client.post(
            "/v1/patrol/reports",
            data=PATROL,
            headers=inspector,
            files=[("photos", ("a.jpg", jpeg(b"\0" * 80_000), "image/jpeg"))],
        )
    assert fits.status_code == 202, fits.text
    assert too_big.status_code == 413 and too_big.json()["error"]["field"] == "body"


# --- photos -----------------------------------------------------------------------------------------------------


def fake_png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\0" * 2000  # the signature, then nothing a decoder can read


def big_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (side, side)).save(out, format="PNG")  # a flat image compresses to almost nothing
    return out.getvalue()


async def test_photos_are_decoded_and_limited_in_pixels(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, max_photo_pixels=100_000) as p:
        inspector = p.auth("inspector", subject="insp-1")

        async def patrol(data: bytes, name: str = "a.png") -> tuple[int, str | None]:
            r = await p.client.post(
                "/v1/patrol/reports", data=PATROL, headers=inspector, files=[("photos", (name, data, "image/png"))]
            )
            return r.status_code, r.json().get("error", {}).get("field")

        fake = await patrol(fake_png())
        truncated = await patrol(png()[:-20])
        bomb = big_png(2000)  # 4 million pixels in a few kilobytes
        too_many_pixels = await patrol(bomb)
        fine = await patrol(big_png(300))
        snapshot = await p.client.post(
            "/v1/video/alerts", json=video("A1", T0, snapshot_base64=b64(fake_png())), headers=p.api_key("video")
        )
        await p.drain()
        events = await p.events("reports.received.v1")
    assert len(bomb) < 20_000
    assert fake == (415, "photos[0]")
    assert truncated == (415, "photos[0]")
    assert too_many_pixels == (413, "photos[0]")
    assert fine[0] == 202
    assert (snapshot.status_code, snapshot.json()["error"]["field"]) == (415, "snapshot_base64")
    assert len(events) == 1


# --- rate limits ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory://"])
async def test_each_api_client_and_user_has_its_own_rate_limit(pg_url: str, intake_env: Path, storage: str) -> None:
    async with intake_platform(
        pg_url, intake_env, rate_limit_storage=storage, rate_limit_client="3/minute", rate_limit_user="2/minute"
    ) as p:
        video_key, iot_key = p.api_key("video"), p.api_key("iot")
        videos = [await p.client.post("/v1/video/alerts", json=video(f"A{i}", T0), headers=video_key) for i in range(4)]
        other_client = await p.client.post("/v1/iot/alarms", json=iot("M1", T0), headers=iot_key)
        alice = p.auth("dispatcher", subject="alice")
        reads = [await p.client.get("/v1/reports/R20250310000001", headers=alice) for _ in range(3)]
        bob = await p.client.get("/v1/reports/R20250310000001", headers=p.auth("dispatcher", subject="bob"))
    assert [r.status_code for r in videos] == [202, 200, 200, 429]
    limited = videos[-1]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limited" and limited.json()["error"]["field"] == "X-API-Key"
    assert other_client.status_code == 202
    assert [r.status_code for r in reads][-1] == 429 and reads[-1].json()["error"]["field"] == "Authorization"
    assert bob.status_code != 429


async def test_the_hotline_webhook_and_sign_in_have_their_own_limits(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, rate_limit_hotline="2/minute", rate_limit_login="2/minute") as p:
        tickets = [await post_ticket(p, ticket(f"T-{i}"), now=T0 + timedelta(seconds=i)) for i in range(3)]
        logins = [
            await p.client.post("/v1/auth/token", data={"username": "mallory", "password": "guess"}) for _ in range(3)
        ]
        other_user = await p.client.post("/v1/auth/token", data={"username": "alice", "password": "guess"})
    assert [t.status_code for t in tickets] == [202, 202, 429]
    assert int(tickets[-1].headers["Retry-After"]) > 0
    assert [r.status_code for r in logins] == [401, 401, 429]
    assert logins[-1].json()["error"]["field"] == "username"
    assert other_user.status_code == 401
