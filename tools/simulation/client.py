"""The simulator's one door to the platform: HTTP with tokens or API keys, and the city clock.

Every request goes through `send`, which counts it, turns a refusal or a network error into `None` (and a
count by status in the stats), logs in again once when a token has expired, and never raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.logging import get_logger
from tools.simulation.stats import SimulationStats

log = get_logger("tools.simulate")
RACE_RETRIES = 3


@dataclass
class CityClock:
    """The platform's city time, extrapolated from one reading: it may run `speed` times faster than ours."""

    origin: datetime
    origin_wall: float
    speed: float = 1.0

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.monotonic() - self.origin_wall) * self.speed)

    def wall_seconds(self, city: timedelta | float) -> float:
        """How long we wait for `city` time to pass on the platform."""
        seconds = city.total_seconds() if isinstance(city, timedelta) else city
        return max(0.0, seconds / self.speed)

    def wall_until(self, when: datetime) -> float:
        return self.wall_seconds(when - self.now())


class CityClient:
    def __init__(
        self,
        base_url: str,
        stats: SimulationStats,
        *,
        api_keys: Mapping[str, str],
        password: str = "demo",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(30.0),
            transport=transport,
            headers={"User-Agent": "cityloop-simulator"},
        )
        self.stats = stats
        self.api_keys = dict(api_keys)
        self.password = password
        self.clock = CityClock(datetime.now(UTC), time.monotonic())
        self._tokens: dict[str, str] = {}
        self._refused: set[str] = set()
        self._login_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.http.aclose()

    async def sync_clock(self) -> bool:
        """Read `GET /v1/clock`; the reading is placed halfway through the round trip."""
        started = time.monotonic()
        response = await self.send("clock", "GET", "/v1/clock")
        if response is None:
            return False
        body = response.json()
        self.clock = CityClock(
            datetime.fromisoformat(body["now"]), (started + time.monotonic()) / 2, float(body.get("speed") or 1.0)
        )
        return True

    # -- who is calling ------------------------------------------------------------------------------------

    async def token(self, username: str) -> str | None:
        """A JWT for a demo user (logged in once; scrypt makes logins expensive). None if refused."""
        if username in self._tokens:
            return self._tokens[username]
        if username in self._refused:
            return None
        async with self._login_lock:
            if username not in self._tokens and username not in self._refused:
                response = await self.send(
                    "login", "POST", "/v1/auth/token", data={"username": username, "password": self.password}
                )
                if response is None:
                    self._refused.add(username)
                    log.warning("simulator_login_refused", username=username)
                else:
                    self._tokens[username] = response.json()["access_token"]
        return self._tokens.get(username)

    async def as_user(self, username: str, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        for attempt in (1, 2):
            token = await self.token(username)
            if token is None:
                return None
            response = await self.raw(what, method, path, auth={"Authorization": f"Bearer {token}"}, **kwargs)
            if response is not None and response.status_code == 401 and attempt == 1:
                self._tokens.pop(username, None)  # expired (they last 8 h): log in again, once
                continue
            return self.judge(what, response)
        return None

    def has_key(self, client: str) -> bool:
        return client in self.api_keys

    async def as_system(self, client: str, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        return await self.send(what, method, path, auth={"X-API-Key": self.api_keys[client]}, **kwargs)

    # -- the wire ------------------------------------------------------------------------------------------

    async def send(self, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The response when it is a 2xx, else None (counted by status in the stats)."""
        return self.judge(what, await self.raw(what, method, path, **kwargs))

    async def raw(
        self, what: str, method: str, path: str, *, auth: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """The response, whatever its status (None when the network failed). A command that met another
        change of the same case at the same moment (409 on `version`) is sent again, as a person would."""
        headers = {**kwargs.pop("headers", {}), **(auth or {})}
        for attempt in range(RACE_RETRIES + 1):
            self.stats.requests += 1
            try:
                response = await self.http.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                self._failed(what, type(exc).__name__, str(exc))
                return None
            if attempt == RACE_RETRIES or not _lost_race(response):
                return response
            await asyncio.sleep(0.05 * (attempt + 1))
        return None  # pragma: no cover - the loop always returns

    def judge(self, what: str, response: httpx.Response | None) -> httpx.Response | None:
        if response is None or response.is_success:
            return response
        self._failed(what, str(response.status_code), response.text)
        return None

    def _failed(self, what: str, status: str, detail: str) -> None:
        if self.stats.error(what, status, detail):
            log.warning("simulator_request_failed", request=what, status=status, detail=detail[:300])


def _lost_race(response: httpx.Response) -> bool:
    if response.status_code != 409 or "if-match" in response.request.headers:
        return False
    try:
        return bool(response.json().get("error", {}).get("field") == "version")
    except ValueError:
        return False
