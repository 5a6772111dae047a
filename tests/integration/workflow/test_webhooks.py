"""Webhook subscriptions end to end: the workflow on a real database, a real uvicorn receiver in its own
process, signatures checked with the `standardwebhooks` reference library (not with our code)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.pgserver import free_port
from shared.clock import ManualClock
from shared.contracts.common import Channel
from tests.integration.workflow.conftest import DEPARTMENTS, MONDAY_9AM, Desk
from tests.support.harness import running_platform
from tests.support.webhook_receiver import Receiver
from workflow.definition import SERVICE

ALL = [
    "case.filed",
    "case.dispatched",
    "case.handled",
    "case.closed",
    "case.reopened",
    "case.returned",
    "case.escalated",
    "report.queued",
    "report.merged",
]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path / "receiver", free_port())
    r.mode("ok")
    r.start()
    try:
        yield r
    finally:
        r.kill()


def _platform_env(monkeypatch: pytest.MonkeyPatch, **webhook: str) -> None:
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    monkeypatch.setenv("CITYLOOP_WEBHOOK_ALLOW_NETWORKS", '["127.0.0.1/32"]')
    monkeypatch.setenv("CITYLOOP_WEBHOOK_TIMEOUT_S", "3")
    monkeypatch.setenv("CITYLOOP_WEBHOOK_LEASE_S", "5")
    for key, value in webhook.items():
        monkeypatch.setenv(f"CITYLOOP_WEBHOOK_{key.upper()}", value)


async def _desk(pg_url: str) -> AsyncIterator[Desk]:
    clock = ManualClock(MONDAY_9AM)
    async with running_platform(pg_url, [SERVICE], clock=clock) as p:
        yield Desk(p, clock)
        for name, task in p.platform.tasks.items():
            if ":worker:" in name:
                task.cancel()


@pytest.fixture
async def hooks(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    _platform_env(monkeypatch)
    async for desk in _desk(pg_url):
        yield desk


async def subscribe(
    desk: Desk,
    url: str,
    events: list[str] | None = None,
    *,
    role: str = "integrator",
    subject: str = "city-portal",
    expect: int = 201,
    **filters: Any,
) -> dict[str, Any]:
    r = await desk.p.client.post(
        "/v1/subscriptions",
        json={"url": url, "event_types": events or ALL, "filters": filters},
        headers=desk.p.auth(role, subject=subject),
    )
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


def verified(received: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    """The CloudEvents of deliveries whose signature the reference library accepts (raises otherwise)."""
    return [Webhook(secret).verify(d["body"], d["headers"]) for d in received]


async def wait_received(receiver: Receiver, n: int, timeout_s: float = 20) -> list[dict[str, Any]]:
    import asyncio

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = receiver.received()
        if len(got) >= n:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"the receiver got {len(receiver.received())} deliveries, expected {n}")


async def test_deliveries_are_signed_cloudevents_in_order_per_case(hooks: Desk, receiver: Receiver) -> None:
    sub = await subscribe(hooks, receiver.url)
    assert sub["secret"].startswith("whsec_")
    cid = (await hooks.file())["id"]
    await hooks.act(cid, "acknowledge", "department", "WATER")
    await hooks.act(cid, "handle", "department", "WATER", result="valve replaced")
    await hooks.act(cid, "verify", "inspector", passed=True, photos=[{"uri": "media://p/1.jpg", "sha256": "a" * 64}])
    await hooks.act(cid, "close", "dispatcher")
    await hooks.p.drain()

    events = verified(receiver.received(), sub["secret"])
    assert [e["type"] for e in events] == [
        f"cityloop.case.{t}.v1" for t in ("filed", "dispatched", "handled", "closed")
    ]
    assert all(e["specversion"] == "1.0" and e["subject"] == cid for e in events)
    first = receiver.received()[0]
    assert first["headers"]["webhook-id"] == events[0]["id"]
    assert first["headers"]["content-type"].startswith("application/cloudevents+json")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(first["body"], first["headers"])

    log = (
        await hooks.p.client.get(
            f"/v1/subscriptions/{sub['id']}/deliveries", headers=hooks.p.auth("integrator", subject="city-portal")
        )
    ).json()
    assert [d["status"] for d in log["items"]] == ["delivered"] * 4
    one = (
        await hooks.p.client.get(
            f"/v1/subscriptions/{sub['id']}/deliveries/{log['items'][0]['id']}",
            headers=hooks.p.auth("integrator", subject="city-portal"),
        )
    ).json()
    assert [(a["attempt"], a["status_code"]) for a in one["attempt_log"]] == [(1, 204)]


async def test_a_receiver_killed_mid_stream_loses_nothing_and_a_redelivery_keeps_its_webhook_id(
    hooks: Desk, receiver: Receiver
) -> None:
    sub = await subscribe(hooks, receiver.url, ["case.filed", "case.dispatched", "case.handled"])
    first = [(await hooks.file())["id"] for _ in range(3)]  # 6 deliveries while the receiver is up
    assert len(receiver.received()) == 6

    receiver.mode("die:2")  # the 2nd request after a restart is recorded, then the process dies unanswered
    receiver.kill()
    receiver.start()
    for cid in first:
        await hooks.act(cid, "acknowledge", "department", "WATER")
        await hooks.act(cid, "handle", "department", "WATER", result="fixed")
    await hooks.p.drain()
    receiver.wait_exit()
    more = [(await hooks.file())["id"] for _ in range(2)]  # while the receiver is down
    await hooks.p.drain()

    receiver.mode("ok")
    receiver.start()
    for _ in range(12):  # backoff runs on the city clock: an hour is enough for the first attempts' waits
        await hooks.advance(timedelta(minutes=5))
    await hooks.p.drain()

    got = receiver.received()
    events = verified(got, sub["secret"])
    ids = [d["headers"]["webhook-id"] for d in got]
    assert len(set(ids)) == 6 + 3 + 4, "every event arrived"
    died = [d for d in got if d["mode"] == "die:2"][-1]  # recorded, then the receiver died unanswered
    redelivered = [d for d in got if d["headers"]["webhook-id"] == died["headers"]["webhook-id"]]
    assert len(redelivered) == 2 and redelivered[0]["body"] == redelivered[1]["body"]
    for cid in first + more:  # first arrivals of each case stay in the order of its versions
        seen: dict[str, int] = {}
        for e in events:
            if e["subject"] == cid:
                seen.setdefault(e["id"], e["data"]["version"])
        assert list(seen.values()) == sorted(seen.values()), cid
    log = (
        await hooks.p.client.get(
            f"/v1/subscriptions/{sub['id']}/deliveries",
            params={"limit": 100},
            headers=hooks.p.auth("integrator", subject="city-portal"),
        )
    ).json()
    assert {d["status"] for d in log["items"]} == {"delivered"} and len(log["items"]) == 13


async def test_a_receiver_answering_500_for_an_hour_gets_everything_once_it_recovers(
    hooks: Desk, receiver: Receiver
) -> None:
    sub = await subscribe(hooks, receiver.url, ["case.filed", "case.dispatched"])
    receiver.mode("500")
    cases = [(await hooks.file())["id"] for _ in range(4)]
    for _ in range(12):
        await hooks.advance(timedelta(minutes=5))
    failed = receiver.received()
    assert failed and {d["mode"] for d in failed} == {"500"}
    assert {d["headers"]["webhook-id"] for d in failed} < {e.id for c in cases for e in await hooks.case_events(c)}

    receiver.mode("ok")
    await hooks.advance(timedelta(hours=1))  # the longest backoff (cap) has passed
    await hooks.advance(timedelta(minutes=1))
    ok = [d for d in receiver.received() if d["mode"] == "ok"]
    expected = [
        e.id for c in cases for e in await hooks.case_events(c) if e.type.endswith(("filed.v1", "dispatched.v1"))
    ]
    assert sorted(d["headers"]["webhook-id"] for d in ok) == sorted(expected)
    verified(ok, sub["secret"])
    log = (
        await hooks.p.client.get(
            f"/v1/subscriptions/{sub['id']}/deliveries/1", headers=hooks.p.auth("integrator", subject="city-portal")
        )
    ).json()
    codes = [a["status_code"] for a in log["attempt_log"]]
    assert codes[-1] == 204 and set(codes[:-1]) == {500} and len(codes) >= 6


async def test_deliveries_that_fail_every_attempt_go_to_the_dead_letters_and_replay_with_the_same_id(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    _platform_env(monkeypatch, max_attempts="3", backoff_base_s="60", backoff_cap_s="60")
    async for desk in _desk(pg_url):
        sub = await subscribe(desk, receiver.url, ["case.filed"])
        receiver.mode("500")
        cid = (await desk.file())["id"]
        for _ in range(4):
            await desk.advance(timedelta(minutes=1))
        assert len(receiver.received()) == 3
        who = desk.p.auth("integrator", subject="city-portal")
        dead = (await desk.p.client.get(f"/v1/subscriptions/{sub['id']}/dead-letters", headers=who)).json()
        assert [(d["status"], d["attempts"], d["last_status"]) for d in dead["items"]] == [("dead", 3, 500)]

        receiver.mode("ok")
        await desk.advance(timedelta(hours=2))
        assert len(receiver.received()) == 3, "a dead delivery is not retried by itself"
        other = await desk.p.client.post(
            f"/v1/subscriptions/{sub['id']}/dead-letters/replay",
            headers=desk.p.auth("integrator", subject="someone-else"),
        )
        assert other.status_code == 404
        r = await desk.p.client.post(f"/v1/subscriptions/{sub['id']}/dead-letters/replay", headers=who)
        assert r.json() == {"replayed": 1}
        await desk.p.drain()
        got = receiver.received()
        assert len(got) == 4 and got[-1]["mode"] == "ok"
        assert {d["headers"]["webhook-id"] for d in got} == {dead["items"][0]["webhook_id"]}
        assert verified(got[-1:], sub["secret"])[0]["subject"] == cid


async def test_a_rotated_secret_and_the_previous_one_both_verify_during_the_window_only(
    hooks: Desk, receiver: Receiver
) -> None:
    sub = await subscribe(hooks, receiver.url, ["case.filed"])
    who = hooks.p.auth("integrator", subject="city-portal")
    rotated = (
        await hooks.p.client.post(f"/v1/subscriptions/{sub['id']}/rotate-secret", json={"window_s": 3600}, headers=who)
    ).json()
    assert rotated["secret"] != sub["secret"] and rotated["previous_secret_until"]
    await hooks.file()
    during = receiver.received()[-1]
    verified([during], sub["secret"])
    verified([during], rotated["secret"])

    await hooks.advance(timedelta(hours=1, seconds=1))
    await hooks.file()
    after = receiver.received()[-1]
    verified([after], rotated["secret"])
    with pytest.raises(WebhookVerificationError):
        verified([after], sub["secret"])
    listed = (await hooks.p.client.get("/v1/subscriptions", headers=who)).json()
    assert [s["id"] for s in listed] == [sub["id"]] and listed[0]["secret"] is None


async def test_filters_choose_department_street_and_channel(hooks: Desk, receiver: Receiver) -> None:
    water = await subscribe(hooks, receiver.url + "?f=water", ["case.filed", "case.returned"], department_code="WATER")
    street = await subscribe(hooks, receiver.url + "?f=street", ["case.filed"], street_code="S02")
    wechat = await subscribe(hooks, receiver.url + "?f=wechat", ["case.filed"], channel="wechat")
    a = (await hooks.file(department="WATER", street="S01"))["id"]
    b = (await hooks.file(department="ROADS", street="S02", channel=Channel.WECHAT))["id"]
    await hooks.act(a, "return", "department", "WATER", reason="not ours")
    await hooks.p.drain()
    who = hooks.p.auth("integrator", subject="city-portal")

    async def subjects(sub: dict[str, Any]) -> list[tuple[str, str]]:
        log = (await hooks.p.client.get(f"/v1/subscriptions/{sub['id']}/deliveries", headers=who)).json()
        return sorted((d["subject"], d["event_type"].split(".")[2]) for d in log["items"])

    assert await subjects(water) == sorted([(a, "filed"), (a, "returned")])
    assert await subjects(street) == [(b, "filed")]
    assert await subjects(wechat) == [(b, "filed")]
    assert len(receiver.received()) == 4


async def test_only_admins_and_integrators_manage_their_own_subscriptions(hooks: Desk, receiver: Receiver) -> None:
    await subscribe(hooks, receiver.url, role="dispatcher", expect=403)
    mine = await subscribe(hooks, receiver.url, subject="portal-a")
    theirs = await subscribe(hooks, receiver.url, subject="portal-b")
    a = hooks.p.auth("integrator", subject="portal-a")
    assert [s["id"] for s in (await hooks.p.client.get("/v1/subscriptions", headers=a)).json()] == [mine["id"]]
    assert (await hooks.p.client.get(f"/v1/subscriptions/{theirs['id']}", headers=a)).status_code == 404
    admin = (await hooks.p.client.get("/v1/subscriptions", headers=hooks.p.auth("admin"))).json()
    assert {s["id"] for s in admin} == {mine["id"], theirs["id"]}
    bad = await hooks.p.client.post(
        "/v1/subscriptions", json={"url": receiver.url, "event_types": ["case.lost"]}, headers=a
    )
    assert bad.status_code == 422 and "event_types" in bad.text

    assert (await hooks.p.client.delete(f"/v1/subscriptions/{mine['id']}", headers=a)).status_code == 204
    await hooks.file()
    assert (await hooks.p.client.get(f"/v1/subscriptions/{mine['id']}", headers=a)).status_code == 404
    assert len(receiver.received()) == 2, "only the remaining subscription got filed and dispatched"


async def test_loopback_private_and_link_local_receivers_are_refused_unless_allowed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    async for desk in _desk(pg_url):
        for url in (
            "http://127.0.0.1:9/hooks",
            "http://localhost/hooks",
            "http://169.254.169.254/latest",
            "http://10.1.2.3/x",
            "http://[::1]/x",
            "http://192.168.0.1/x",
            "ftp://example.com/x",
            "http://user:pw@example.com/x",
        ):
            r = await desk.p.client.post(
                "/v1/subscriptions", json={"url": url, "event_types": ["case.filed"]}, headers=desk.p.auth("admin")
            )
            assert r.status_code == 422, url
            assert r.json()["error"]["field"] == "url", r.text


async def test_a_slow_receiver_never_slows_the_case_pipeline(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    _platform_env(monkeypatch, timeout_s="30")
    import asyncio

    async for desk in _desk(pg_url):
        await subscribe(desk, receiver.url, ["case.filed", "case.dispatched"])
        receiver.mode("slow:20")
        from tests.integration.workflow.conftest import routing_decided

        started = time.monotonic()
        bodies = [routing_decided() for _ in range(10)]
        for body in bodies:
            await desk.p.publish(body, subject=body.report_id)
        while True:
            r = await desk.p.client.get("/v1/cases", headers=desk.as_("admin"), params={"limit": 200})
            if len(r.json()["items"]) == 10 and all(c["state"] == "dispatched" for c in r.json()["items"]):
                break
            assert time.monotonic() - started < 10, "filing waited for the receiver"
            await asyncio.sleep(0.05)
        cid = r.json()["items"][0]["id"]
        t0 = time.monotonic()
        await desk.act(cid, "acknowledge", "department", "WATER")
        assert time.monotonic() - t0 < 2
        await wait_received(receiver, 10)  # sends are in flight meanwhile, in parallel (one per case)
        assert time.monotonic() - started < 15
