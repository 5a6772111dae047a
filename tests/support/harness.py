"""Run services in-process against a real database and bus, drive them over HTTP, wait for quiet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from services.runtime import Platform, create_app
from shared.auth import Principal, Role, issue_token
from shared.bus.base import Bus, OutMessage
from shared.clock import Clock
from shared.contracts import Envelope, make_envelope, topic_of
from shared.contracts.common import Contract
from shared.service import ServiceDefinition, ServiceRuntime
from shared.settings import Settings

API_KEYS = {
    "test-hotline": "hotline",
    "test-video": "video",
    "test-iot": "iot",
    "test-open311": "open311",
    "test-system": "system",
}


def platform_settings(database_url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": database_url,
        "environment": "test",
        "api_keys": API_KEYS,
        "poll_interval_s": 0.02,
        "follower_linger_ms": 250,  # tests wait for read models; production trades that second for CPU
        "consumer_max_attempts": 3,
        "log_json": False,
        # tests drive many requests as one user or client; tests of the limits set them (test_input_limits)
        "rate_limit_client": "",
        "rate_limit_user": "",
        "rate_limit_hotline": "",
        "rate_limit_login": "",
    }
    base.update(overrides)
    return Settings(**base)


@dataclass
class RunningPlatform:
    platform: Platform
    client: httpx.AsyncClient

    @property
    def bus(self) -> Bus:
        return self.platform.bus

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    def runtime(self, name: str) -> ServiceRuntime:
        return self.platform.runtimes[name]

    def auth(
        self, role: str | Role = Role.ADMIN, unit: str | None = None, subject: str = "tester", level: str | None = None
    ) -> dict[str, str]:
        token = issue_token(Principal(subject, Role(role), unit, level=level), self.settings)
        return {"Authorization": f"Bearer {token}"}

    def api_key(self, client: str = "hotline") -> dict[str, str]:
        key = next(k for k, v in API_KEYS.items() if v == client)
        return {"X-API-Key": key}

    async def drain(self, timeout_s: float = 30.0, quiet_checks: int = 3) -> None:
        """Wait until outboxes are empty, consumer groups caught up and workers idle, several checks in a row."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet = 0
        while quiet < quiet_checks:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("platform did not become idle")
            quiet = quiet + 1 if await self.platform.idle() else 0
            await asyncio.sleep(0.03)

    async def events(self, topic: str) -> list[Envelope]:
        return [Envelope.from_bytes(m.value) for m in await self.bus.read_topic(topic)]

    async def publish(self, body: Contract, *, subject: str, source: str = "/cityloop/test") -> Envelope:
        envelope = make_envelope(body, source=source, subject=subject)
        await self.bus.publish([OutMessage(topic_of(body), subject, envelope.to_bytes())])
        return envelope


@asynccontextmanager
async def running_platform(
    database_url: str,
    definitions: Sequence[ServiceDefinition],
    *,
    clock: Clock | None = None,
    bus: Bus | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[RunningPlatform]:
    platform = Platform(definitions, platform_settings(database_url, **settings_overrides), clock=clock, bus=bus)
    await platform.start()
    app = create_app(platform, manage_lifecycle=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield RunningPlatform(platform, client)
    finally:
        await platform.stop()
