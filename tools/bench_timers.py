"""Timer benchmark: `python -m tools.bench_timers --url postgresql://...` (what `make bench` runs).

Seeds 1,000,000 pending timers in a fresh database (with generate_series), then lets real pollers
fire what comes due and reports:

* a steady stream: 100,000 timers due evenly over 50 s: timers fired per second and the delay
  between due time and the committed firing (p50/p95/p99/max);
* a cohort: 100,000 timers due at the same instant (working-day deadlines pile up at close of
  office hours): how long the pollers take to drain it, at what rate, with what delays;
* the other 800,000 timers stay pending (due days later) the whole time, so every sweep works
  against a table of a million pending rows.

Time runs on an offset clock that starts at the seeded anchor when the pollers start, so seeding
time does not matter. Each fired timer writes its event to the outbox and an audit row, exactly
as in production; the database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import create_engine, session_factory
from shared.db.migrations import upgrade
from shared.db.outbox import Outbox
from shared.departments import DepartmentDirectory
from workflow.models import outbox
from workflow.schedule import Steps
from workflow.service import Workflow
from workflow.timers import TimerPoller

ANCHOR = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


@dataclass(frozen=True)
class Plan:
    """How many timers of each kind to seed; times are offsets from the anchor."""

    total: int = 1_000_000
    cohort: int = 100_000
    stream: int = 100_000
    stream_from_s: float = 5.0
    stream_to_s: float = 55.0
    cohort_at_s: float = 60.0

    @property
    def filler(self) -> int:
        """Deadlines whose next step is due days later. Every deadline has one pending timer, its next step
        (`workflow.schedule.Steps`): the cohort's reminder, the stream's warning, the filler's warning."""
        rest = self.total - self.cohort - self.stream
        if rest < 0:
            raise ValueError("total must be at least cohort + stream")
        return rest


class OffsetClock:
    """Wall-clock time shifted so it reads `start` at the moment it is created."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


_A = "CAST(:a AS timestamptz)"
_FAR = f"({_A} + make_interval(days => 1, secs => g % 2592000))"  # 1 to 31 days after the anchor
_COHORT_AT = f"({_A} + make_interval(secs => CAST(:at AS double precision)))"
_IN_STREAM = f"({_A} + make_interval(secs => :from + :span * (g - :c - 1)::float8 / greatest(:s, 1)))"


async def seed(engine: AsyncEngine, plan: Plan, anchor: datetime = ANCHOR) -> None:
    """One case and one deadline per group member, its timers as the plan says, all in SQL."""
    params = {
        "a": anchor,
        "n": plan.cohort + plan.stream + plan.filler,
        "c": plan.cohort,
        "s": plan.stream,
        "from": plan.stream_from_s,
        "span": plan.stream_to_s - plan.stream_from_s,
        "at": plan.cohort_at_s,
    }
    async with engine.begin() as conn:
        await conn.execute(
            text(f"""
            INSERT INTO workflow.cases (id, case_no, report_id, state, version, channel, category_scheme,
                category_code, category_kind, priority, deadline_profile, street_code, department_code,
                received_at, filed_at, updated_at)
            SELECT 'bench-' || g, 'BN' || lpad(g::text, 14, '0'), 'bench-r-' || g, 'dispatched', 2, 'patrol',
                'taxonomy', '0101', 'component', 'normal', 'bench', 'S01', 'WATER', {_A}, {_A}, {_A}
            FROM generate_series(1, :n) g"""),
            params,
        )
        await conn.execute(
            text(f"""
            INSERT INTO workflow.deadlines (id, case_id, kind, department_code, basis, start_at, due_at)
            OVERRIDING SYSTEM VALUE
            SELECT g, 'bench-' || g, 'handle', 'WATER', 'wall',
                CASE WHEN g <= :c THEN {_A} - interval '10 days' ELSE {_A} END,
                CASE WHEN g <= :c THEN {_COHORT_AT} ELSE {_FAR} END
            FROM generate_series(1, :n) g"""),
            params,
        )
        # Cohort deadlines (started ten days before): warned already, the reminder due at the cohort instant,
        # so their supervision steps fall days later. Stream deadlines: the warning due inside the stream
        # window. Filler: the warning days later. Firing a step writes the next one, as in production.
        await conn.execute(
            text(f"""
            INSERT INTO workflow.timers (case_id, deadline_id, kind, fire_kind, due_at, status, fired_at)
            SELECT 'bench-' || g, g, 'handle', step,
                CASE
                    WHEN g <= :c AND step = 'warn' THEN {_A}
                    WHEN g <= :c AND step = 'due' THEN {_COHORT_AT}
                    WHEN g > :c AND g <= :c + :s AND step = 'warn' THEN {_IN_STREAM}
                    ELSE {_FAR}
                END,
                CASE WHEN g <= :c AND step = 'warn' THEN 'fired' ELSE 'pending' END,
                CASE WHEN g <= :c AND step = 'warn' THEN {_A} END
            FROM generate_series(1, :n) g,
                 unnest(CASE WHEN g <= :c THEN ARRAY['warn', 'due'] ELSE ARRAY['warn'] END) step"""),
            params,
        )
        await conn.execute(text("SELECT setval(pg_get_serial_sequence('workflow.deadlines', 'id'), :n)"), params)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE workflow.timers"))
        await conn.execute(text("ANALYZE"))


@dataclass
class Fired:
    due: datetime
    committed: datetime


async def run_pollers(pollers: list[TimerPoller], expected: int, interval_s: float, timeout_s: float) -> list[Fired]:
    """Run the pollers as the worker does until `expected` timers fired; every firing with its commit time."""
    fired: list[Fired] = []
    clock = pollers[0].clock
    stop_at = time.monotonic() + timeout_s

    async def loop(poller: TimerPoller) -> None:
        while len(fired) < expected and time.monotonic() < stop_at:
            sweep = await poller.sweep()
            committed = clock.now()
            fired.extend(Fired(d, committed) for d in sweep.due_times)
            if sweep.fired < poller.batch_size:
                await asyncio.sleep(interval_s)

    await asyncio.gather(*(loop(p) for p in pollers))
    return fired


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else (values[0] if values else 0.0)


def summarise(name: str, fired: list[Fired]) -> dict[str, float | int | str]:
    if not fired:
        return {"phase": name, "fired": 0}
    delays = [(f.committed - f.due).total_seconds() for f in fired]
    first_due = min(f.due for f in fired)
    last_commit = max(f.committed for f in fired)
    span = (last_commit - first_due).total_seconds()
    return {
        "phase": name,
        "fired": len(fired),
        "wall_s": round(span, 2),
        "fired_per_s": round(len(fired) / span, 1) if span > 0 else float(len(fired)),
        "delay_p50_s": round(_pct(delays, 50), 3),
        "delay_p95_s": round(_pct(delays, 95), 3),
        "delay_p99_s": round(_pct(delays, 99), 3),
        "delay_max_s": round(max(delays), 3),
    }


def machine_info() -> dict[str, object]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
            mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
    }


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    plan = Plan(total=args.timers, cohort=args.cohort, stream=args.stream)
    db = f"cityloop_bench_{uuid.uuid4().hex[:8]}"
    base = args.url.rsplit("/", 1)[0]
    url = f"{base}/{db}"
    await _admin(args.url, f'CREATE DATABASE "{db}"')
    engine = create_engine(url, pool_size=args.pollers + 2, max_overflow=0)
    try:
        await upgrade("workflow", url)
        started = time.perf_counter()
        await seed(engine, plan)
        seeded_s = time.perf_counter() - started
        async with engine.connect() as conn:
            pg = (await conn.execute(text("SHOW server_version"))).scalar_one()
            pending = (
                await conn.execute(text("SELECT count(*) FROM workflow.timers WHERE status = 'pending'"))
            ).scalar_one()
        info = {
            **machine_info(),
            "postgres": pg,
            "pollers": args.pollers,
            "batch_size": args.batch_size,
            "poll_interval_s": args.interval,
            "pending_timers": pending,
            "seed_s": round(seeded_s, 1),
        }
        print("machine:", json.dumps(info, ensure_ascii=False), flush=True)

        clock = OffsetClock(ANCHOR)
        sessions = session_factory(engine)
        workflow = Workflow.load()
        steps = Steps(workflow.clockwork, workflow.rules)
        pollers = [
            TimerPoller(
                sessions,
                Outbox(outbox, "/cityloop/workflow", clock),
                clock,
                DepartmentDirectory([]),
                steps,
                batch_size=args.batch_size,
            )
            for _ in range(args.pollers)
        ]
        cohort_at = ANCHOR + timedelta(seconds=plan.cohort_at_s)
        fired = await run_pollers(pollers, plan.stream + plan.cohort, args.interval, args.timeout)
        stream = [f for f in fired if f.due < cohort_at]
        cohort = [f for f in fired if f.due == cohort_at]
        results = [
            summarise("stream (due evenly over 50 s)", stream),
            summarise(f"cohort ({plan.cohort} due at one instant)", cohort),
        ]
        for r in results:
            print(json.dumps(r, ensure_ascii=False), flush=True)
        if len(fired) < plan.stream + plan.cohort:
            print(f"timed out: {len(fired)} of {plan.stream + plan.cohort} fired", flush=True)
    finally:
        await engine.dispose()
        if not args.keep:
            await _admin(args.url, f'DROP DATABASE IF EXISTS "{db}"')


def cli() -> None:
    parser = argparse.ArgumentParser(description="Fire rate and delay of the workflow timers")
    parser.add_argument("--url", required=True, help="a PostgreSQL server URL; the bench creates its own database")
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--cohort", type=int, default=100_000)
    parser.add_argument("--stream", type=int, default=100_000)
    parser.add_argument("--pollers", type=int, default=2, help="concurrent pollers (replicas) sharing the table")
    parser.add_argument("--batch-size", type=int, default=500, help="timers per sweep (CITYLOOP_TIMER_BATCH_SIZE)")
    parser.add_argument("--interval", type=float, default=0.2, help="idle sleep (CITYLOOP_POLL_INTERVAL_S)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
