"""`python -m tools.bench_analytics --url URL --cases 10000000`: the scoreboards over millions of cases.

Creates a scratch database on the server at URL, migrates it, fills the read model with SQL
`generate_series` (cases, their dispatches and whistle summonses, spread over three years; cases
older than a month are settled, as in a city), sums them into the rollups with the bulk path
(`analytics.rollup.rebuild`; tests/integration/analytics/test_scores.py shows it gives the rollups
the fold keeps), then runs the scoreboard query (`analytics.scores.build`, the one behind
`GET /v1/kpis` and the Grafana scoreboard) for the last 30 days, the last 365 days and all time
up to "now" (mid-afternoon, so the partial days are read from the facts too), by department and by
street, and prints `scoreboard <period> <dimension>: median N ms`. The scratch database is dropped
afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from analytics.config import default_scoring
from analytics.rollup import ALL_SQL
from analytics.rollup import params as rollup_params
from analytics.scores import SET_WORK_MEM, Dimension, build, params
from shared.db.migrations import upgrade

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 1, 1, tzinfo=TZ)
DAYS = 3 * 365
NOW = START + timedelta(days=DAYS - 1, hours=15, minutes=30)
CHUNK = 1_000_000

FACTS = """
INSERT INTO analytics.case_facts (case_id, case_no, state, version, department_code, district_code, street_code,
    community_code, cell_code, category_scheme, category_code, category_kind, channel, received_at, filed_at,
    first_dispatched_at, dispatched_at, dispatch_count, return_count, acknowledge_due_at, acknowledged_at,
    first_contact_due_at, first_contact_at, first_contact_on_time, handle_due_at, handled_at, first_handled_at,
    handle_count, failed_verification_count, first_closed_at, closed_at, reopen_count, withdrawn_at,
    satisfaction, callback_count, escalation_count)
SELECT 'case-' || g, 'DC' || g,
    CASE WHEN r1 >= 0.98 THEN 'withdrawn' WHEN open THEN 'acknowledged' ELSE 'closed' END,
    8, 'D' || lpad((g % 12 + 1)::text, 2, '0'), '330102', street, street || lpad((g % 5 + 1)::text, 3, '0'),
    street || lpad((g % 5 + 1)::text, 3, '0') || lpad((g % 12 + 1)::text, 2, '0'), 'taxonomy',
    lpad((g % 30 + 1)::text, 4, '0'), CASE WHEN g % 2 = 0 THEN 'incident' ELSE 'component' END,
    (ARRAY['hotline', 'patrol', 'wechat', 'video', 'iot', 'open311'])[g % 6 + 1],
    filed - interval '12 minutes', filed, filed + interval '30 minutes', filed + interval '30 minutes',
    1, (r2 < 0.08)::int, filed + interval '90 minutes', filed + interval '30 minutes' + r2 * interval '2 hours',
    CASE WHEN g % 6 = 0 THEN filed + interval '1 day' END,
    CASE WHEN g % 6 = 0 THEN filed + r3 * interval '30 hours' END,
    CASE WHEN g % 6 = 0 THEN r3 < 0.8 END,
    filed + interval '2 days', CASE WHEN r1 < 0.98 AND NOT (open AND r2 < 0.5) THEN filed + r3 * interval '3 days' END,
    CASE WHEN r1 < 0.98 AND NOT (open AND r2 < 0.5) THEN filed + r3 * interval '3 days' END, 1, (r2 < 0.07)::int,
    CASE WHEN r1 < 0.98 AND NOT open THEN filed + r3 * interval '3 days' + interval '2 hours' END,
    CASE WHEN r1 < 0.98 AND NOT open THEN filed + r3 * interval '3 days' + interval '2 hours' END, (r3 < 0.03)::int,
    CASE WHEN r1 >= 0.98 THEN filed + interval '1 hour' END,
    CASE WHEN r1 < 0.6 THEN (ARRAY['satisfied', 'satisfied', 'satisfied', 'basic', 'unsatisfied'])[g % 5 + 1] END,
    (r1 < 0.6)::int, (r3 > 0.8)::int
FROM (SELECT *, r1 >= 0.9 AND r1 < 0.98 AND filed > $5::timestamptz - interval '30 days' AS open
      FROM (SELECT g, $3::timestamptz + (g::float8 / $4) * $6::int * interval '1 day' AS filed, random() AS r1,
                   random() AS r2, random() AS r3, '330102' || lpad((g % 8 + 1)::text, 3, '0') AS street
            FROM generate_series($1::bigint, $2::bigint) g) s0) s
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
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    memory = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def positional(sql: str, bind: dict[str, object]) -> tuple[str, list[object]]:
    names = sorted({n for n in bind if f":{n}" in sql}, key=len, reverse=True)
    for i, n in enumerate(names, 1):
        sql = sql.replace(f":{n}", f"${i}")
    return sql, [bind[n] for n in names]


async def run(url: str, cases: int, repeat: int, keep: bool) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"cityloop_analytics_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = dsn.rsplit("/", 1)[0] + "/" + name
    config = default_scoring()
    try:
        await upgrade("analytics", bench_url)
        conn = await asyncpg.connect(bench_url)
        try:
            info = machine()
            info["postgres"] = await conn.fetchval("SHOW server_version")
            for setting in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
                info[setting] = await conn.fetchval(f"SHOW {setting}")
            info["load average"] = (
                " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else ""
            )
            for key, value in info.items():
                print(f"{key:>32}: {value}")
            started = time.perf_counter()
            await conn.execute("SELECT setseed(0.42)")
            for low in range(1, cases + 1, CHUNK):
                await conn.execute(FACTS, low, min(low + CHUNK - 1, cases), START, cases, NOW, DAYS)
                print(f"  {min(low + CHUNK - 1, cases):>12,} cases loaded ({time.perf_counter() - started:.0f} s)")
            await conn.execute(DISPATCHES)
            await conn.execute(CHECKINS)
            print(f"{'facts':>32}: {time.perf_counter() - started:.1f} s for {cases:,} cases")
            t = time.perf_counter()
            sql, args = positional(ALL_SQL, rollup_params(config, 1))
            await conn.execute("SET work_mem = '256MB'")
            await conn.execute(sql, *args)
            await conn.execute("RESET work_mem")
            rows = await conn.fetchval("SELECT count(*) FROM analytics.score_rollup")
            buckets = await conn.fetchval("SELECT count(*) FROM analytics.handling_histogram")
            print(
                f"{'rollups (bulk path)':>32}: {time.perf_counter() - t:.1f} s, {rows:,} rollup rows, "
                f"{buckets:,} histogram rows"
            )
            for table in ("case_facts", "dispatches", "checkins", "score_rollup", "handling_histogram"):
                await conn.execute(f"VACUUM ANALYZE analytics.{table}")
            print(f"{'load':>32}: {time.perf_counter() - started:.1f} s")
            windows = (
                ("last month", NOW - timedelta(days=30)),
                ("last year", NOW - timedelta(days=365)),
                ("all time", START),
            )
            for label, start in windows:
                for dimension in (Dimension.DEPARTMENT, Dimension.STREET):
                    sql, args = positional(build(config, dimension), params(config, start, NOW, NOW))
                    statement = await conn.prepare(sql)
                    timings, result = [], []
                    for _ in range(repeat):
                        t = time.perf_counter()
                        async with conn.transaction():  # as `compute` runs it: with its SET LOCAL
                            await conn.execute(SET_WORK_MEM)
                            result = await statement.fetch(*args)
                        timings.append(time.perf_counter() - t)
                    total = sum(r["cases"] for r in result)
                    print(
                        f"scoreboard {label} {dimension.value}: median {statistics.median(timings) * 1000:.0f} ms "
                        f"(min {min(timings) * 1000:.0f} ms over {repeat} runs; {total:,} cases, "
                        f"{len(result)} groups)"
                    )
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url or CITYLOOP_DATABASE_URL is required")
    asyncio.run(run(args.url, args.cases, args.repeat, args.keep))


if __name__ == "__main__":
    main()
