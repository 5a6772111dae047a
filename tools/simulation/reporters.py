"""Everyone who reports a problem, each through its own channel and protocol.

`Reporters.next(rng, seq)` draws everything about the next report from `rng` at once (channel, problem,
place, words, photos, protocol details) and returns the job that sends it, so the same seed gives the same
reports in the same order however the sends interleave. Channel mix, as a district's centre sees it:
hotline 45 %, patrol 25 %, video 12 %, WeChat 10 %, IoT 5 %, Open311 3 %; about one report in ten is
somebody else reporting a problem already reported nearby, which the router should merge.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from intake.signing import signed_headers
from shared.contracts.common import Crs
from shared.geo import from_wgs84
from shared.logging import get_logger
from tools.simulation import media, texts
from tools.simulation.client import CityClient
from tools.simulation.district import INSPECTORS, District, Spot, jitter
from tools.simulation.scheduler import Job, Scheduler
from tools.simulation.texts import Problem

log = get_logger("tools.simulate")

CHANNEL_MIX = {"hotline": 45.0, "patrol": 25.0, "video": 12.0, "wechat": 10.0, "iot": 5.0, "open311": 3.0}
DUPLICATE_SHARE = 0.10
_REPORT_ID = re.compile(r"R\d{8,20}")
_IOT_READINGS = {
    "smoke": ((0.12, 0.6), "dB/m", "烟雾浓度超标"),
    "gas": ((12.0, 60.0), "%LEL", "可燃气体浓度超标"),
    "water_level": ((30.0, 120.0), "cm", "井内水位超过警戒线"),
    "manhole_tilt": ((8.0, 45.0), "°", "井盖倾斜或位移"),
}

Sent = Callable[[str, str, Problem | None, Spot | None], None]
"""Called with (report id, channel, problem, where) for every report intake accepted."""


@dataclass(frozen=True)
class Secrets:
    hotline_secret: str
    wechat_token: str
    wechat_aes_key: str = ""
    wechat_app_id: str = ""


@dataclass
class Reporters:
    client: CityClient
    district: District
    scheduler: Scheduler
    secrets: Secrets
    run_tag: str
    """Makes ticket numbers, alert ids and message ids unique per run (a restart must not look like a retry)."""
    sent: Sent
    open311_services: list[dict[str, Any]] = field(default_factory=list)
    refused_algorithms: set[tuple[str, str]] = field(default_factory=set)
    recent: deque[tuple[Problem, Spot]] = field(default_factory=lambda: deque(maxlen=40))
    """Problems reported lately: a citizen may report one of them again (a duplicate to merge)."""
    alarming: set[str] = field(default_factory=set)
    sign_with_city_time: bool = True

    async def prepare(self) -> None:
        """Learn the Open311 catalogue the way an Open311 client does: the service list, then definitions."""
        if not self.client.has_key("open311"):
            return
        response = await self.client.send("open311 services", "GET", "/open311/v2/services.json")
        for service in response.json() if response is not None else []:
            if service.get("metadata"):
                definition = await self.client.send(
                    "open311 definition", "GET", f"/open311/v2/services/{service['service_code']}.json"
                )
                service["attributes"] = definition.json().get("attributes", []) if definition is not None else []
            self.open311_services.append(service)

    def mix(self) -> dict[str, float]:
        """The channel weights, without the channels this run cannot use (no key, no cameras…)."""
        usable = {
            "hotline": bool(self.secrets.hotline_secret),
            "patrol": True,
            "video": self.client.has_key("video") and bool(self.district.cameras),
            "wechat": bool(self.secrets.wechat_token),
            "iot": self.client.has_key("iot") and bool(self.district.devices),
            "open311": self.client.has_key("open311") and bool(self.open311_services),
        }
        return {c: w for c, w in CHANNEL_MIX.items() if usable[c]}

    def next(self, rng: random.Random, seq: int) -> Job:
        mix = self.mix()
        channel = rng.choices(list(mix), weights=list(mix.values()))[0]
        if channel == "video":
            return self._video(rng, seq)
        if channel == "iot":
            return self._iot(rng, seq)
        if channel == "open311":
            return self._open311(rng, seq)
        problem, spot, text = self._problem(rng, channel)
        if channel == "hotline":
            return self._hotline(rng, seq, problem, spot, text)
        if channel == "wechat":
            return self._wechat(rng, seq, problem, spot, text)
        return self._patrol(rng, seq, problem, spot, text)

    def _problem(self, rng: random.Random, channel: str) -> tuple[Problem, Spot, str]:
        if self.recent and rng.random() < DUPLICATE_SHARE:
            problem, first = rng.choice(list(self.recent))
            lon, lat = jitter(first.lon, first.lat, rng, 10.0)
            return problem, replace(first, lon=lon, lat=lat), texts.again(problem, first.address, rng)
        problem, spot = texts.pick(rng), self.district.spot(rng)
        self.recent.append((problem, spot))
        return problem, spot, texts.say(problem, spot.address, channel, rng)

    def _accepted(
        self, channel: str, response: httpx.Response | None, problem: Problem | None, spot: Spot | None = None
    ) -> str | None:
        if response is None:
            self.client.stats.report(channel, None)
            return None
        answer = response.json()
        self.client.stats.report(channel, answer.get("status"))
        report_id = answer.get("report_id")
        if report_id and answer.get("status") == "accepted":
            self.sent(report_id, channel, problem, spot)
        return report_id if isinstance(report_id, str) else None

    # -- 12345 hotline: signed webhook, sometimes a supplement or a withdrawal later ------------------------

    def _hotline(self, rng: random.Random, seq: int, problem: Problem, spot: Spot, text: str) -> Job:
        vague = rng.random() < 0.03
        now = self.client.clock.now()
        ticket: dict[str, Any] = {
            "ticket_no": f"{self.run_tag}-{seq:06d}",
            "call_time": (now - timedelta(minutes=rng.uniform(2, 20))).isoformat(),
            "caller": {"name": texts.caller_name(rng), "phone": texts.phone(rng)},
            "content": rng.choice(texts.VAGUE) if vague else text,
            "address": spot.address,
            "urgency": "urgent" if rng.random() < problem.urgent_share else "normal",
            "hotline_class": "complex" if rng.random() < problem.complex_share else "general",
        }
        if not vague and rng.random() < 0.7:
            ticket["location"] = {"lon": spot.lon, "lat": spot.lat, "crs": "WGS84"}
        category = texts.hotline_category(problem)
        if not vague and category and rng.random() < 0.6:
            ticket["category"] = category
        follow_up = rng.choices(("none", "supplement", "withdrawn"), weights=(95, 4, 1.5))[0]
        later = timedelta(minutes=rng.uniform(10, 120))
        supplement = rng.choice(("补充：问题还在，晚上更严重", "补充：旁边还有一处同样的问题", "来电人补充了照片说明"))

        async def send() -> None:
            response = await self._signed("hotline", "/v1/hotline/tickets", ticket)
            if self._accepted("hotline", response, None if vague else problem, spot) and follow_up != "none":
                self.scheduler.after(
                    self.client.clock.wall_seconds(later),
                    lambda: self._hotline_update(ticket["ticket_no"], follow_up, supplement),
                )

        return send

    async def _hotline_update(self, ticket_no: str, kind: str, text: str) -> None:
        update = {
            "update_id": f"{ticket_no}-u1",
            "kind": kind,
            "text": text if kind == "supplement" else "来电人撤诉",
            "at": self.client.clock.now().isoformat(),
        }
        response = await self._signed("hotline update", f"/v1/hotline/tickets/{ticket_no}/updates", update)
        if response is not None:
            self.client.stats.answers[("hotline", f"update:{kind}")] += 1

    async def _signed(self, what: str, path: str, payload: dict[str, Any]) -> httpx.Response | None:
        """Sign as the hotline does. Intake checks the timestamp against its clock, which is the (faster) city
        clock today; a refusal makes us read the city clock again and try the other clock once, and remember."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        for attempt in (1, 2):
            city = self.sign_with_city_time
            now = self.client.clock.now() if city else datetime.now(UTC)
            headers = signed_headers(self.secrets.hotline_secret, body, now)
            response = await self.client.raw(what, "POST", path, content=body, headers=headers)
            if response is not None and response.status_code == 401 and attempt == 1:
                await self.client.sync_clock()
                self.sign_with_city_time = not city if self.client.clock.speed != 1.0 else city
                continue
            return self.client.judge(what, response)
        return None

    # -- patrol app: inspector token, multipart photos, Idempotency-Key -------------------------------------

    def _patrol(self, rng: random.Random, seq: int, problem: Problem, spot: Spot, text: str) -> Job:
        crs = Crs.GCJ02 if rng.random() < 0.3 else Crs.WGS84
        lon, lat = from_wgs84(spot.lon, spot.lat, crs)
        offline = rng.random() < 0.05
        seen_ago = timedelta(hours=rng.uniform(1, 4)) if offline else timedelta(minutes=rng.uniform(0, 5))
        form = {
            "category_code": problem.category_id,
            "lon": f"{lon:.6f}",
            "lat": f"{lat:.6f}",
            "crs": crs.value,
            "description": text,
            "address": spot.address,
            "occurred_at": (self.client.clock.now() - seen_ago).isoformat(),
        }
        photos = [("photos", (f"IMG_{seq:05d}_{i}.png", media.png(rng), "image/png")) for i in range(rng.randint(1, 3))]
        inspector = rng.choice(INSPECTORS)
        retries = 2 if rng.random() < 0.04 else 1  # a flaky network: the app sends the same report again
        headers = {"Idempotency-Key": f"{self.run_tag}-p{seq:06d}"}

        async def send() -> None:
            for _ in range(retries):
                response = await self.client.as_user(
                    inspector, "patrol", "POST", "/v1/patrol/reports", data=form, files=photos, headers=headers
                )
                self._accepted("patrol", response, problem, spot)

        return send

    # -- video AI: API key, JSON alert with a snapshot; cameras fire again while the problem lasts --------------

    def _video(self, rng: random.Random, seq: int) -> Job:
        # Draw a camera and an algorithm from the full lists, then step past refused ones without drawing
        # again: the random stream must not depend on which refusals have come back yet.
        pairs = [(c, a) for c in self.district.cameras for a in c.get("algorithms", [])]
        start = rng.randrange(len(pairs)) if pairs else 0
        refused = self.refused_algorithms
        usable = [
            (c, a)
            for c, a in pairs[start:] + pairs[:start]
            if (c["camera_id"], a) not in refused and ("*", a) not in refused
        ]
        if not usable:
            return self._hotline(rng, seq, *self._problem(rng, "hotline"))
        camera, algorithm = usable[0]
        low = rng.random() < 0.08
        alert: dict[str, Any] = {
            "alert_id": f"{self.run_tag}-v{seq:06d}",
            "camera_id": camera["camera_id"],
            "algorithm": algorithm,
            "confidence": round(rng.uniform(0.30, 0.55) if low else rng.uniform(0.80, 0.99), 3),
            "captured_at": (self.client.clock.now() - timedelta(seconds=rng.uniform(5, 90))).isoformat(),
        }
        if rng.random() < 0.6:
            alert["snapshot_base64"] = base64.b64encode(media.png(rng)).decode()
        else:
            alert["snapshot_url"] = f"https://video.sim.cityloop.invalid/{camera['camera_id']}/{seq}.jpg"
        repeat_after = timedelta(minutes=rng.uniform(2, 20)) if rng.random() < 0.2 else None

        async def send() -> None:
            response = await self.client.raw(
                "video", "POST", "/v1/video/alerts", json=alert, headers={"X-API-Key": self.client.api_keys["video"]}
            )
            if response is not None and response.status_code == 422:
                self._learn_refusal(camera["camera_id"], algorithm, response)
            self._accepted("video", self.client.judge("video", response), None)
            if repeat_after is not None:
                again = {**alert, "alert_id": alert["alert_id"] + "-r"}
                self.scheduler.after(self.client.clock.wall_seconds(repeat_after), lambda: self._video_again(again))

        return send

    async def _video_again(self, alert: dict[str, Any]) -> None:
        alert = {**alert, "captured_at": self.client.clock.now().isoformat()}
        response = await self.client.as_system("video", "video", "POST", "/v1/video/alerts", json=alert)
        self._accepted("video", response, None)

    def _learn_refusal(self, camera_id: str, algorithm: str, response: httpx.Response) -> None:
        """A camera listing an algorithm intake does not know: stop sending it, as a real integrator would."""
        error = response.json().get("error", {})
        if error.get("field") == "algorithm":
            scope = "*" if "unknown" in str(error.get("reason", "")) else camera_id
            if (scope, algorithm) not in self.refused_algorithms:
                log.warning(
                    "simulator_video_algorithm_refused",
                    camera=camera_id,
                    algorithm=algorithm,
                    reason=error.get("reason"),
                )
            self.refused_algorithms.add((scope, algorithm))

    # -- IoT: API key, an alarm, sometimes a repeat, then the recovery ---------------------------------------

    def _iot(self, rng: random.Random, seq: int) -> Job:
        devices = self.district.devices
        start = rng.randrange(len(devices))
        quiet = [d for d in devices[start:] + devices[:start] if d["device_id"] not in self.alarming]
        if not quiet:
            return self._hotline(rng, seq, *self._problem(rng, "hotline"))
        device = quiet[0]
        kind = str(device.get("alarm_type") or device.get("kind") or device.get("type"))
        (low, high), unit, message = _IOT_READINGS[kind]
        alarm = {
            "message_id": f"{self.run_tag}-i{seq:06d}",
            "device_id": device["device_id"],
            "alarm_type": kind,
            "status": "alarm",
            "severity": rng.choice(("major", "major", "critical")),
            "value": round(rng.uniform(low, high), 2),
            "unit": unit,
            "message": message,
            "at": self.client.clock.now().isoformat(),
        }
        repeat = rng.random() < 0.15
        recover_after = timedelta(minutes=rng.uniform(20, 180))
        self.alarming.add(device["device_id"])

        async def send() -> None:
            response = await self.client.as_system("iot", "iot", "POST", "/v1/iot/alarms", json=alarm)
            self._accepted("iot", response, None)
            if repeat:
                self.scheduler.after(
                    self.client.clock.wall_seconds(recover_after / 4), lambda: self._iot_follow(alarm, "alarm", "-r")
                )
            self.scheduler.after(
                self.client.clock.wall_seconds(recover_after), lambda: self._iot_follow(alarm, "recovered", "-ok")
            )

        return send

    async def _iot_follow(self, alarm: dict[str, Any], status: str, suffix: str) -> None:
        follow = {
            **alarm,
            "message_id": alarm["message_id"] + suffix,
            "status": status,
            "at": self.client.clock.now().isoformat(),
        }
        response = await self.client.as_system("iot", "iot", "POST", "/v1/iot/alarms", json=follow)
        self._accepted("iot", response, None)
        if status == "recovered":
            self.alarming.discard(alarm["device_id"])

    # -- Open311: form-encoded GeoReport v2 from a city app -------------------------------------------------

    def _open311(self, rng: random.Random, seq: int) -> Job:
        service = rng.choice(self.open311_services)
        spot = self.district.spot(rng)
        name = str(service.get("service_name", "")).split(" ")[0]
        form = {
            "api_key": self.client.api_keys["open311"],
            "service_code": service["service_code"],
            "lat": f"{spot.lat:.6f}",
            "long": f"{spot.lon:.6f}",
            "address_string": spot.address,
            "description": f"{spot.address}附近{name}，{rng.choice(texts.PLEAS)}",
            "first_name": texts.caller_name(rng),
            "phone": texts.phone(rng),
            "device_id": f"app-{rng.randrange(10**6):06d}",
        }
        for attribute in service.get("attributes", []):
            if attribute.get("variable", True) and (attribute.get("required") or rng.random() < 0.5):
                values = [v["key"] for v in attribute.get("values") or []]
                form[f"attribute[{attribute['code']}]"] = rng.choice(values) if values else "见描述"

        async def send() -> None:
            response = await self.client.send("open311", "POST", "/open311/v2/requests.json", data=form)
            if response is None:
                self.client.stats.report("open311", None)
                return
            created = response.json()[0]
            self.client.stats.report("open311", "accepted")
            self.sent(created["service_request_id"], "open311", None, spot)

        return send

    # -- WeChat: the official account's server protocol, one citizen session per report --------------------

    def _wechat(self, rng: random.Random, seq: int, problem: Problem, spot: Spot, text: str) -> Job:
        openid = f"oSIM{rng.randrange(5000):06d}{self.run_tag[-8:]}"
        lon, lat = from_wgs84(spot.lon, spot.lat, Crs.GCJ02)
        messages: list[dict[str, Any]] = [{"MsgType": "text", "Content": text}]
        if rng.random() < 0.75:
            messages.append(
                {
                    "MsgType": "location",
                    "Location_X": f"{lat:.6f}",
                    "Location_Y": f"{lon:.6f}",
                    "Scale": "16",
                    "Label": spot.address,
                }
            )
        if rng.random() < 0.5:
            media_id = f"{rng.getrandbits(96):024x}"
            messages.append(
                {"MsgType": "image", "PicUrl": f"https://mmbiz.sim.cityloop.invalid/{media_id}/0", "MediaId": media_id}
            )
        if rng.random() < 0.85:  # the others forget to press 提交: intake files the draft after its window
            messages.append({"MsgType": "text", "Content": rng.choice(("提交", "完成"))})
        for m in messages:
            m["MsgId"] = str(rng.getrandbits(63))
        gaps = [timedelta(seconds=rng.uniform(15, 90)) for _ in messages]
        nonces = [f"{rng.getrandbits(40):010x}" for _ in messages]

        async def send() -> None:
            report_id: str | None = None
            for message, gap, nonce in zip(messages, gaps, nonces, strict=True):
                reply = await self._push(openid, message, nonce)
                report_id = report_id or _found(reply or "")
                await self.scheduler.sleep(self.client.clock.wall_seconds(gap))
            self.client.stats.report("wechat", "accepted" if report_id else None)
            if report_id:
                self.sent(report_id, "wechat", problem, spot)

        return send

    async def _push(self, openid: str, message: dict[str, Any], nonce: str) -> str | None:
        now = int(self.client.clock.now().timestamp())
        fields = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in message.items() if k != "MsgId")
        xml = (
            f"<xml><ToUserName><![CDATA[gh_cityloop_sim]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{now}</CreateTime>{fields}<MsgId>{message['MsgId']}</MsgId></xml>"
        )
        timestamp, token = str(now), self.secrets.wechat_token
        signer = WeChatSigner()
        signer.add_data(token, timestamp, nonce)
        params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
        crypto = (
            WeChatCrypto(token, self.secrets.wechat_aes_key, self.secrets.wechat_app_id)
            if self.secrets.wechat_aes_key
            else None
        )
        if crypto is not None:
            envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
            params.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
            xml = (
                f"<xml><ToUserName><![CDATA[gh_cityloop_sim]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
        response = await self.client.send(
            "wechat",
            "POST",
            "/v1/wechat/callback",
            params=params,
            content=xml.encode(),
            headers={"Content-Type": "text/xml"},
        )
        if response is None or not response.text.startswith("<xml"):
            return None
        outer = xmltodict.parse(response.text)["xml"]
        if crypto is not None:
            plain = crypto.decrypt_message(response.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
            outer = xmltodict.parse(plain)["xml"]
        return str(outer.get("Content") or "")


def _found(reply: str) -> str | None:
    match = _REPORT_ID.search(reply)
    return match.group(0) if match else None
