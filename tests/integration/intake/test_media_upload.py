"""Photos for case commands: the people who work a case upload them first, then send the answers as `photos`."""

from __future__ import annotations

from pathlib import Path

from tests.integration.intake.helpers import intake_env, intake_platform, jpeg, png

__all__ = ["intake_env"]


async def test_a_department_uploads_a_photo_and_staff_can_fetch_it(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        headers = p.auth("department", "CGZF")
        files = [("photos", ("after.png", png(), "image/png")), ("photos", ("b.jpg", jpeg(), "image/jpeg"))]
        first = await p.client.post("/v1/media", files=files, headers=headers)
        again = await p.client.post("/v1/media", files=files[:1], headers=p.auth("inspector"))
        fetched = await p.client.get(first.json()[0]["uri"], headers=p.auth("dispatcher"))
        events = await p.events("reports.received.v1")
    assert first.status_code == 201, first.text
    assert [ph["content_type"] for ph in first.json()] == ["image/png", "image/jpeg"]
    assert again.json()[0]["uri"] == first.json()[0]["uri"], "the same file is stored once"
    assert fetched.status_code == 200 and fetched.content == png()
    assert events == [], "an upload is not a report"


async def test_uploads_are_checked_and_need_a_person(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, max_photo_bytes=1024) as p:
        one = [("photos", ("a.png", png(), "image/png"))]
        anonymous = await p.client.post("/v1/media", files=one)
        system = await p.client.post("/v1/media", files=one, headers=p.api_key("hotline"))
        gif = await p.client.post(
            "/v1/media",
            headers=p.auth("department", "CGZF"),
            files=[("photos", ("x.png", b"GIF89a" + b"\x00" * 40, "image/png"))],
        )
        big = await p.client.post(
            "/v1/media",
            headers=p.auth("department", "CGZF"),
            files=[("photos", ("x.jpg", jpeg(b"\x00" * 2000), "image/jpeg"))],
        )
        none = await p.client.post("/v1/media", headers=p.auth("department", "CGZF"))
    assert (anonymous.status_code, system.status_code) == (401, 403)
    assert gif.status_code == 415 and gif.json()["error"]["field"] == "photos[0]"
    assert big.status_code == 413 and big.json()["error"]["field"] == "photos[0]"
    assert none.status_code == 422 and none.json()["error"]["field"] == "photos"
