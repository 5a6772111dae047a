"""The whole platform behind a real HTTP server, driven for a minute by the traffic simulator.

The city clock runs 900 times faster from a Monday morning, so a minute of wall time is fifteen city hours:
enough for reports on every channel to become cases, be worked through the loop (some late, returned,
extended, reworked), for deadlines to warn, pass and escalate, whistles to be blown and answered, and
citizens to be called back; then the scores must show it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
from collections import Counter
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
import yaml

from analytics.definition import SERVICE as ANALYTICS
from intake.definition import SERVICE as INTAKE
from intake.signing import signed_headers
from router.definition import SERVICE as ROUTER
from services.runtime import create_app
from shared.auth import Role
from shared.clock import AcceleratedClock
from shared.taxonomy import Taxonomy
from tests.support.harness import RunningPlatform, running_platform
from tools.simulate import SimulatorHandle, run_simulation, start_in_background
from tools.simulation.reporters import CHANNEL_MIX
from tools.simulation.texts import PROBLEMS, hotline_category
from workflow.definition import SERVICE as WORKFLOW

ROUTER_DATA = Path(__file__).resolve().parents[2] / "router" / "data"
SPEED = 900.0
MONDAY_MORNING = datetime(2025, 11, 24, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
AT_MOST_WALL_S = 110.0
"""Long enough on a loaded 2-core machine; the run ends as soon as every part of the loop has been seen."""
LOOP = (
    "dispatched",
    "acknowledged",
    "handled",
    "verified",
    "closed",
    "deadline_warned",
    "deadline_breached",
    "escalated",
    "whistle_blown",
    "department_checked_in",
    "callback_recorded",
    "first_contact",
)
RATE_PER_MINUTE = 80.0
WECHAT_SAFE_MODE: dict[str, Any] = {
    "wechat_token": "sim-token",
    "wechat_app_id": "wx0123456789abcdef",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.timeout(240)
async def test_a_simulated_day_moves_every_part_of_the_loop(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYLOOP_SIMULATOR_SEED", "7")
    monkeypatch.setenv("CITYLOOP_SIMULATOR_SUMMARY_EVERY_S", "15")
    clock = AcceleratedClock(SPEED, start=MONDAY_MORNING)
    async with running_platform(
        pg_url,
        [INTAKE, ROUTER, WORKFLOW, ANALYTICS],
        clock=clock,
        clock_speed=SPEED,
        media_dir=tmp_path / "media",
        poll_interval_s=0.1,
        hotline_replay_window_s=3600,
        **WECHAT_SAFE_MODE,
    ) as p:
        app = create_app(p.platform, manage_lifecycle=False)
        port = free_port()
        start_in_background(app, f"http://0.0.0.0:{port}", p.settings, RATE_PER_MINUTE)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve())
        own_report = await file_a_ticket_by_hand(p, app.state.simulator)
        cases, routing = await until_every_part_of_the_loop_happened(p, AT_MOST_WALL_S)
        handle: SimulatorHandle = app.state.simulator
        handle.stop.set()  # before the server goes: a shutdown cuts the simulator's requests short
        assert handle.task is not None
        await asyncio.wait_for(handle.task, 30)
        server.should_exit = True
        await serving
        stats = handle.stats
        print(stats.summary(), dict(stats.error_samples))
        broken = {s: n for s, n in stats.errors.items() if s not in ("409", "422")}
        assert not broken, f"the platform failed requests: {broken} {stats.error_samples}"

        received = Counter(
            e.data["channel"] for e in await p.events("reports.received.v1") if e.type == "cityloop.report.received.v1"
        )
        assert set(received) == set(CHANNEL_MIX), f"reports came in on every channel: {dict(received)}"

        print(dict(received), dict(cases), dict(routing))
        assert cases["dispatched"] >= 20
        assert routing["merged"] >= 1, "a problem reported twice nearby is merged"
        assert routing["manual"] and routing["decided by hand"], "reports no rule could decide are dispatched by hand"
        missing = [happened for happened in LOOP if not cases[happened]]
        assert not missing, f"nothing was {', '.join(missing)}: {dict(cases)}"

        with suppress(TimeoutError):  # timers keep firing at this speed: let analytics catch up, at most a while
            await p.drain(timeout_s=15)
        answer = await p.client.get("/v1/kpis", headers=p.auth(Role.SUPERVISOR))
        assert answer.status_code == 200, answer.text
        scores = answer.json()["rows"][0]["scores"]
        print({name: s["value"] for name, s in scores.items()})
        assert scores["cases"]["value"] >= 20
        assert scores["escalations"]["value"] >= 1
        rates = {name: s["value"] for name, s in scores.items() if name.endswith("_rate") and s["value"] is not None}
        assert {"response_rate", "on_time_handling_rate", "satisfaction_rate"} <= set(rates)
        assert any(0 < v < 1 for v in rates.values()), f"some rate is neither 0 nor 100 %: {rates}"

        mine = (await p.client.get(f"/v1/reports/{own_report}", headers=p.auth(Role.DISPATCHER))).json()
        assert mine["case"]["state"] == "dispatched", "the simulator leaves a case it did not report to its people"


async def file_a_ticket_by_hand(p: RunningPlatform, simulator: SimulatorHandle) -> str:
    """A person files a ticket once the simulator runs, as the README's walkthrough does."""
    while not simulator.stats.reports:
        await asyncio.sleep(0.2)
    body = json.dumps(
        {
            "ticket_no": "BY-HAND-1",
            "call_time": MONDAY_MORNING.isoformat(),
            "hotline_class": "general",
            "content": "草河北路12号门口有人占道经营摆摊卖水果，影响行人通行",
            "address": "草河北路12号",
            "caller": {"name": "王女士", "phone": "13800138000"},
        },
        ensure_ascii=False,
    ).encode()
    headers = signed_headers(p.settings.hotline_hmac_secret.get_secret_value(), body, datetime.now(UTC))
    answer = await p.client.post("/v1/hotline/tickets", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    report_id: str = answer.json()["report_id"]
    return report_id


async def until_every_part_of_the_loop_happened(
    p: RunningPlatform,
    at_most_s: float,
) -> tuple[Counter[str], Counter[str]]:
    """Case and routing events by kind, once every kind of `LOOP`, a merge and a manual dispatch have been
    seen among a few dozen cases (or the time is up)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + at_most_s
    while True:
        await asyncio.sleep(5)
        cases = Counter(e.type.split(".")[2] for e in await p.events("cases.v1"))
        routed = await p.events("routing.decided.v1")
        routing = Counter(e.type.split(".")[2] + (" by hand" if e.data.get("decided_by") else "") for e in routed)
        seen = all(cases[kind] for kind in LOOP) and routing["merged"] and routing["decided by hand"]
        if (seen and cases["dispatched"] > 30) or loop.time() > give_up:
            return cases, routing


# -- reproducibility, against a stand-in platform ------------------------------------------------------------

TIME_FIELDS = frozenset({"call_time", "occurred_at", "captured_at", "at"})
_RUN_TAG = re.compile(r"^S\d+-\d{12}-")


class StandIn:
    """Answers like the platform would and records every report, keyed by its id without the run tag."""

    def __init__(self) -> None:
        self.reports: dict[tuple[str, str], Any] = {}
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        fixed: dict[str, Any] = {
            "/v1/clock": {"now": "2025-11-24T08:30:00+08:00", "speed": SPEED},
            "/v1/auth/token": {"access_token": "token"},
            "/v1/cases": {"items": [], "limit": 100, "offset": 0, "next_offset": None},
            "/v1/dispatch/queue": {"items": [], "waiting": 0},
            "/open311/v2/services.json": [
                {"service_code": "pothole", "service_name": "道路破损 Pothole", "metadata": False}
            ],
        }
        if path in fixed:
            return httpx.Response(200, json=fixed[path])
        self.count += 1
        report_id = f"R20251124{self.count:06d}"
        if path == "/v1/wechat/callback":
            xml = re.sub(r"<CreateTime>\d+</CreateTime>", "", request.content.decode())
            self.reports[("wechat", re.findall(r"<MsgId>(\d+)</MsgId>", xml)[0])] = xml
            return httpx.Response(200, text="success")
        if path.startswith("/open311/"):
            form = dict(parse_qsl(request.content.decode()))
            self.reports[("open311", form["device_id"])] = form
            return httpx.Response(201, json=[{"service_request_id": report_id}])
        if path == "/v1/patrol/reports":
            self.reports[("patrol", _untagged(request.headers["Idempotency-Key"]))] = _multipart(request)
        else:
            body = json.loads(request.content)
            key = body.get("ticket_no") or body.get("update_id") or body.get("alert_id") or body.get("message_id")
            self.reports[(path, _untagged(key))] = {k: v for k, v in body.items() if k not in TIME_FIELDS}
        return httpx.Response(202, json={"report_id": report_id, "status": "accepted"})


def _untagged(key: str) -> str:
    return _RUN_TAG.sub("", key)


def _multipart(request: httpx.Request) -> dict[str, list[str]]:
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    parts: dict[str, list[str]] = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = chunk[2:-2].partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        assert name is not None
        is_file = b"filename=" in head
        if name.group(1) != b"occurred_at":
            parts.setdefault(name.group(1).decode(), []).append(
                hashlib.sha256(body).hexdigest() if is_file else body.decode()
            )
    return parts


async def simulate_against_stand_in(seed: int) -> dict[tuple[str, str], Any]:
    stand_in = StandIn()
    await run_simulation(
        "http://platform.test",
        rate_per_minute=900,
        seed=seed,
        duration_s=2.5,
        api_keys={"video": "kv", "iot": "ki", "open311": "ko", "hotline": "kh"},
        hotline_secret="secret",
        wechat_token="token",
        wechat_aes_key="",
        wechat_app_id="",
        transport=httpx.MockTransport(stand_in),
    )
    return stand_in.reports


async def test_the_same_seed_sends_the_same_reports() -> None:
    first, again, other = [await simulate_against_stand_in(s) for s in (3, 3, 4)]
    common = first.keys() & again.keys()
    assert len(common) >= 15, "both runs got through a few dozen reports"
    assert {channel for channel, _ in common} >= {"/v1/hotline/tickets", "patrol"}
    assert all(first[k] == again[k] for k in common), "same seed, same reports in every detail"
    hotline = [k for k in first.keys() & other.keys() if k[0] == "/v1/hotline/tickets"]
    assert hotline and any(first[k] != other[k] for k in hotline), "another seed, another city"


def test_every_simulated_problem_is_a_class_the_router_knows() -> None:
    taxonomy = Taxonomy.load()
    unknown = [p.category_id for p in PROBLEMS if p.category_id not in taxonomy]
    assert not unknown, f"the simulator reports problems of classes the taxonomy lacks: {unknown}"
    mapping = yaml.safe_load((ROUTER_DATA / "hotline_mapping.yaml").read_text(encoding="utf-8"))
    sent = {c["name"] for p in PROBLEMS if (c := hotline_category(p)) is not None}
    assert sent and sent <= set(mapping["schemes"]["hotline"]), "hotline categories are leaves of the 12345 tree"
