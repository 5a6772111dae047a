"""`python -m analytics.bench --url URL --cases 10000000`: time the department scoreboard over millions of cases.

Creates a scratch database on the server at URL, migrates it, fills the read model with SQL
`generate_series` (cases, their dispatches and whistle summonses, spread over a year), then runs
the scoreboard query (`analytics.scores.build`, the one behind `GET /v1/kpis?dimension=department`
and the Grafana scoreboard) for the last month and for the whole year, and prints the timings with
the machine it ran on. The scratch database is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from analytics.config import default_scoring
from analytics.scores import SET_WORK_MEM, Dimension, build, params
from shared.db.migrations import upgrade

START = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK = 1_000_000

FACTS = """
INSERT INTO analytics.case_facts (case_id, case_no, state, version, department_code, district_code, street_code,
    community_code, cell_code, category_scheme, category_code, category_kind, channel, received_at, filed_at,
    first_dispatched_at, dispatched_at, dispatch_count, return_count, acknowledge_due_at, acknowledged_at,
    first_contact_due_at, first_contact_at, first_contact_on_time, handle_due_at, handled_at, first_handled_at,
    handle_count, failed_verification_count, first_closed_at, closed_at, reopen_count, withdrawn_at,
    satisfaction, callback_count, escalation_count)
SELECT 'case-' || g, 'DC' || g,
    CASE WHEN r1 < 0.9 THEN 'closed' WHEN r1 < 0.98 THEN 'acknowledged' ELSE 'withdrawn' END,
    8, 'D' || lpad((g % 12 + 1)::text, 2, '0'), '330102', street, street || lpad((g % 5 + 1)::text, 3, '0'),
    street || lpad((g % 5 + 1)::text, 3, '0') || lpad((g % 12 + 1)::text, 2, '0'), 'taxonomy',
    lpad((g % 30 + 1)::text, 4, '0'), CASE WHEN g % 2 = 0 THEN 'incident' ELSE 'component' END,
    (ARRAY['hotline', 'patrol', 'wechat', 'video', 'iot', 'open311'])[g % 6 + 1],
    filed - interval '12 minutes', filed, filed + interval '30 minutes', filed + interval '30 minutes',
    1, (r2 < 0.08)::int, filed + interval '90 minutes', filed + interval '30 minutes' + r2 * interval '2 hours',
    CASE WHEN g % 6 = 0 THEN filed + interval '1 day' END,
    CASE WHEN g % 6 = 0 THEN filed + r3 * interval '30 hours' END,
    CASE WHEN g % 6 = 0 THEN r3 < 0.8 END,
    filed + interval '2 days', CASE WHEN r1 < 0.98 THEN filed + r3 * interval '3 days' END,
    CASE WHEN r1 < 0.98 THEN filed + r3 * interval '3 days' END, 1, (r2 < 0.07)::int,
    CASE WHEN r1 < 0.9 THEN filed + r3 * interval '3 days' + interval '2 hours' END,
    CASE WHEN r1 < 0.9 THEN filed + r3 * interval '3 days' + interval '2 hours' END, (r3 < 0.03)::int,
    CASE WHEN r1 >= 0.98 THEN filed + interval '1 hour' END,
    CASE WHEN r1 < 0.6 THEN (ARRAY['satisfied', 'satisfied', 'satisfied', 'basic', 'unsatisfied'])[g % 5 + 1] END,
    (r1 < 0.6)::int, (r3 > 0.8)::int
FROM (SELECT g, $3::timestamptz + (g::float8 / $4) * interval '365 days' AS filed, random() AS r1, random() AS r2,
             random() AS r3, '330102' || lpad((g % 8 + 1)::text, 3, '0') AS street
      FROM generate_series($1::bigint, $2::bigint) g) s
"""
DISPATCHES = """
INSERT INTO analytics.dispatches (case_id, seq, department_code, dispatched_at, acknowledge_due_at, acknowledged_at,
    responded_at, returned_at, filed_at)
SELECT case_id, 1, department_code, dispatched_at, acknowledge_due_at, acknowledged_at, acknowledged_at,
    CASE WHEN return_count > 0 THEN acknowledged_at END, filed_at
FROM analytics.case_facts
"""
CHECKINS = """
INSERT INTO analytics.checkins (case_id, whistle_seq, department_code, street_code, whistle_at, due_at, checked_in_at,
    filed_at)
SELECT case_id, 1, d, street_code, acknowledged_at, acknowledged_at + interval '2 hours',
    acknowledged_at + (random() * interval '150 minutes'), filed_at
FROM analytics.case_facts, unnest(ARRAY['D01', 'D02']) d
WHERE hashtext(case_id) % 33 = 0
"""


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "os": platform.platform(),
            "python": platform.python_version()}


async def run(url: str, cases: int, repeat: int, keep: bool) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"cityloop_analytics_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = dsn.rsplit("/", 1)[0] + "/" + name
    try:
        await upgrade("analytics", bench_url)
        conn = await asyncpg.connect(bench_url)
        try:
            info = machine()
            info["postgres"] = await conn.fetchval("SHOW server_version")
            for setting in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
                info[setting] = await conn.fetchval(f"SHOW {setting}")
            for key, value in info.items():
                print(f"{key:>32}: {value}")
            started = time.perf_counter()
            await conn.execute("SELECT setseed(0.42)")
            for low in range(1, cases + 1, CHUNK):
                await conn.execute(FACTS, low, min(low + CHUNK - 1, cases), START, cases)
                print(f"  {min(low + CHUNK - 1, cases):>12,} cases loaded ({time.perf_counter() - started:.0f} s)")
            await conn.execute(DISPATCHES)
            await conn.execute(CHECKINS)
            await conn.execute("VACUUM ANALYZE analytics.case_facts")
            await conn.execute("ANALYZE analytics.dispatches")
            await conn.execute("ANALYZE analytics.checkins")
            print(f"{'load':>32}: {time.perf_counter() - started:.1f} s for {cases:,} cases")
            config = default_scoring()
            end = START + timedelta(days=365)
            for label, start in (("last month", end - timedelta(days=30)), ("whole year", START)):
                sql = build(config, Dimension.DEPARTMENT)
                bind = params(config, start, end, end)
                names = sorted({n for n in bind if f":{n}" in sql}, key=len, reverse=True)
                positional = sql
                for i, n in enumerate(names, 1):
                    positional = positional.replace(f":{n}", f"${i}")
                statement = await conn.prepare(positional)
                timings, rows = [], []
                for _ in range(repeat):
                    t = time.perf_counter()
                    async with conn.transaction():  # as `compute` runs it: with its SET LOCAL
                        await conn.execute(SET_WORK_MEM)
                        rows = await statement.fetch(*[bind[n] for n in names])
                    timings.append(time.perf_counter() - t)
                in_range = await conn.fetchval("SELECT count(*) FROM analytics.case_facts "
                                               "WHERE filed_at >= $1 AND filed_at < $2", start, end)
                print(f"{'scoreboard ' + label:>32}: median {statistics.median(timings):.2f} s, "
                      f"min {min(timings):.2f} s over {repeat} runs; {in_range:,} cases, {len(rows)} departments")
        finally:
            await conn.close()
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("CITYLOOP_DATABASE_URL"), help="PostgreSQL server URL")
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url or CITYLOOP_DATABASE_URL is required")
    asyncio.run(run(args.url, args.cases, args.repeat, args.keep))


if __name__ == "__main__":
    main()
