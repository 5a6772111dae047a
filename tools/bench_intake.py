"""Measure how many reports per second one running intake accepts (durably: each 2xx is committed).

    python -m tools.bench_intake --url http://127.0.0.1:8000 --seconds 20 --concurrency 32

Sends signed 12345 tickets (secret from CITYLOOP_HOTLINE_HMAC_SECRET, as the server reads it) or, with
`--channel open311 --api-key KEY`, Open311 form posts. Prints one JSON line: accepted reports per
second, latency percentiles, and every non-2xx status seen. The loop is bounded by `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from intake.signing import signed_headers
from shared.settings import get_settings

Request = Callable[[int], dict[str, Any]]


def hotline_request(secret: str, run: str) -> Request:
    def build(n: int) -> dict[str, Any]:
        body = orjson.dumps(
            {
                "ticket_no": f"B{run}-{n}",
                "call_time": datetime.now(UTC).isoformat(),
                "caller": {"name": "压测", "phone": "13800000000"},
                "content": f"压测工单 {n}：东四北大街井盖缺失",
                "address": "东城区东四北大街",
                "category": {"code": "0102"},
                "urgency": "normal",
                "hotline_class": "general",
            }
        )
        return {
            "url": "/v1/hotline/tickets",
            "content": body,
            "headers": signed_headers(secret, body, datetime.now(UTC)),
        }

    return build


def open311_request(api_key: str, service_code: str) -> Request:
    def build(n: int) -> dict[str, Any]:
        return {
            "url": "/open311/v2/requests.json",
            "data": {
                "api_key": api_key,
                "service_code": service_code,
                "lat": "39.9405",
                "long": "116.4342",
                "description": f"bench request {n}",
            },
        }

    return build


async def run(url: str, seconds: float, concurrency: int, build: Request, warmup: float) -> dict[str, Any]:
    counter = itertools.count()
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    accepted = 0
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while (now := time.perf_counter()) < stop_at:
            sent = now
            try:
                response = await client.post(**build(next(counter)))
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            done = time.perf_counter()
            if sent >= measure_from:
                statuses[status] += 1
                if status in ("201", "202"):
                    accepted += 1
                    latencies.append(done - sent)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {
        "accepted": accepted,
        "seconds": round(elapsed, 2),
        "reports_per_s": round(accepted / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": round(quantiles[49] * 1000, 1),
            "p95": round(quantiles[94] * 1000, 1),
            "p99": round(quantiles[98] * 1000, 1),
        },
        "statuses": dict(statuses),
        "concurrency": concurrency,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_intake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="intake base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds sent but not counted")
    parser.add_argument("--channel", choices=["hotline", "open311"], default="hotline")
    parser.add_argument("--api-key", default=None, help="Open311 api_key (for --channel open311)")
    parser.add_argument("--service-code", default="exposed_garbage")
    args = parser.parse_args(argv)
    if args.channel == "open311":
        if not args.api_key:
            parser.error("--channel open311 needs --api-key")
        build = open311_request(args.api_key, args.service_code)
    else:
        build = hotline_request(get_settings().hotline_hmac_secret.get_secret_value(), uuid.uuid4().hex[:8])
    result = asyncio.run(run(args.url, args.seconds, args.concurrency, build, args.warmup))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0 if result["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
