"""1 replica vs 2 replicas of every service on the same machine, under the same open-loop load.

For each replica count: `REPLICAS=n deploy/stack.sh start`, signed 12345 tickets at a fixed rate spread over the
intake replicas, then wait until every acknowledged report is in a case or the dispatchers' queue. Prints the
rate that was kept up (settled reports ÷ time until the last one settled), latency from acknowledgement to
the report's case, merge or queue event on Kafka, and CPU milliseconds per report of each kind of process (all
its replicas together).

    python -m tools.bench_replicas --replicas 1,2 --rate 40 --seconds 20 --out var/bench/replicas.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psutil

from intake.signing import signed_headers
from tools.bench import Watcher

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "router", "workflow", "analytics")
GROUPS = (*SERVICES, "kafka", "postgres")
TEXTS = [
    "{a}有人占道经营摆摊",
    "{a}垃圾桶满溢无人清理",
    "{a}路灯不亮",
    "{a}道路破损有大坑",
    "{a}污水井盖丢了",
    "{a}绿化带里堆放建筑垃圾",
    "{a}机动车违章停在人行道上",
]


@dataclass
class Run:
    replicas: int
    offered: float
    seconds: float = 0.0
    accepted: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    settled: int = 0
    settle_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def kept_up(self) -> float:
        """Reports settled per second, counted until the last of them settled."""
        return self.settled / self.settle_s if self.settle_s else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def addresses() -> list[str]:
    gazetteer = orjson.loads((ROOT / "deploy/demo/gazetteer.json").read_bytes())
    return [p["name"] for p in gazetteer["places"] if p.get("kind") in ("road", "landmark")]


def processes(stack_dir: Path) -> dict[str, list[psutil.Process]]:
    """Every process of the stack by kind: a service's replicas (router, router-2, …) count together."""
    found: dict[str, list[psutil.Process]] = {g: [] for g in GROUPS}
    for pid_file in stack_dir.glob("*.pid"):
        try:
            found[pid_file.stem.split("-", 1)[0]].append(psutil.Process(int(pid_file.read_text())))
        except (KeyError, ValueError, psutil.Error):
            pass
    kafka_pid = stack_dir / "kafka" / "kafka.pid"
    if kafka_pid.exists():
        found["kafka"].append(psutil.Process(int(kafka_pid.read_text())))
    pg_pid = stack_dir / "pg" / "postmaster.pid"
    if pg_pid.exists():
        found["postgres"].append(psutil.Process(int(pg_pid.read_text().splitlines()[0])))
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of the processes and their children (PostgreSQL backends, the broker's JVM threads)."""
    total = 0.0
    for proc in procs:
        try:
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in family:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


def stack(command: str, replicas: int, stack_dir: Path) -> str:
    env = {**os.environ, "REPLICAS": str(replicas), "STACK_DIR": str(stack_dir)}
    done = subprocess.run(
        [str(ROOT / "deploy/stack.sh"), command], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"deploy/stack.sh {command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


async def offer(run: Run, urls: list[str], seconds: float, secret: str, places: list[str]) -> dict[str, float]:
    """Open loop: ticket i is sent at start + i/rate whatever happened to the ones before."""
    rng = random.Random(run.replicas)
    acked: dict[str, float] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=30) for u in urls]
    try:

        async def send(i: int) -> None:
            place = rng.choice(places)
            body = orjson.dumps(
                {
                    "ticket_no": f"R{uuid.uuid4().hex[:16]}",
                    "call_time": datetime.now(UTC).isoformat(),
                    "caller": {"name": "市民", "phone": f"139{rng.randrange(10**8):08d}"},
                    "content": rng.choice(TEXTS).format(a=place),
                    "address": place,
                }
            )
            try:
                r = await clients[i % len(clients)].post(
                    "/v1/hotline/tickets", content=body, headers=signed_headers(secret, body, datetime.now(UTC))
                )
            except httpx.HTTPError as exc:
                run.errors[type(exc).__name__] = run.errors.get(type(exc).__name__, 0) + 1
                return
            if r.status_code in (200, 202):
                acked[r.json()["report_id"]] = time.perf_counter()
            else:
                run.errors[str(r.status_code)] = run.errors.get(str(r.status_code), 0) + 1

        tasks, started = [], time.perf_counter()
        for i in range(int(run.offered * seconds)):
            delay = started + i / run.offered - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i)))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
    finally:
        for c in clients:
            await c.aclose()
    run.accepted = len(acked)
    return acked


async def settle(run: Run, watcher: Watcher, acked: dict[str, float], started: float, timeout_s: float) -> None:
    """Wait until every acknowledged report is seen on Kafka at its case, merge or queue; latency is from the
    acknowledgement to that event. (Not intake's status time: every later version of the case moves it.)"""
    deadline = time.monotonic() + timeout_s
    while not all(r in watcher.reached for r in acked) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    reached = {r: watcher.reached[r][1] for r in acked if r in watcher.reached}
    run.settled = len(reached)
    run.settle_s = max(max(reached.values(), default=started) - started, 1e-9)
    run.latencies_ms = [max(at - acked[r], 0) * 1000 for r, at in reached.items()]


async def measure(replicas: int, rate: float, seconds: float, secret: str, base_port: int) -> Run:
    stack_dir = ROOT / "var" / f"bench-replicas-{replicas}"
    shutil.rmtree(stack_dir, ignore_errors=True)
    os.environ["STACK_BASE_PORT"] = str(base_port)
    out = stack("start", replicas, stack_dir)
    try:
        bootstrap = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("Kafka "))
        urls = [f"http://127.0.0.1:{base_port + 1 + 10 * r}" for r in range(replicas)]
        await asyncio.sleep(5)  # let start-up work (consumer group joins, first sweeps) finish
        procs = processes(stack_dir)
        before = {g: cpu_seconds(p) for g, p in procs.items()}
        run = Run(replicas, rate)
        watcher = Watcher(bootstrap)
        await watcher.start()
        try:
            started = time.perf_counter()
            acked = await offer(run, urls, seconds, secret, addresses())
            await settle(run, watcher, acked, started, timeout_s=max(120.0, seconds * 6))
        finally:
            await watcher.stop()
        after = {g: cpu_seconds(p) for g, p in procs.items()}
        run.cpu_s = {g: after[g] - before[g] for g in GROUPS}
        return run
    finally:
        stack("stop", replicas, stack_dir)


def report(runs: list[Run]) -> str:
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    lines = [
        "## Replicas: 1 vs 2 of every service on this machine",
        "",
        f"{platform.platform()}, {cores} cores, load average {load:.1f} after the runs. The same open-loop load of "
        "12345 tickets (hotline signing, mixed categories at the demo district's places) on `REPLICAS=n make stack`, "
        "spread over the intake replicas; *kept up* is reports that reached a case or the queue per second, counted "
        "until the last of them did. CPU is per report that settled, all replicas of a kind together.",
        "",
        "| replicas | offered/s | accepted | settled | kept up/s | p50 ms | p99 ms | errors | CPU ms/report "
        "(intake/router/workflow/analytics/kafka/postgres) | total CPU ms/report |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        per = {g: r.cpu_s.get(g, 0.0) * 1000 / max(r.settled, 1) for g in GROUPS}
        lines.append(
            f"| {r.replicas} | {r.offered:g} | {r.accepted} | {r.settled} | {r.kept_up:.1f} "
            f"| {percentile(r.latencies_ms, 0.5):.0f} | {percentile(r.latencies_ms, 0.99):.0f} "
            f"| {sum(r.errors.values())} "
            f"| {' / '.join(f'{per[g]:.1f}' for g in GROUPS)} | {sum(per.values()):.1f} |"
        )
    if len(runs) >= 2 and runs[0].kept_up:
        first, last = runs[0], runs[-1]
        gain = last.kept_up / first.kept_up
        busiest = max(SERVICES, key=lambda g: last.cpu_s.get(g, 0.0))
        per_report = sum(last.cpu_s.values()) * 1000 / max(last.settled, 1)
        per_core = 1000 / per_report if per_report else 0.0
        lines += [
            "",
            f"{last.replicas} replicas kept up {gain:.2f}× the rate of {first.replicas} on these {cores} cores. "
            "Replicas add processes, not cores: here every process already competes for the same CPUs, so "
            "another copy only adds its own polling and group coordination. What scales is cores: at "
            f"{per_report:.0f} ms of CPU per report, each core that the stack gets to itself carries about "
            f"{per_core:.0f} reports/s, so a box with 8 free cores and enough replicas of the busiest services "
            f"(here {busiest}) would keep up about {8 * per_core:.0f}/s, up to one consumer per partition "
            "(`STACK_PARTITIONS`, 6 by default) and the Kafka and PostgreSQL ceilings.",
        ]
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="1,2", help="replica counts to compare")
    parser.add_argument("--rate", type=float, default=40, help="tickets offered per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("STACK_BASE_PORT", "8100")))
    parser.add_argument("--secret", default=os.environ.get("CITYLOOP_HOTLINE_HMAC_SECRET", "dev-only-hotline-secret"))
    parser.add_argument("--out", default="var/bench/replicas.md")
    args = parser.parse_args()
    runs = []
    for n in (int(x) for x in args.replicas.split(",")):
        runs.append(await measure(n, args.rate, args.seconds, args.secret, args.base_port))
        print(f"replicas {n}: kept up {runs[-1].kept_up:.1f}/s of {args.rate:g}/s offered", flush=True)
    text = report(runs)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
