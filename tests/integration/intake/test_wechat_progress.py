"""WeChat progress messages through wechatpy's client, against a fake WeChat API server run by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from services.pgserver import free_port
from shared.clock import ManualClock
from shared.contracts.cases import CaseClosed, CaseDispatched, CaseHandled
from tests.integration.intake.helpers import T0, intake_env, intake_platform
from tests.integration.intake.test_status import case, filed
from tests.integration.intake.test_wechat import USER, WeChatServer, message, safe_mode

__all__ = ["intake_env"]


class FakeWeChat:
    """The two WeChat API calls wechatpy makes: a token, then customer-service messages with it."""

    def __init__(self) -> None:
        self.tokens = 0
        self.sent: list[dict[str, Any]] = []
        self.mode = "ok"  # ok | expire-once | down
        self.app = FastAPI()

        @self.app.get("/cgi-bin/token")
        async def token(appid: str, secret: str) -> dict[str, Any]:
            assert secret == "app-secret"
            self.tokens += 1
            return {"access_token": f"TOKEN-{self.tokens}", "expires_in": 7200}

        @self.app.post("/cgi-bin/message/custom/send")
        async def send(access_token: str, request: Request) -> Any:
            if self.mode == "down":
                from fastapi.responses import PlainTextResponse

                return PlainTextResponse("bad gateway", status_code=502)
            if self.mode == "expire-once" and access_token == "TOKEN-1":
                self.mode = "ok"
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            self.sent.append({"token": access_token, **(await request.json())})
            return {"errcode": 0, "errmsg": "ok"}


@asynccontextmanager
async def fake_wechat() -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake, port = FakeWeChat(), free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield fake, f"http://127.0.0.1:{port}/cgi-bin/"
    finally:
        server.should_exit = True
        await task


async def wait_for(predicate: Any, timeout_s: float = 20) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_wechat_citizen_hears_each_step_with_the_case_number(
    pg_url: str, intake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_wechat() as (fake, base):
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_APP_SECRET", "app-secret")
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_API_BASE_URL", base)
        fake.mode = "expire-once"
        async with intake_platform(pg_url, intake_env, **safe_mode()) as p:
            wx = WeChatServer(p)
            opened = wx.reply_text(await wx.push(message("text", 2001, Content="井盖丢失")))
            report_id = opened.split("上报编号 ")[1].split("。")[0]
            await wx.push(message("location", 2002, Location_X="39.94", Location_Y="116.42", Scale="16", Label="x"))
            await wx.push(message("text", 2003, Content="提交"))
            await p.drain()
            await p.publish(filed(report_id), subject="C-1")
            await p.publish(case(CaseDispatched, 2, "dispatched", department_code="SZ-01"), subject="C-1")
            await p.publish(
                case(CaseHandled, 3, "handled", department_code="SZ-01", result="已更换井盖"), subject="C-1"
            )
            await p.publish(case(CaseClosed, 4, "closed", report_ids=[report_id]), subject="C-1")
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 4)
    texts = [m["text"]["content"] for m in fake.sent]
    assert all(m["touser"] == USER and m["msgtype"] == "text" for m in fake.sent)
    assert [t.split("DC2025-0001")[0] for t in texts] == ["您反映的问题已受理，案件编号 ", "案件 ", "案件 ", "案件 "]
    assert "SZ-01" in texts[1] and "已更换井盖" in texts[2] and "已结案" in texts[3]
    assert fake.tokens == 2, "one token, cached, and one fresh one after WeChat said it expired"
    assert {m["token"] for m in fake.sent} == {"TOKEN-2"}


async def test_wechat_being_down_never_blocks_the_case(
    pg_url: str, intake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_wechat() as (fake, base):
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_APP_SECRET", "app-secret")
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_API_BASE_URL", base)
        fake.mode = "down"
        clock = ManualClock(T0)
        async with intake_platform(pg_url, intake_env, clock=clock, **safe_mode()) as p:
            wx = WeChatServer(p)
            opened = wx.reply_text(await wx.push(message("text", 3001, Content="路灯不亮")))
            report_id = opened.split("上报编号 ")[1].split("。")[0]
            await wx.push(message("location", 3002, Location_X="39.94", Location_Y="116.42", Scale="16", Label="x"))
            await wx.push(message("text", 3003, Content="提交"))
            await p.drain()
            await p.publish(filed(report_id), subject="C-1")
            await p.publish(case(CaseDispatched, 2, "dispatched", department_code="SZ-01"), subject="C-1")
            await p.drain()
            status = (await p.client.get(f"/v1/reports/{report_id}", headers=p.auth("dispatcher"))).json()
            assert status["case"]["state"] == "dispatched"
            fake.mode = "ok"
            clock.advance(timedelta(hours=1))  # past the backoff of the failed attempts
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 2)
    assert [m["text"]["content"][:2] for m in fake.sent] == ["您反", "案件"]
