"""WeChat callback driven by wechatpy as the WeChat server would: real signatures, real AES messages."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from shared.contracts import parse_as
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived
from tests.integration.intake.helpers import intake_env, intake_platform
from tests.support.harness import RunningPlatform

__all__ = ["intake_env"]
REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
VECTORS = REALDATA / "wechat_vectors.json"
TOKEN, AES_KEY, APP_ID = "cityloop-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef"
USER = "oCitizen0000000000000000001"


def vectors() -> dict[str, Any]:
    if not VECTORS.exists():
        pytest.skip(f"WeChat known answers not found at {VECTORS} (../shared/realdata is absent)")
    vectors: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return vectors


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return str(signer.signature)


def message(kind: str, msg_id: int, create_time: int = 1741570200, user: str = USER, **fields: str) -> str:
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[gh_cityloop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


class WeChatServer:
    """Pushes messages to our callback exactly as the WeChat server does in safe mode."""

    def __init__(self, platform: RunningPlatform) -> None:
        self.p = platform
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        self.sent = 0

    async def push(self, xml: str, nonce: str = "n1") -> httpx.Response:
        self.sent += 1
        timestamp = str(1741570200 + self.sent)
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        params = {
            "signature": plain_signature(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": USER,
            "encrypt_type": "aes",
            "msg_signature": envelope["MsgSignature"],
        }
        body = (
            f"<xml><ToUserName><![CDATA[gh_cityloop]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]>"
            "</Encrypt></xml>"
        )
        return await self.p.client.post(
            "/v1/wechat/callback", params=params, content=body, headers={"Content-Type": "text/xml"}
        )

    def reply_text(self, response: httpx.Response) -> str:
        """Decrypt the passive reply as WeChat would, checking its msg_signature."""
        assert response.status_code == 200, response.text
        outer = xmltodict.parse(response.text)["xml"]
        plain = self.crypto.decrypt_message(response.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        inner = xmltodict.parse(plain)["xml"]
        assert inner["ToUserName"] == USER and inner["MsgType"] == "text"
        return str(inner["Content"])


def safe_mode(**extra: Any) -> dict[str, Any]:
    return {"wechat_token": TOKEN, "wechat_aes_key": AES_KEY, "wechat_app_id": APP_ID, **extra}


async def test_text_photo_location_become_one_report_filed_on_submit(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, **safe_mode()) as p:
        wx = WeChatServer(p)
        opened = wx.reply_text(await wx.push(message("text", 1001, Content="雍和宫大街垃圾桶满溢")))
        report_id = opened.split("上报编号 ")[1].split("。")[0]
        added = wx.reply_text(await wx.push(message("image", 1002, PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="m1")))
        located = wx.reply_text(
            await wx.push(
                message(
                    "location", 1003, Location_X="39.947644", Location_Y="116.423503", Scale="16", Label="雍和宫大街"
                )
            )
        )
        submitted = wx.reply_text(await wx.push(message("text", 1004, Content="提交")))
        await p.drain()
        events = await p.events("reports.received.v1")
    assert report_id in added and report_id in located and report_id in submitted
    assert "照片 1 张" in added and "已定位" in located
    assert [e.subject for e in events] == [report_id]
    report = parse_as(events[0], ReportReceived)
    assert report.text == "雍和宫大街垃圾桶满溢" and report.photos[0].uri == "http://mmbiz.qpic.cn/x.jpg"
    assert report.place.point is not None
    assert (report.place.point.lon, report.place.point.lat, report.place.point.crs) == (
        116.423503,
        39.947644,
        Crs.GCJ02,
    )
    assert report.place.address == "雍和宫大街" and report.attributes["filed_by"] == "citizen"


async def test_same_msgid_three_times_is_one_message(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, **safe_mode()) as p:
        wx = WeChatServer(p)
        replies = [
            wx.reply_text(await wx.push(message("text", 2001, Content="井盖松动"), nonce=f"r{i}")) for i in range(3)
        ]
        wx.reply_text(await wx.push(message("text", 2002, Content="完成")))
        await p.drain()
        events = await p.events("reports.received.v1")
    assert replies[0] == replies[1] == replies[2]
    assert len(events) == 1
    report = parse_as(events[0], ReportReceived)
    assert report.text == "井盖松动" and report.attributes["messages"] == 1


async def test_silent_draft_is_filed_after_the_window(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env, **safe_mode()) as p:
        wx = WeChatServer(p)
        wx.reply_text(await wx.push(message("text", 3001, Content="路灯不亮")))
        await p.drain()
        assert await p.events("reports.received.v1") == []
        p.platform.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
        await p.drain()
        events = await p.events("reports.received.v1")
        next_reply = wx.reply_text(await wx.push(message("text", 3002, Content="又坏了一盏")))
    assert len(events) == 1 and parse_as(events[0], ReportReceived).attributes["filed_by"] == "timeout"
    assert events[0].subject not in next_reply  # a new session, a new number


async def test_official_vectors_plain_signature_and_safe_mode_decrypt(pg_url: str, intake_env: Path) -> None:
    v = vectors()
    v1, v2, v3 = v["V1_plain_signature_wechatpy"], v["V2_mp_official_sample"], v["V3_mp_official_csharp_sample"]
    async with intake_platform(pg_url, intake_env, wechat_token=v1["token"]) as p:
        query = {"timestamp": v1["timestamp"], "nonce": v1["nonce"], "echostr": "echo-42"}
        good = await p.client.get("/v1/wechat/callback", params={**query, "signature": v1["signature"]})
        bad = await p.client.get("/v1/wechat/callback", params={**query, "signature": v1["negative_signature"]})
    assert (good.status_code, good.text) == (200, "echo-42")
    assert bad.status_code == 401 and bad.json()["error"]["field"] == "signature"

    settings = {"wechat_token": v2["token"], "wechat_aes_key": v2["EncodingAESKey"], "wechat_app_id": v2["AppID"]}
    async with intake_platform(pg_url, intake_env, **settings) as p:
        check = await p.client.get(
            "/v1/wechat/callback",
            params={
                "signature": v2["url_verify_signature"],
                "timestamp": v2["timestamp"],
                "nonce": v2["nonce"],
                "echostr": v2["echostr_in_url_example"],
            },
        )
        params = {
            "timestamp": v2["timestamp"],
            "nonce": v2["nonce"],
            "encrypt_type": "aes",
            "msg_signature": v2["msg_signature"],
            "signature": v2["url_verify_signature"],
        }
        pushed = await p.client.post(
            "/v1/wechat/callback", params=params, content=v2["post_body_xml"], headers={"Content-Type": "text/xml"}
        )
        tampered = await p.client.post(
            "/v1/wechat/callback",
            params={**params, "msg_signature": "0" * 40},
            content=v2["post_body_xml"],
            headers={"Content-Type": "text/xml"},
        )
        crypto = WeChatCrypto(v2["token"], v2["EncodingAESKey"], v2["AppID"])
        outer = xmltodict.parse(pushed.text)["xml"]
        reply = xmltodict.parse(
            crypto.decrypt_message(pushed.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        )["xml"]
    assert (check.status_code, check.text) == (200, v2["echostr_in_url_example"])
    assert pushed.status_code == 200 and "上报编号" in reply["Content"]
    assert reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert tampered.status_code == 401 and tampered.json()["error"]["field"] == "msg_signature"

    settings = {"wechat_token": v3["token"], "wechat_aes_key": v3["EncodingAESKey"], "wechat_app_id": v3["AppID"]}
    async with intake_platform(pg_url, intake_env, **settings) as p:
        params = {
            "timestamp": v3["timestamp"],
            "nonce": v3["nonce"],
            "encrypt_type": "aes",
            "msg_signature": v3["msg_signature"],
        }
        pushed = await p.client.post(
            "/v1/wechat/callback", params=params, content=v3["post_body_xml"], headers={"Content-Type": "text/xml"}
        )
        wrong_app = {"wechat_token": v3["token"], "wechat_aes_key": v3["EncodingAESKey"], "wechat_app_id": "wxOTHER"}
    assert pushed.status_code == 200 and pushed.headers["content-type"].startswith("application/xml")
    async with intake_platform(pg_url, intake_env, **wrong_app) as p:
        foreign = await p.client.post(
            "/v1/wechat/callback", params=params, content=v3["post_body_xml"], headers={"Content-Type": "text/xml"}
        )
    assert foreign.status_code == 401 and foreign.json()["error"]["field"] == "Encrypt"


async def test_hostile_xml_is_refused_without_expanding_entities(pg_url: str, intake_env: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>"
    )
    timestamp, nonce = "1741570200", "n"
    params = {"signature": plain_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    async with intake_platform(pg_url, intake_env, **safe_mode()) as p:
        entity = await p.client.post(
            "/v1/wechat/callback", params=params, content=bomb, headers={"Content-Type": "text/xml"}
        )
        huge = await p.client.post(
            "/v1/wechat/callback",
            params=params,
            content="<xml>" + "x" * 70_000 + "</xml>",
            headers={"Content-Type": "text/xml"},
        )
        await p.drain()
        events = await p.events("reports.received.v1")
    assert entity.status_code == 422 and entity.json()["error"]["field"] == "body"
    assert huge.status_code == 413
    assert events == []
