"""Signed 12345 tickets at a steady rate against a running intake, for fault and replica tests."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp
import orjson

from intake.signing import signed_headers

SECRET = "dev-only-hotline-secret"
TEXTS = [
    "{a}井盖破损，行人容易踩空",
    "{a}有人占道经营摆摊",
    "{a}垃圾桶满溢无人清理",
    "{a}路灯不亮",
    "{a}道路破损有大坑",
    "{a}绿化带里堆放建筑垃圾",
    "{a}机动车违章停在人行道上",
]


class Load:
    """Hotline tickets at a steady rate; a ticket that fails is retried with the same number until acknowledged.

    `acked` maps ticket number → report id. `late` counts tickets sent more than a second behind schedule:
    the generator itself could not keep the rate (the machine is saturated).
    """

    def __init__(
        self,
        url: str,
        rate: float,
        addresses: Sequence[str],
        *,
        texts: Sequence[str] = TEXTS,
        prefix: str = "C",
        seed: int = 8,
    ) -> None:
        self.url = url
        self.rate = rate
        self.addresses = list(addresses)
        self.texts = list(texts)
        self.prefix = prefix
        self.acked: dict[str, str] = {}
        self.retries = 0
        self.sent = 0
        self.late = 0
        self.stop = asyncio.Event()
        self.rng = random.Random(seed)

    async def ticket(self, client: aiohttp.ClientSession, n: int) -> None:
        address = self.rng.choice(self.addresses)
        number = f"{self.prefix}{n:06d}"
        body = orjson.dumps(
            {
                "ticket_no": number,
                "call_time": datetime.now(UTC).isoformat(),
                "caller": {"name": "市民", "phone": f"139{n:08d}"},
                "content": self.rng.choice(self.texts).format(a=address),
                "address": address,
            }
        )
        deadline, last = time.monotonic() + 180, "nothing"
        while time.monotonic() < deadline:
            try:
                headers = signed_headers(SECRET, body, datetime.now(UTC))
                async with client.post("/v1/hotline/tickets", data=body, headers=headers) as r:
                    answer = await r.read()
                if r.status in (200, 202):
                    self.acked[number] = orjson.loads(answer)["report_id"]
                    return
                last = f"{r.status} {answer[:200]!r}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = repr(exc)
            self.retries += 1
            await asyncio.sleep(0.5)
        raise AssertionError(
            f"ticket {number} never acknowledged in 180 s ({self.retries} retries of all "
            f"tickets, {len(self.acked)} acknowledged); last answer: {last}"
        )

    async def run(self) -> None:
        """Open loop: a ticket goes out on schedule whether or not earlier ones were answered. aiohttp, not
        httpx: a sixth of the client CPU per request, on the same cores as the services under test."""
        connector = aiohttp.TCPConnector(limit=200)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(base_url=self.url, connector=connector, timeout=timeout) as client:
            tasks, started = [], time.monotonic()
            while not self.stop.is_set():
                tasks.append(asyncio.create_task(self.ticket(client, self.sent)))
                self.sent += 1
                delay = started + self.sent / self.rate - time.monotonic()
                if delay < -1:
                    self.late += 1
                await asyncio.sleep(max(delay, 0))
            await asyncio.gather(*tasks)

    def achieved(self, seconds: float) -> float:
        """Tickets sent per second over a run of `seconds`."""
        return self.sent / seconds if seconds else 0.0


def demo_addresses(limit: int | None = None) -> list[str]:
    """Names of roads and landmarks of the demo district's gazetteer (each a distinct place)."""
    from pathlib import Path

    gazetteer = orjson.loads((Path(__file__).resolve().parents[2] / "deploy/demo/gazetteer.json").read_bytes())
    places = gazetteer.get("places", gazetteer) if isinstance(gazetteer, dict) else gazetteer
    names = [p["name"] for p in places if p.get("kind") in ("road", "landmark")]
    return names[:limit] if limit else names
