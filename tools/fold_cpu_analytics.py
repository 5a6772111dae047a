"""`python -m tools.fold_cpu_analytics --url URL`: CPU per event of the analytics fold, with and without rollups.

Folds a generated history (tests/support/case_history.py, the one the oracle test uses) into a
scratch database through the consumer's batch handler, in polls of `--batch` events (1 = the
live path of one event per transaction), and prints the process CPU of Python and of the
PostgreSQL backends (from /proc) per event. `--without-rollups` folds without keeping the rollups
(the fold as it was before them), for the before/after comparison. CPU time, not wall time, so a
busy machine changes the numbers little.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from pathlib import Path

import asyncpg

from analytics import rollup
from analytics.handlers import processor
from shared.db.engine import create_engine, session_factory
from shared.db.migrations import upgrade
from tests.support.case_history import CASES_TOPIC, generate

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def _backends_cpu(admin: asyncpg.Connection, database: str) -> float:
    pids = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    total = 0.0
    for row in pids:
        try:
            total += _cpu(row["pid"])
        except FileNotFoundError:
            pass
    return total


async def run(url: str, cases: int, batch: int, without_rollups: bool) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    name = f"cityloop_fold_cpu_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    db_url = dsn.rsplit("/", 1)[0] + "/" + name
    if without_rollups:

        async def _skip(*_: object) -> None:
            return None

        rollup.retract = rollup.add = _skip  # type: ignore[assignment]
    try:
        await upgrade("analytics", db_url)
        history = generate(cases, seed=3)
        messages = list(history.messages(CASES_TOPIC))
        engine = create_engine(db_url.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1, max_overflow=0)
        projector = processor(session_factory(engine))
        await projector.handle_batch(messages[:batch])  # connect and warm up outside the measurement
        rest = messages[batch:]
        py0, pg0, wall0 = time.process_time(), await _backends_cpu(admin, name), time.perf_counter()
        for i in range(0, len(rest), batch):
            await projector.handle_batch(rest[i : i + batch])
        py1, pg1, wall1 = time.process_time(), await _backends_cpu(admin, name), time.perf_counter()
        await engine.dispose()
        n = len(rest)
        label = "without rollups" if without_rollups else "with rollups"
        print(
            f"fold {label}, polls of {batch}: {n:,} events; CPU per event: python {1e3 * (py1 - py0) / n:.3f} ms, "
            f"postgres {1e3 * (pg1 - pg0) / n:.3f} ms, total {1e3 * (py1 - py0 + pg1 - pg0) / n:.3f} ms "
            f"(wall {wall1 - wall0:.1f} s; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])})"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("CITYLOOP_DATABASE_URL"), help="PostgreSQL server URL")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--without-rollups", action="store_true")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url or CITYLOOP_DATABASE_URL is required")
    asyncio.run(run(args.url, args.cases, args.batch, args.without_rollups))


if __name__ == "__main__":
    main()
