"""`cityloop simulate`: a living city driving a running platform through its public HTTP APIs only.

Reporters file problems on every channel exactly as the real clients do (signed hotline webhooks,
inspectors' multipart uploads with tokens, WeChat server messages, video and IoT alerts with API keys,
Open311 forms); departments, dispatchers, inspectors, street offices and the hotline then work the
cases, mostly on time and sometimes not, so that deadlines, escalations, whistles and every score move.
All timing is city time: the simulator reads `GET /v1/clock` and runs as much faster as the platform does.

    asyncio.run(run_simulation("http://127.0.0.1:8000", rate_per_minute=20, seed=1, duration_s=600,
                               **options_from_settings(get_settings())))
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logging import get_logger
from shared.settings import Settings
from tools.simulation.actors import Actors
from tools.simulation.client import CityClient
from tools.simulation.district import DEMO_DIR, District
from tools.simulation.reporters import Reporters, Secrets
from tools.simulation.scheduler import Scheduler
from tools.simulation.stats import SimulationStats

__all__ = ["SimulationStats", "SimulatorSettings", "options_from_settings", "run_simulation", "start_in_background"]
log = get_logger("tools.simulate")


class SimulatorSettings(BaseSettings):
    """The simulator's own knobs (prefix `CITYLOOP_SIMULATOR_`); the platform's secrets come from `Settings`."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_SIMULATOR_", env_file=".env", extra="ignore")

    seed: int = 1
    password: str = "demo"
    """Password of the demo users (deploy/demo/users.yaml)."""
    demo_dir: Path = DEMO_DIR
    summary_every_s: float = 30.0


def options_from_settings(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `run_simulation` that a platform's own settings determine."""
    return {
        "api_keys": {client: key for key, client in settings.api_keys.items()},
        "hotline_secret": settings.hotline_hmac_secret.get_secret_value(),
        "wechat_token": settings.wechat_token,
        "wechat_aes_key": settings.wechat_aes_key,
        "wechat_app_id": settings.wechat_app_id,
    }


async def run_simulation(
    base_url: str,
    *,
    rate_per_minute: float,
    seed: int,
    duration_s: float | None,
    api_keys: dict[str, str],
    hotline_secret: str,
    wechat_token: str,
    wechat_aes_key: str,
    wechat_app_id: str,
    stop: asyncio.Event | None = None,
    stats: SimulationStats | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    config: SimulatorSettings | None = None,
) -> SimulationStats:
    """Run until `duration_s` (wall seconds) passes or `stop` is set; returns what was done.

    `rate_per_minute` is reports per wall-clock minute; `api_keys` maps a client name (video, iot, open311,
    hotline) to its key, and a channel without a key is left out. The same seed gives the same reports and
    the same decisions, given the same answers from the platform.
    """
    config = config or SimulatorSettings()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the platform's logs
    stop = stop or asyncio.Event()
    stats = stats if stats is not None else SimulationStats()
    client = CityClient(base_url, stats, api_keys=api_keys, password=config.password, transport=transport)
    scheduler = Scheduler(stop)
    timer = asyncio.create_task(_stop_after(scheduler, duration_s)) if duration_s is not None else None
    try:
        while not await client.sync_clock():  # the platform is not up yet
            if stop.is_set():
                return stats
            await scheduler.sleep(2.0)
        district = District.load(config.demo_dir)
        actors = Actors(client, scheduler, district, seed, since=client.clock.now())
        run_tag = f"S{seed}-{client.clock.origin:%y%m%d%H%M%S}"
        secrets = Secrets(hotline_secret, wechat_token, wechat_aes_key, wechat_app_id)
        reporters = Reporters(client, district, scheduler, secrets, run_tag, actors.expect)
        await reporters.prepare()
        log.info(
            "simulator_started",
            base_url=base_url,
            rate_per_minute=rate_per_minute,
            seed=seed,
            speed=client.clock.speed,
            channels=sorted(reporters.mix()),
        )
        await asyncio.gather(
            scheduler.run(),
            actors.watch(),
            _traffic(reporters, scheduler, seed, rate_per_minute),
            _housekeeping(client, scheduler, config.summary_every_s),
        )
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
        await scheduler.drain()
        await client.close()
        log.info("simulator_stopped", summary=stats.summary())
    return stats


async def _traffic(reporters: Reporters, scheduler: Scheduler, seed: int, rate_per_minute: float) -> None:
    """Reports arrive as a Poisson stream; each is drawn whole before the next, so the seed fixes the order."""
    rng = random.Random(seed)
    seq = 0
    while rate_per_minute > 0 and not scheduler.stop.is_set():
        await scheduler.sleep(rng.expovariate(rate_per_minute / 60.0))
        if scheduler.stop.is_set():
            return
        seq += 1
        try:
            scheduler.after(0, reporters.next(rng, seq))
        except Exception:  # reference data we cannot use: skip this report, keep the city going
            log.exception("simulator_report_failed", seq=seq)


async def _housekeeping(client: CityClient, scheduler: Scheduler, every_s: float) -> None:
    """A summary line every `every_s`, and a fresh reading of the city clock (it may have been restarted)."""
    while not scheduler.stop.is_set():
        await scheduler.sleep(every_s)
        if scheduler.stop.is_set():
            return
        await client.sync_clock()
        log.info("simulator", summary=client.stats.summary(), scheduled=scheduler.pending)


async def _stop_after(scheduler: Scheduler, seconds: float) -> None:
    await scheduler.sleep(seconds)
    scheduler.stop.set()


# -- inside `cityloop run --simulate N` ---------------------------------------------------------------------------


@dataclass
class SimulatorHandle:
    """What `start_in_background` leaves on `app.state.simulator`: stop it, or read its numbers."""

    stop: asyncio.Event
    stats: SimulationStats
    task: asyncio.Task[None] | None = None


def start_in_background(app: FastAPI, base_url: str, settings: Settings, per_minute: float) -> None:
    """Run the simulator beside the app: it starts once the server answers `/readyz`, stops on shutdown.

    It still talks HTTP to `base_url`, like any outside client, so it sees exactly what they see.
    """
    url = reachable(base_url)
    inner = app.router.lifespan_context
    handle = SimulatorHandle(asyncio.Event(), SimulationStats())
    app.state.simulator = handle

    async def when_ready() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as probe:
            while not handle.stop.is_set():
                with suppress(httpx.HTTPError):
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                with suppress(TimeoutError):
                    await asyncio.wait_for(handle.stop.wait(), 0.5)
        if handle.stop.is_set():
            return
        config = SimulatorSettings()
        try:
            await run_simulation(
                url,
                rate_per_minute=per_minute,
                seed=config.seed,
                duration_s=None,
                stop=handle.stop,
                stats=handle.stats,
                config=config,
                **options_from_settings(settings),
            )
        except Exception:  # the platform keeps serving without its simulator
            log.exception("simulator_crashed")

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            handle.stop.clear()
            handle.task = asyncio.create_task(when_ready(), name="simulator")
            try:
                yield state
            finally:
                handle.stop.set()
                with suppress(Exception):
                    await asyncio.wait_for(handle.task, 15)

    app.router.lifespan_context = lifespan


def reachable(base_url: str) -> str:
    """A server bound to every interface (0.0.0.0, ::) is reached on loopback."""
    parts = urlsplit(base_url)
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(parts.hostname or "")
    if host is None:
        return base_url
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
