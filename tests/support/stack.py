"""The distributed topology as child processes, for fault tests: each service its own `cityloop run`.

An instance is named by its service, and a replica beyond the first by a suffix: "router", "router-2".
Replicas of a service share its consumer groups and its tables, as with `REPLICAS=2 make stack`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.pgserver import PostgresServer, free_port
from tests.support.kafka import KafkaBroker

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "router", "workflow", "analytics")


@dataclass
class Stack:
    run_dir: Path
    pg: PostgresServer
    kafka: KafkaBroker
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, run_dir: Path, *, partitions: int = 3, env: dict[str, str] | None = None) -> Stack:
        pg = PostgresServer(run_dir / "pg").start()
        kafka = KafkaBroker(run_dir / "kafka")
        kafka.start()
        stack = cls(run_dir, pg, kafka, {s: free_port() for s in SERVICES}, extra_env=dict(env or {}))
        subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate", "all"],
            env=stack.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [sys.executable, "-m", "services.cli", "topics", "--partitions", str(partitions)],
            env=stack.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return stack

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CITYLOOP_DATABASE_URL": self.pg.url,
            "CITYLOOP_BUS": "kafka",
            "CITYLOOP_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "CITYLOOP_DATA_DIR": str(self.run_dir),
            "CITYLOOP_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "CITYLOOP_API_KEYS": '{"chaos-key": "hotline"}',
            # load tests offer hundreds of requests a second from one client: rate limits off
            "CITYLOOP_RATE_LIMIT_CLIENT": "",
            "CITYLOOP_RATE_LIMIT_HOTLINE": "",
            "CITYLOOP_RATE_LIMIT_USER": "",
            **self.extra_env,
        }

    def url(self, instance: str) -> str:
        return f"http://127.0.0.1:{self.ports[instance]}"

    def launch(self, instance: str) -> None:
        """Start an instance ("router", "router-2", …) without waiting for it to be ready."""
        service = instance.split("-", 1)[0]
        assert service in SERVICES, instance
        port = self.ports.setdefault(instance, free_port())
        log = open(self.run_dir / f"{instance}.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.procs[instance] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", service, "--port", str(port)],
            env=self.env(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self, *instances: str, timeout_s: float = 120) -> None:
        """Start instances side by side, then wait until each is ready."""
        for instance in instances:
            self.launch(instance)
        for instance in instances:
            self.wait_ready(instance, timeout_s)

    def wait_ready(self, service: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.procs[service].poll() is not None:
                raise RuntimeError(f"{service} exited: {self.log_tail(service)}")
            try:
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{service} not ready: {self.log_tail(service)}")

    def kill(self, service: str) -> None:
        proc = self.procs[service]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def log_tail(self, service: str) -> str:
        path = self.run_dir / f"{service}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.kafka.close()
        self.pg.destroy()
