"""`python -m tools.bench`: end-to-end throughput, latency and CPU per report of a running `make stack`.

Drives intake over HTTP with signed 12345 tickets at fixed offered rates (open loop: requests go out on
schedule whether or not earlier ones answered) in a stated load mix:

- **new** problems at distinct places (each becomes a case with its timers),
- **duplicates** of a problem sent a moment earlier, same text and place (merged into its case),
- text **no rule can decide** (queued for a dispatcher).

Each report is followed on Kafka to where it ends: its case dispatched (`cases.v1` CaseDispatched), its
merge (`cases.v1` ReportAttached) or the queue (`routing.decided.v1` ManualDispatchNeeded). Every process
of the stack is charged the CPU seconds it used from the step's start until the backlog drained, divided by
the reports that reached their end. The same run measures what the machine allows with the same durability
(raw aiokafka produce+consume, acks=all and idempotent; raw PostgreSQL single-row synchronous commits).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import platform
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import psutil
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from intake.signing import signed_headers

PROBLEMS = [  # texts the demo rules decide, of categories merged within 30 m (checked against route())
    ("{addr}的污水井盖破损塌陷", "general"),
    ("{addr}的雨水井盖丢失", "general"),
    ("{addr}垃圾桶满溢，垃圾堆在路边好几天了", "general"),
    ("{addr}路灯不亮已经一周", "general"),
    ("{addr}道路破损出现大坑，车辆经过很危险", "complex"),
    ("{addr}有人乱贴小广告", "general"),
    ("{addr}的消防栓漏水", "general"),
    ("{addr}的交通护栏损坏", "complex"),
    ("{addr}的公交站牌损坏", "general"),
]
SPACING_M = 35.0
"""New problems lie at least this far apart: further than the 30 m merge radius of every category above."""
UNDECIDABLE = [
    "您好，我想咨询一下{addr}那边的情况，麻烦你们了解一下",
    "我想反映一个问题，具体的我也说不清楚，在{addr}",
    "请问{addr}归哪里管，我有事想问问",
]
PATHS = ("case", "merge", "queue")
MIX = {"case": 0.7, "merge": 0.2, "queue": 0.1}
"""Share of each kind of report in the offered load (new problem, duplicate, undecidable)."""
PROCESSES = ["intake", "router", "workflow", "analytics", "kafka", "postgres"]


@dataclass
class Step:
    offered: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    shed: int = 0
    shed_with_retry_after: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ack_at: dict[str, float] = field(default_factory=dict)
    intended: dict[str, str] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PATHS})
    latency_of: dict[str, float] = field(default_factory=dict)
    reached: int = 0
    started: float = 0.0
    drain_s: float = float("nan")
    window_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    idle_cpu_s: dict[str, float] = field(default_factory=dict)
    """What each process would have used in the same window with no load (heartbeats, polls, timers)."""
    rss_mb: dict[str, float] = field(default_factory=dict)
    pg_commits: int = 0
    pg_rows_written: int = 0

    @property
    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies_ms.values() for v in values]

    def p99_by_slice(self, slice_s: float = 5.0) -> list[float]:
        """p99 ack → end of the reports acknowledged in each `slice_s` of the step: a stall shows where it was."""
        slices: dict[int, list[float]] = {}
        for report, acked in self.ack_at.items():
            latency = self.latency_of.get(report)
            if latency is not None:
                slices.setdefault(int((acked - self.started) // slice_s), []).append(latency)
        return [percentile(slices.get(i, []), 99) for i in range(max(slices, default=-1) + 1)]

    def cpu_ms_per_report(self, name: str) -> float:
        return self.cpu_s.get(name, 0.0) * 1000 / self.reached if self.reached else float("nan")

    def net_ms_per_report(self, name: str | None = None) -> float:
        """CPU above idle per report: what one more report costs, without the fixed background."""
        names = [name] if name else list(self.cpu_s)
        net = sum(self.cpu_s[n] - self.idle_cpu_s.get(n, 0.0) for n in names if n in self.cpu_s)
        return net * 1000 / self.reached if self.reached else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@dataclass(frozen=True)
class Place:
    name: str
    lon: float
    lat: float


def load_places(path: Path) -> list[Place]:
    """Named places of the demo gazetteer (the address a caller gives)."""
    data = orjson.loads(path.read_bytes())
    items = data.get("places", data) if isinstance(data, dict) else data
    return [Place(p["name"], p["lon"], p["lat"]) for p in items if p.get("kind") in ("road", "landmark", "community")]


def distinct_points(cells_path: Path, places: list[Place], seed: int) -> list[Place]:
    """Points spread over the district's grid cells, each ≥ SPACING_M from every other (so no two new
    problems merge by chance, however many a run sends), addressed by the nearest named place."""
    deg_lat = SPACING_M / 111_320
    deg_lon = SPACING_M / (111_320 * 0.77)  # cos(39.9°)
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}
    out: list[tuple[float, float]] = []
    for feature in orjson.loads(cells_path.read_bytes())["features"]:
        ring = feature["geometry"]["coordinates"][0][:-1]
        cx, cy = sum(x for x, _ in ring) / len(ring), sum(y for _, y in ring) / len(ring)
        for dx, dy in ((0, 0), (-1, -1), (1, -1), (-1, 1), (1, 1)):
            x, y = cx + dx * deg_lon, cy + dy * deg_lat
            gx, gy = int(x / deg_lon), int(y / deg_lat)
            near = [q for i in (-1, 0, 1) for j in (-1, 0, 1) for q in taken.get((gx + i, gy + j), [])]
            if all(((x - qx) / deg_lon) ** 2 + ((y - qy) / deg_lat) ** 2 >= 1 for qx, qy in near):
                taken.setdefault((gx, gy), []).append((x, y))
                out.append((x, y))
    random.Random(seed).shuffle(out)
    by_cell: dict[tuple[int, int], Place] = {}

    def nearest(x: float, y: float) -> Place:
        key = (int(x / 0.005), int(y / 0.005))
        if key not in by_cell:
            by_cell[key] = min(places, key=lambda p: (p.lon - x) ** 2 + (p.lat - y) ** 2)
        return by_cell[key]

    return [Place(nearest(x, y).name, round(x, 6), round(y, 6)) for x, y in out]


class LoadMix:
    """Tickets of the stated mix; a duplicate repeats a new problem sent at least `dup_after_s` earlier.

    New problems take the run's distinct points in turn, each template its own turn through them (problems of
    different categories never merge), so a run of `len(points) × len(PROBLEMS)` new problems has no chance
    merge.
    """

    def __init__(self, places: list[Place], points: list[Place], seed: int, dup_after_s: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.places = places
        self.points = points
        self.dup_after_s = dup_after_s
        self.recent: list[tuple[float, str, str, float, float, str]] = []
        self.new = 0

    def next(self, now: float) -> tuple[str, dict[str, object]]:
        rng = self.rng
        roll = rng.random()
        # the 200 newest problems sent at least dup_after_s ago (at 300/s every one of the newest 200 is younger)
        ripe_until = bisect.bisect_right(self.recent, now - self.dup_after_s, key=lambda r: r[0])
        ripe = self.recent[max(0, ripe_until - 200) : ripe_until]
        if roll < MIX["merge"] and ripe:
            _, content, address, lon, lat, klass = rng.choice(ripe)
            kind = "merge"
        elif MIX["merge"] <= roll < MIX["merge"] + MIX["queue"]:  # no ripe problem yet: a new one instead
            place = rng.choice(self.places)
            content, address, klass = rng.choice(UNDECIDABLE).format(addr=place.name), place.name, "general"
            lon, lat = place.lon, place.lat
            kind = "queue"
        else:
            template, klass = PROBLEMS[self.new % len(PROBLEMS)]
            point = self.points[(self.new // len(PROBLEMS)) % len(self.points)]
            self.new += 1
            content, address, lon, lat = template.format(addr=point.name), point.name, point.lon, point.lat
            self.recent.append((now, content, address, lon, lat, klass))
            del self.recent[:-1000]
            kind = "case"
        return kind, {
            "ticket_no": f"B{uuid.uuid4().hex[:16]}",
            "call_time": datetime.now(UTC).isoformat(),
            "caller": {"name": "市民", "phone": f"139{rng.randrange(10**8):08d}"},
            "content": content,
            "address": address,
            "location": {"lon": lon, "lat": lat},
            "hotline_class": klass,
        }


class Watcher:
    """Follows routing and case events from now on: report id → (path it took, when this process saw it)."""

    TOPICS = ("cases.v1", "routing.decided.v1")

    def __init__(self, bootstrap: str) -> None:
        # partitions assigned by hand, no group: a starved heartbeat can never reset the position to "latest"
        self.bootstrap = bootstrap
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.case_report: dict[str, str] = {}
        self.reached: dict[str, tuple[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        probe = AIOKafkaProducer(bootstrap_servers=self.bootstrap)  # its partitions_for() waits for metadata
        await probe.start()
        try:
            partitions = [TopicPartition(t, p) for t in self.TOPICS for p in sorted(await probe.partitions_for(t))]
        finally:
            await probe.stop()
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    event = orjson.loads(r.value or b"{}")
                    kind, data = event.get("type", ""), event.get("data", {})
                    if kind == "cityloop.case.filed.v1":
                        self.case_report[data["case_id"]] = data["report_id"]
                    elif kind == "cityloop.case.dispatched.v1":
                        report = self.case_report.get(data["case_id"])
                        if report:
                            self.reached.setdefault(report, ("case", now))
                    elif kind == "cityloop.case.report_attached.v1":
                        self.reached.setdefault(data["report_id"], ("merge", now))
                    elif kind == "cityloop.routing.manual.v1":
                        self.reached.setdefault(data["report_id"], ("queue", now))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


def stack_processes(stack_dir: Path) -> dict[str, list[psutil.Process]]:
    """Each service (all its replicas: `router.pid`, `router-2.pid`…), Kafka and the PostgreSQL postmaster."""
    procs: dict[str, list[psutil.Process]] = {}
    for pid_file in sorted(stack_dir.glob("*.pid")):
        try:
            procs.setdefault(pid_file.stem.split("-")[0], []).append(psutil.Process(int(pid_file.read_text())))
        except (ValueError, psutil.Error):
            pass
    kafka_pid = stack_dir / "kafka" / "kafka.pid"
    if kafka_pid.exists():
        procs["kafka"] = [psutil.Process(int(kafka_pid.read_text()))]
    pg_pid = stack_dir / "pg" / "postmaster.pid"
    if pg_pid.exists():
        procs["postgres"] = [psutil.Process(int(pg_pid.read_text().splitlines()[0]))]
    return procs


def tree_usage(procs: list[psutil.Process]) -> tuple[float, float]:
    """CPU seconds (user + system, from /proc/PID/stat) and RSS of processes and their children.

    PostgreSQL backends that exit during the step take their CPU with them; the stack's services hold
    pooled connections, so their backends live through the run.
    """
    cpu, rss = 0.0, 0.0
    for proc in procs:
        try:
            tree = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in tree:
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
                rss += p.memory_info().rss
            except psutil.Error:
                pass
    return cpu, rss / 2**20


async def idle_rates(procs: dict[str, list[psutil.Process]], seconds: float) -> dict[str, float]:
    """CPU seconds per second each process uses with no load at all."""
    before = {n: tree_usage(p)[0] for n, p in procs.items()}
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    return {n: (tree_usage(p)[0] - before[n]) / elapsed for n, p in procs.items()}


async def pg_counters(pg_url: str) -> tuple[int, int]:
    """Committed transactions and rows written in the database so far (a count the machine's load cannot skew)."""
    conn = await asyncpg.connect(pg_url)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS written "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(row["xact_commit"]), int(row["written"])
    finally:
        await conn.close()


async def run_step(
    step: Step,
    url: str,
    secret: str,
    mix: LoadMix,
    procs: dict[str, list[psutil.Process]],
    watcher: Watcher,
    concurrency: int,
    drain_timeout_s: float,
    idle: dict[str, float],
    pg_url: str,
) -> None:
    pg_before = await pg_counters(pg_url)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    before = {n: tree_usage(p) for n, p in procs.items()}
    started = step.started = time.perf_counter()
    async with aiohttp.ClientSession(base_url=url, connector=connector, timeout=timeout) as client:

        async def send_one(kind: str, ticket: dict[str, object]) -> None:
            body = orjson.dumps(ticket)
            headers = signed_headers(secret, body, datetime.now(UTC))
            sent_at = time.perf_counter()
            try:
                async with client.post("/v1/hotline/tickets", data=body, headers=headers) as response:
                    status, retry_after, answer = response.status, "Retry-After" in response.headers, None
                    if status in (200, 202):
                        answer = orjson.loads(await response.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                step.errors[type(exc).__name__] = step.errors.get(type(exc).__name__, 0) + 1
                return
            now = time.perf_counter()
            if answer is not None:
                step.accepted += 1
                report_id = answer["report_id"]
                step.ack_at[report_id] = now
                step.intended[report_id] = kind
                step.ack_ms.append((now - sent_at) * 1000)
            elif status == 503:
                step.shed += 1
                step.shed_with_retry_after += retry_after
            else:
                step.errors[str(status)] = step.errors.get(str(status), 0) + 1

        tasks = []
        total = int(step.offered * step.seconds)
        for i in range(total):
            target = started + i / step.offered
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, ticket = mix.next(time.perf_counter())
            tasks.append(asyncio.create_task(send_one(kind, ticket)))
            step.sent += 1
        await asyncio.gather(*tasks)
    sent_until = time.perf_counter()
    step.seconds = sent_until - started
    # the backlog drains: every acknowledged report reaches its case, merge or queue (or the timeout passes)
    while time.perf_counter() - sent_until < drain_timeout_s:
        if all(r in watcher.reached for r in step.ack_at):
            break
        await asyncio.sleep(0.05)
    reached = [watcher.reached[r] for r in step.ack_at if r in watcher.reached]
    last = max((at for _, at in reached), default=sent_until)
    step.drain_s = max(0.0, last - sent_until)
    await asyncio.sleep(1.0)  # what the last events set off downstream (analytics) belongs to this step
    after = {n: tree_usage(p) for n, p in procs.items()}
    pg_after = await pg_counters(pg_url)
    step.pg_commits, step.pg_rows_written = pg_after[0] - pg_before[0], pg_after[1] - pg_before[1]
    step.window_s = time.perf_counter() - started
    for name in procs:
        step.cpu_s[name] = after[name][0] - before[name][0]
        step.idle_cpu_s[name] = idle.get(name, 0.0) * step.window_s
        step.rss_mb[name] = after[name][1]
    for report, acked in step.ack_at.items():
        if report in watcher.reached:
            path, at = watcher.reached[report]
            step.reached += 1
            step.latencies_ms[path].append((at - acked) * 1000)
            step.latency_of[report] = (at - acked) * 1000


async def kafka_ceiling(bootstrap: str, n: int = 50_000, size: int = 1200) -> float:
    """Raw produce (idempotent, acks=all) + consume (group, commit per batch) messages/s."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, enable_auto_commit=False, auto_offset_reset="earliest"
    )
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
    return (
        f"{platform.platform()}, Python {platform.python_version()}, {psutil.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"load average before the run {load[0]:.1f}"
    )


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.0f}"


def report(steps: list[Step], kafka_rate: float, pg_rate: float, info: str) -> str:
    mix = ", ".join(
        f"{share:.0%} {what}"
        for what, share in (
            ("new problems at distinct places (→ case)", MIX["case"]),
            ("duplicates of a problem sent ≥ 1 s before (→ merge)", MIX["merge"]),
            ("text no rule can decide (→ queue)", MIX["queue"]),
        )
    )
    lines = [
        "## End-to-end (make stack: Kafka, PostgreSQL, each service its own process)",
        "",
        f"Machine: {info}. Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load mix: {mix}; signed 12345 tickets,",
        "sent open loop. *reached* = acknowledged reports seen at their case (CaseDispatched), merge (ReportAttached)",
        "or queue (ManualDispatchNeeded); *drain* = seconds after the last request until the last one got there.",
        "Latency is from the acknowledgement to that event.",
        "",
        f"Ceilings measured in the same run: raw aiokafka produce+consume **{kafka_rate:,.0f} msg/s**; "
        f"raw PostgreSQL single-row synchronous commits **{pg_rate:,.0f} rows/s** (16 connections).",
        "",
        "| offered/s | sent/s | acked/s | shed 503 | errors | reached/s | drain s | ack p99 ms "
        "| case p50/p99 ms | merge p50/p99 ms | queue p50/p99 ms | reached ÷ Kafka, ÷ PG ceiling |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in steps:
        lat = s.latencies_ms
        lines.append(
            f"| {s.offered:.0f} | {s.sent / s.seconds:.0f} | {s.accepted / s.seconds:.0f} | {s.shed} "
            f"| {sum(s.errors.values())} {dict(s.errors) if s.errors else ''} | {s.reached / s.seconds:.0f} "
            f"| {s.drain_s:.1f} | {_ms(percentile(s.ack_ms, 99))} | "
            + " | ".join(f"{_ms(percentile(lat[p], 50))} / {_ms(percentile(lat[p], 99))}" for p in PATHS)
            + f" | {s.reached / s.seconds / kafka_rate:.3f}, {s.reached / s.seconds / pg_rate:.3f} |"
        )
    lines += [
        "",
        "CPU per report: CPU seconds each process used from the step's start until the backlog drained (+1 s),",
        "divided by the reports that reached their case, merge or queue; *above idle* first subtracts what the",
        "processes use with no load in the same time (measured before the first step). RSS at the end of the step.",
        "",
        "| offered/s | reached | " + " | ".join(PROCESSES) + " | **total CPU ms/report** | above idle "
        f"| PG commits/report | RSS MB ({'/'.join(PROCESSES)}) |",
        "| --- | --- | " + " | ".join("---" for _ in PROCESSES) + " | --- | --- | --- | --- |",
    ]
    for s in steps:
        total = sum(s.cpu_s.values()) * 1000 / s.reached if s.reached else float("nan")
        lines.append(
            f"| {s.offered:.0f} | {s.reached} | "
            + " | ".join(f"{s.cpu_ms_per_report(n):.2f}" for n in PROCESSES)
            + f" | **{total:.2f}** | {s.net_ms_per_report():.2f} | {s.pg_commits / max(s.reached, 1):.1f} "
            + f"| {' / '.join(f'{s.rss_mb.get(n, 0):.0f}' for n in PROCESSES)} |"
        )
    return "\n".join(lines) + "\n"


def summary(step: Step) -> str:
    total = sum(step.cpu_s.values()) * 1000 / step.reached if step.reached else float("nan")
    per = " ".join(f"{n}={step.cpu_ms_per_report(n):.2f}" for n in PROCESSES)
    lat = step.latencies_ms
    return (
        f"offered {step.offered:.0f}/s: sent {step.sent / step.seconds:.0f}/s acked "
        f"{step.accepted / step.seconds:.0f}/s shed {step.shed} errors {step.errors} reached "
        f"{step.reached}/{step.accepted} drain {step.drain_s:.1f}s | p99 case {_ms(percentile(lat['case'], 99))} "
        f"merge {_ms(percentile(lat['merge'], 99))} queue {_ms(percentile(lat['queue'], 99))} ms "
        f"(n {len(lat['case'])}/{len(lat['merge'])}/{len(lat['queue'])}) | CPU ms/report {total:.2f} "
        f"(above idle {step.net_ms_per_report():.2f}): {per} | PG commits/report "
        f"{step.pg_commits / max(step.reached, 1):.1f}, rows written/report "
        f"{step.pg_rows_written / max(step.reached, 1):.1f} | p99 per 5 s: "
        + "/".join(_ms(v) for v in step.p99_by_slice())
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--pg", required=True)
    parser.add_argument("--stack-dir", default="var/stack")
    parser.add_argument("--rates", default="100,300,900", help="offered reports/s, one step each")
    parser.add_argument("--seconds", type=float, default=60, help="length of each step")
    parser.add_argument("--drain-timeout", type=float, default=30)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1000,
        help="HTTP connections to intake, at most: callers are many and open connections as they need them; a small "
        "pool would queue the excess in this client until it timed out, hiding how intake itself sheds overload",
    )
    parser.add_argument("--no-ceilings", action="store_true", help="skip the Kafka and PostgreSQL ceilings")
    parser.add_argument("--idle-seconds", type=float, default=10, help="how long to measure the idle CPU")
    parser.add_argument("--secret", default=os.environ.get("CITYLOOP_HOTLINE_HMAC_SECRET", "dev-only-hotline-secret"))
    parser.add_argument("--seed", type=int, default=7, help="another seed sends other new problems (a reused stack)")
    parser.add_argument("--out", default="var/bench-e2e.md")
    args = parser.parse_args()
    info = machine()
    places = load_places(Path("deploy/demo/gazetteer.json"))
    points = distinct_points(Path("deploy/demo/cells.geojson"), places, seed=args.seed)
    mix = LoadMix(places, points, seed=args.seed)  # one for the run: no step repeats an earlier step's new problems
    print(f"{len(points):,} distinct points × {len(PROBLEMS)} problems for new reports", flush=True)
    procs = stack_processes(Path(args.stack_dir))
    watcher = Watcher(args.bootstrap)
    await watcher.start()
    idle = await idle_rates(procs, args.idle_seconds)
    print("idle CPU %: " + " ".join(f"{n}={100 * v:.1f}" for n, v in idle.items()), flush=True)
    steps = []
    for rate in (float(r) for r in args.rates.split(",")):
        step = Step(rate, args.seconds)
        await run_step(
            step,
            args.url,
            args.secret,
            mix,
            procs,
            watcher,
            args.concurrency,
            args.drain_timeout,
            idle,
            args.pg.replace("postgresql+asyncpg://", "postgresql://"),
        )
        steps.append(step)
        print(summary(step), flush=True)
    await watcher.stop()
    kafka_rate = pg_rate = float("nan")
    if not args.no_ceilings:
        kafka_rate = await kafka_ceiling(args.bootstrap)
        pg_rate = await postgres_ceiling(args.pg.replace("postgresql+asyncpg://", "postgresql://"))
        print(f"ceilings: kafka {kafka_rate:,.0f} msg/s, postgres {pg_rate:,.0f} commits/s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report(steps, kafka_rate, pg_rate, info))
    print(f"written {args.out}")


if __name__ == "__main__":
    uvloop.run(main())  # the services' event loop too: the load generator shares their 2 cores
