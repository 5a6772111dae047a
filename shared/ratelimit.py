"""Rate limits per API client, per signed-in user, per username at sign-in and for the 12345 webhook.

Counters live in a `limits` storage (`Settings.rate_limit_storage`). The default `memory://` keeps them
in each process: with N replicas behind a load balancer a caller may get up to N times its limit, and a
restart forgets them. `redis://…` (or `memcached://…`, `mongodb://…`) shares one set of counters
between every replica, so the limit holds for the deployment as a whole.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from shared.errors import DomainError
from shared.settings import Settings


class TooManyRequests(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field, retry_after_s=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class RateLimiter:
    """One limiter per process; `hit` counts a request and raises `TooManyRequests` past any of its limits."""

    def __init__(self, settings: Settings) -> None:
        uri = settings.rate_limit_storage
        self.storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.limits: dict[str, list[RateLimitItem]] = {
            "client": _parse(settings.rate_limit_client),
            "user": _parse(settings.rate_limit_user),
            "login": _parse(settings.rate_limit_login),
            "hotline": _parse(settings.rate_limit_hotline),
            "miss": _parse(settings.rate_limit_report_misses),
        }

    async def hit(self, kind: str, key: str, *, field: str | None = None) -> None:
        for item in self.limits[kind]:
            if not await self.strategy.hit(item, kind, key):
                stats = await self.strategy.get_window_stats(item, kind, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    f"more than {item} for this {kind}; retry in {retry_after} s", retry_after=retry_after, field=field
                )


def _parse(text: str) -> list[RateLimitItem]:
    """`limits` notation (`20/second;600/minute`); an empty string means no limit."""
    return parse_many(text) if text.strip() else []
