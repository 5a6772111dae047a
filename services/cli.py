"""`cityloop`: run services, migrate schemas, create topics, replay a topic."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI

from services import registry
from shared.logging import configure_logging
from shared.settings import Settings, UnsafeSettings, get_settings

app = typer.Typer(help="CityLoop city operations platform", no_args_is_help=True)


@app.callback()
def _refuse_unsafe_settings() -> None:
    """Before any command: in production, development secrets, demo users or keys, or open CORS stop the process."""
    try:
        get_settings()
    except UnsafeSettings as exc:
        typer.echo(f"cityloop: {exc}", err=True)
        raise typer.Exit(2) from exc


def _settings_with_database(settings: Settings) -> tuple[Settings, object | None]:
    """Without CITYLOOP_DATABASE_URL, start the embedded PostgreSQL under the data directory."""
    if settings.database_url:
        return settings, None
    from services.pgserver import PostgresServer

    server = PostgresServer(settings.data_dir.resolve() / "pg").start()
    return settings.model_copy(update={"database_url": server.url}), server


@app.command()
def run(
    service: Annotated[str, typer.Argument(help="intake | router | workflow | analytics | all (comma list ok)")],
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    simulate: Annotated[float, typer.Option(help="start the traffic simulator at this many reports/minute")] = 0.0,
) -> None:
    """Run one service per process (production), or all in one process (`all`, what `make run` uses)."""
    import uvicorn

    from services.runtime import Platform, create_app

    settings = get_settings()
    if simulate > 0 and settings.environment == "prod":
        raise typer.BadParameter(
            "the simulator files made-up reports: it never runs in production (CITYLOOP_ENVIRONMENT=prod)",
            param_hint="--simulate",
        )
    configure_logging(settings.log_level, settings.log_json)
    _log_environment(settings)
    settings, server = _settings_with_database(settings)
    platform = Platform(registry.load_many(service), settings)
    api = create_app(platform)
    if simulate > 0:
        _attach_simulator(api, settings, host or settings.http_host, port or settings.http_port, simulate)
    config = uvicorn.Config(
        api,
        host=host or settings.http_host,
        port=port or settings.http_port,
        loop="uvloop",
        log_level="warning",
        lifespan="on",
    )
    try:
        uvicorn.Server(config).run()
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


def _log_environment(settings: Settings) -> None:
    """The first log line says which mode this is, so nobody mistakes a demo for a deployment."""
    from shared.logging import get_logger

    log = get_logger("cityloop")
    if settings.environment == "prod":
        log.info("environment", environment="prod")
        return
    unsafe = settings.model_copy(update={"environment": "prod"}).production_problems()
    log.warning(
        "environment",
        environment=settings.environment,
        note="development mode: not for citizens' data; CITYLOOP_ENVIRONMENT=prod refuses these settings",
        unsafe_settings=unsafe,
    )


def _attach_simulator(api: FastAPI, settings: Settings, host: str, port: int, per_minute: float) -> None:
    from tools.simulate import start_in_background

    start_in_background(api, f"http://{host}:{port}", settings, per_minute)


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="the platform's base URL")] = "http://127.0.0.1:8000",
    rate: Annotated[float, typer.Option(help="reports per wall-clock minute")] = 20.0,
    seed: Annotated[int, typer.Option(help="same seed, same city")] = 1,
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds (default: Ctrl-C)")] = None,
) -> None:
    """Drive a running platform with a simulated city: reporters on every channel and the people who work cases."""
    from tools.simulate import options_from_settings, run_simulation

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    stats = asyncio.run(
        run_simulation(url, rate_per_minute=rate, seed=seed, duration_s=duration, **options_from_settings(settings))
    )
    typer.echo(stats.summary())


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="service name or all")] = "all") -> None:
    """Apply each service's Alembic migrations to its own schema."""
    from shared.db.migrations import upgrade

    settings, server = _settings_with_database(get_settings())
    try:
        for definition in registry.load_many(service):
            asyncio.run(upgrade(definition.package, settings.database_url))
            typer.echo(f"{definition.name}: schema {definition.schema} at head")
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


@app.command()
def topics(partitions: Annotated[int, typer.Option(help="partitions per event topic")] = 6) -> None:
    """Create every event topic (and its dead-letter topic) on the configured bus."""
    from shared.bus.kafka import KafkaBus
    from shared.bus.topics import platform_topics

    settings = get_settings()
    specs = platform_topics(partitions)

    async def create() -> None:
        bus = KafkaBus(settings.kafka_bootstrap, settings.kafka_client_id, settings.kafka_replication_factor)
        await bus.ensure_topics(specs)

    asyncio.run(create())
    for spec in specs:
        typer.echo(f"{spec.name}: {spec.partitions} partitions")


@app.command()
def replay(
    service: Annotated[str, typer.Argument(help="the consuming service, which must be stopped")],
    topic: Annotated[str, typer.Option(help="topic to re-consume")] = "cases.v1",
    since: Annotated[str | None, typer.Option(help="ISO time to start from; default: offset zero")] = None,
    rebuild: Annotated[bool, typer.Option(help="drop the service's read models first")] = False,
) -> None:
    """Move the service's consumer groups back so it re-consumes `topic` when it next starts."""
    from services.runtime import Platform

    definition = registry.load(service)
    settings, server = _settings_with_database(get_settings())
    to_time = datetime.fromisoformat(since) if since else None

    async def go() -> None:
        platform = Platform([definition], settings.model_copy(update={"run_workers": False}))
        await platform.bus.start()
        try:
            if rebuild:
                if definition.reset is None:
                    raise typer.BadParameter(f"{service} has no read models to rebuild")
                async with platform.sessions() as session, session.begin():
                    await definition.reset(session)
            for spec in definition.consumers:
                if topic in spec.topics:
                    moved = await platform.bus.reset_offsets(spec.group, topic, to_time=to_time)
                    typer.echo(f"group {spec.group}: {topic} offsets {dict(moved)}")
        finally:
            await platform.stop()

    try:
        asyncio.run(go())
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


export_app = typer.Typer(help="Export tables for reporting upward", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("indicators")
def export_indicators(
    period: Annotated[str, typer.Option(help="YYYY-MM, YYYY-Qn or YYYY (local calendar)")],
    dimension: Annotated[str, typer.Option(help="department | street")] = "department",
    format: Annotated[str, typer.Option(help="csv | json")] = "csv",
    out: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
) -> None:
    """The period's indicator table (指标数据表) from the analytics rollups, as GET /v1/indicators gives it."""
    from zoneinfo import ZoneInfo

    from analytics import schemas
    from analytics import service as analytics_service
    from analytics.config import AnalyticsSettings, ScoringConfig
    from analytics.targets import parse_period
    from shared.clock import SystemClock
    from shared.db.engine import create_engine, session_factory
    from shared.errors import DomainError

    if format not in ("csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--format")
    config = ScoringConfig.load(AnalyticsSettings().scoring_path)
    try:
        span = parse_period(period, ZoneInfo(config.timezone))
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    settings, server = _settings_with_database(get_settings())

    async def go() -> str:
        engine = create_engine(settings.database_url or "")
        try:
            now = SystemClock().now()
            async with session_factory(engine)() as session:
                rows = await analytics_service.indicator_table(session, config, span, dimension, now)
        finally:
            await engine.dispose()
        if format == "csv":
            return analytics_service.to_csv(rows, key_header=dimension)
        answer = schemas.Indicators.model_validate(
            {
                "from": span.start,
                "to": span.end,
                "as_of": now,
                "period": span.label,
                "dimension": dimension,
                "rows": [
                    {"period": r.period, "key": r.key, "scores": {n: vars(v) for n, v in r.scores.items()}}
                    for r in rows
                ],
            }
        )
        return answer.model_dump_json(by_alias=True, indent=2) + "\n"

    try:
        text = asyncio.run(go())
    except DomainError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@app.command("pg")
def pg(
    action: Annotated[str, typer.Argument(help="start | stop | url")],
    data_dir: Annotated[Path, typer.Option(help="PGDATA")] = Path("var/pg"),
) -> None:
    """Manage the embedded PostgreSQL server used by `make run` and `make stack`."""
    from services.pgserver import PostgresServer

    server = PostgresServer(data_dir)
    if action == "start":
        server.start()
    elif action == "stop":
        server.stop()
    typer.echo(server.url)


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
