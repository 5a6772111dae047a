"""`python -m services.bench`: end-to-end throughput and latency of a running `make stack`, with ceilings.

Drives intake over HTTP at rising offered rates (open loop: requests are sent on schedule whether or not
earlier ones answered), watches `cases.v1` on Kafka for each report's CaseDispatched, and measures in the
same run what the machine allows: raw aiokafka produce+consume and raw PostgreSQL inserts with the same
durability (acks=all, idempotent producer; one synchronous commit per report).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from intake.signing import signed_headers

TEMPLATES = [
    ("{addr}的井盖破损了，行人容易踩空，请尽快处理", "general"),
    ("{addr}有人占道经营摆摊，影响通行", "general"),
    ("{addr}垃圾桶满溢，垃圾堆在路边好几天了", "general"),
    ("{addr}路灯不亮已经一周", "general"),
    ("{addr}道路破损出现大坑，车辆经过很危险", "complex"),
    ("{addr}绿地里堆放了很多建筑材料", "general"),
    ("{addr}有车辆违章停在人行道上", "general"),
    ("{addr}下水道堵塞，污水外溢", "complex"),
]


@dataclass
class Step:
    offered: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ack_at: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    dispatched: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def load_addresses(path: Path) -> list[str]:
    if path.exists():
        places = orjson.loads(path.read_bytes())
        items = places.get("places", places) if isinstance(places, dict) else places
        names = [p["name"] for p in items if p.get("kind") in ("road", "landmark", "poi", "community")]
        if names:
            return names
    return ["演示区和平街道"]


class CaseWatcher:
    """Follows cases.v1 from now on: report id → time its case was dispatched (as this process saw it)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer("cases.v1", bootstrap_servers=bootstrap, auto_offset_reset="latest",
                                         enable_auto_commit=False, group_id=f"bench-{uuid.uuid4().hex[:6]}")
        self.case_report: dict[str, str] = {}
        self.dispatched_at: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        while not self.consumer.assignment():
            await asyncio.sleep(0.1)
        await self.consumer.seek_to_end()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    event = orjson.loads(r.value or b"{}")
                    data = event.get("data", {})
                    if event.get("type") == "cityloop.case.filed.v1":
                        self.case_report[data["case_id"]] = data["report_id"]
                    elif event.get("type") == "cityloop.case.dispatched.v1":
                        report = self.case_report.get(data["case_id"])
                        if report and report not in self.dispatched_at:
                            self.dispatched_at[report] = now

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


def stack_processes(stack_dir: Path) -> dict[str, psutil.Process]:
    procs: dict[str, psutil.Process] = {}
    for pid_file in stack_dir.glob("*.pid"):
        try:
            procs[pid_file.stem] = psutil.Process(int(pid_file.read_text()))
        except (ValueError, psutil.Error):
            pass
    kafka_pid = stack_dir / "kafka" / "kafka.pid"
    if kafka_pid.exists():
        procs["kafka"] = psutil.Process(int(kafka_pid.read_text()))
    pg_pid = stack_dir / "pg" / "postmaster.pid"
    if pg_pid.exists():
        postmaster = psutil.Process(int(pg_pid.read_text().splitlines()[0]))
        procs["postgres"] = postmaster
    return procs


def tree_usage(proc: psutil.Process) -> tuple[float, float]:
    """CPU seconds and RSS of a process and its children (PostgreSQL backends)."""
    cpu, rss = 0.0, 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.Error:
            pass
    return cpu, rss / 2**20


async def run_step(step: Step, url: str, secret: str, addresses: list[str], procs: dict[str, psutil.Process],
                   watcher: CaseWatcher, concurrency: int) -> None:
    rng = random.Random(int(step.offered))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    before = {n: tree_usage(p) for n, p in procs.items()}
    started = time.perf_counter()
    sem = asyncio.Semaphore(concurrency * 4)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def send_one(i: int) -> None:
            text, klass = rng.choice(TEMPLATES)
            body = orjson.dumps({
                "ticket_no": f"B{uuid.uuid4().hex[:16]}",
                "call_time": datetime.now(UTC).isoformat(),
                "caller": {"name": "市民", "phone": f"139{rng.randrange(10**8):08d}"},
                "content": text.format(addr=rng.choice(addresses)),
                "address": rng.choice(addresses),
                "hotline_class": klass,
            })
            headers = signed_headers(secret, body, datetime.now(UTC))
            async with sem:
                try:
                    response = await client.post("/v1/hotline/tickets", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    step.errors[type(exc).__name__] = step.errors.get(type(exc).__name__, 0) + 1
                    return
            if response.status_code in (200, 202):
                step.accepted += 1
                step.ack_at[response.json()["report_id"]] = time.perf_counter()
            else:
                step.errors[str(response.status_code)] = step.errors.get(str(response.status_code), 0) + 1

        tasks = []
        total = int(step.offered * step.seconds)
        for i in range(total):
            target = started + i / step.offered
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send_one(i)))
            step.sent += 1
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(5)  # let the pipeline drain what was accepted
    after = {n: tree_usage(p) for n, p in procs.items()}
    step.seconds = elapsed
    for name in procs:
        step.cpu[name] = (after[name][0] - before[name][0]) / elapsed * 100
        step.rss_mb[name] = after[name][1]
    for report, acked in step.ack_at.items():
        done = watcher.dispatched_at.get(report)
        if done is not None:
            step.dispatched += 1
            step.latencies_ms.append((done - acked) * 1000)


async def kafka_ceiling(bootstrap: str, n: int = 50_000, size: int = 1200) -> float:
    """Raw produce (idempotent, acks=all) + consume (group, commit per batch) messages/s."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await producer.start()
    await consumer.start()
    payload = os.urandom(size // 2).hex().encode()
    started = time.perf_counter()
    futures = [await producer.send(topic, payload, key=str(i % 97).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    got = 0
    while got < n:
        batch = await consumer.getmany(timeout_ms=500, max_records=5000)
        got += sum(len(v) for v in batch.values())
        await consumer.commit()
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return n / elapsed


async def postgres_ceiling(pg_url: str, seconds: float = 10, concurrency: int = 16) -> float:
    """Raw single-row inserts, each its own synchronous commit, from `concurrency` connections."""
    pool = await asyncpg.create_pool(pg_url, min_size=concurrency, max_size=concurrency)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial primary key, body jsonb)")
    body = orjson.dumps({"content": "井盖破损" * 20, "phone": "139****0000"}).decode()
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                await conn.execute("INSERT INTO bench_raw (body) VALUES ($1::jsonb)", body)
                count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = count / (time.perf_counter() - started)
    await pool.execute("DROP TABLE bench_raw")
    await pool.close()
    return rate


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.platform()}, Python {platform.python_version()}, {psutil.cpu_count()} cores "
            f"({platform.processor() or platform.machine()}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"load average before the run {load[0]:.1f}")


def report(steps: Iterable[Step], kafka_rate: float, pg_rate: float, info: str) -> str:
    lines = [
        "## End-to-end (make stack: Kafka, PostgreSQL, each service its own process)",
        "",
        f"Machine: {info}. Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Ceilings measured in the same run: raw aiokafka produce+consume **{kafka_rate:,.0f} msg/s**; "
        f"raw PostgreSQL single-row synchronous commits **{pg_rate:,.0f} rows/s** (16 connections).",
        "",
        "| offered/s | accepted/s | dispatched/s | p50 ms | p95 ms | p99 ms | errors | accepted ÷ PG ceiling "
        "| CPU % (intake/router/workflow/analytics/kafka/postgres) | RSS MB (same order) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = ["intake", "router", "workflow", "analytics", "kafka", "postgres"]
    for s in steps:
        accepted = s.accepted / s.seconds
        dispatched = s.dispatched / s.seconds
        lines.append(
            f"| {s.offered:.0f} | {accepted:.0f} | {dispatched:.0f} | {percentile(s.latencies_ms, 50):.0f} "
            f"| {percentile(s.latencies_ms, 95):.0f} | {percentile(s.latencies_ms, 99):.0f} "
            f"| {sum(s.errors.values())} {dict(s.errors) if s.errors else ''} | {accepted / pg_rate:.2f} "
            f"| {' / '.join(f'{s.cpu.get(n, 0):.0f}' for n in names)} "
            f"| {' / '.join(f'{s.rss_mb.get(n, 0):.0f}' for n in names)} |"
        )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--pg", required=True)
    parser.add_argument("--stack-dir", default="var/stack")
    parser.add_argument("--rates", default="50,100,200,400,800")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--secret", default=os.environ.get("CITYLOOP_HOTLINE_HMAC_SECRET", "dev-only-hotline-secret"))
    parser.add_argument("--out", default="var/bench-e2e.md")
    args = parser.parse_args()
    info = machine()
    addresses = load_addresses(Path("deploy/demo/gazetteer.json"))
    procs = stack_processes(Path(args.stack_dir))
    watcher = CaseWatcher(args.bootstrap)
    await watcher.start()
    steps = []
    for rate in (float(r) for r in args.rates.split(",")):
        step = Step(rate, args.seconds)
        await run_step(step, args.url, args.secret, addresses, procs, watcher, args.concurrency)
        steps.append(step)
        print(f"offered {rate:.0f}/s: accepted {step.accepted / step.seconds:.0f}/s, dispatched "
              f"{step.dispatched / step.seconds:.0f}/s, p50 {percentile(step.latencies_ms, 50):.0f} ms, "
              f"p99 {percentile(step.latencies_ms, 99):.0f} ms, errors {step.errors}", flush=True)
    await watcher.stop()
    kafka_rate = await kafka_ceiling(args.bootstrap)
    pg_rate = await postgres_ceiling(args.pg.replace("postgresql+asyncpg://", "postgresql://"))
    print(f"ceilings: kafka {kafka_rate:,.0f} msg/s, postgres {pg_rate:,.0f} commits/s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report(steps, kafka_rate, pg_rate, info))
    print(f"written {args.out}; median of medians "
          f"{statistics.median([percentile(s.latencies_ms, 50) for s in steps]):.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
