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
from sqlalchemy import text

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
        self.mode = "ok"  # ok | expire-once | down | out-of-time (customer-service messages refused: 45015)
        self.app = FastAPI()

        @self.app.post("/cgi-bin/message/template/send")
        async def template(access_token: str, request: Request) -> Any:
            body = await request.json()
            if body.get("template_id") != "TPL-progress":
                return {"errcode": 40037, "errmsg": "invalid template_id"}
            self.sent.append({"token": access_token, "msgtype": "template", **body})
            return {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}

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
            if self.mode == "out-of-time":
                return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
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


async def test_after_48_hours_of_silence_progress_goes_as_a_template_message(
    pg_url: str, intake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_wechat() as (fake, base):
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_APP_SECRET", "app-secret")
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_API_BASE_URL", base)
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_PROGRESS_TEMPLATE_ID", "TPL-progress")
        clock = ManualClock(T0)
        async with intake_platform(pg_url, intake_env, clock=clock, **safe_mode()) as p:
            wx = WeChatServer(p)
            opened = wx.reply_text(await wx.push(message("text", 4001, Content="井盖丢失")))
            report_id = opened.split("上报编号 ")[1].split("。")[0]
            await wx.push(message("location", 4002, Location_X="39.94", Location_Y="116.42", Scale="16", Label="x"))
            await wx.push(message("text", 4003, Content="提交"))
            await p.drain()
            await p.publish(filed(report_id), subject="C-1")  # within the window: a customer-service message
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 1)

            clock.advance(timedelta(hours=48, minutes=1))  # the citizen has been silent for 48 h
            await p.publish(case(CaseDispatched, 2, "dispatched", department_code="SZ-01"), subject="C-1")
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 2)

            await wx.push(message("text", 4004, Content="取消"))  # the citizen writes again: the window reopens
            await p.publish(
                case(CaseHandled, 3, "handled", department_code="SZ-01", result="已更换井盖"), subject="C-1"
            )
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 3)

            fake.mode = "out-of-time"  # WeChat's record of the window disagrees with ours: template at once
            await p.publish(case(CaseClosed, 4, "closed", report_ids=[report_id]), subject="C-1")
            await p.drain()
            await wait_for(lambda: len(fake.sent) == 4)
    assert [m["msgtype"] for m in fake.sent] == ["text", "template", "text", "template"]
    dispatched, closed = fake.sent[1], fake.sent[3]
    assert dispatched["touser"] == USER and dispatched["template_id"] == "TPL-progress"
    assert dispatched["data"]["keyword1"]["value"] == "DC2025-0001"
    assert dispatched["data"]["keyword2"]["value"] == "已派遣" and "SZ-01" in dispatched["data"]["first"]["value"]
    assert closed["data"]["keyword2"]["value"] == "已结案"


async def test_without_a_template_progress_after_the_window_fails_visibly_and_the_case_moves_on(
    pg_url: str, intake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_wechat() as (fake, base):
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_APP_SECRET", "app-secret")
        monkeypatch.setenv("CITYLOOP_INTAKE_WECHAT_API_BASE_URL", base)
        clock = ManualClock(T0)
        async with intake_platform(pg_url, intake_env, clock=clock, **safe_mode()) as p:
            wx = WeChatServer(p)
            opened = wx.reply_text(await wx.push(message("text", 5001, Content="路灯不亮")))
            report_id = opened.split("上报编号 ")[1].split("。")[0]
            await wx.push(message("location", 5002, Location_X="39.94", Location_Y="116.42", Scale="16", Label="x"))
            await wx.push(message("text", 5003, Content="提交"))
            await p.drain()
            clock.advance(timedelta(days=3))
            await p.publish(filed(report_id), subject="C-1")
            await p.drain()
            async with p.runtime("intake").engine.connect() as conn:
                for _ in range(400):
                    row = (
                        await conn.execute(text("SELECT status, attempts, last_error FROM intake.wechat_progress"))
                    ).one()
                    if row.attempts:
                        break
                    await asyncio.sleep(0.05)
            status = (await p.client.get(f"/v1/reports/{report_id}", headers=p.auth("dispatcher"))).json()
    assert fake.sent == []
    assert row.status == "pending" and "CITYLOOP_INTAKE_WECHAT_PROGRESS_TEMPLATE_ID" in row.last_error
    assert status["case"]["state"] == "filed"
