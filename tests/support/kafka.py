"""A real single-node Kafka broker for tests, wrapping deploy/kafka/kafka.sh.

`python -m tests.support.kafka wait <bootstrap> [--timeout S] [--pid PID]` blocks until the broker
answers a real round trip (kafka.sh uses it); exit code 0 ready, 1 timeout, 2 broker process died.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

KAFKA_SH = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka.sh"
READY_TOPIC = "__cityloop_ready"
log = logging.getLogger(__name__)


class BrokerDied(RuntimeError):
    """The broker process exited while we waited for it."""


class KafkaBroker:
    """One broker process in `run_dir` (a fresh temporary directory by default).

    Methods block for seconds; from async tests call them via `asyncio.to_thread`.
    """

    def __init__(self, run_dir: str | os.PathLike[str] | None = None, port: int | None = None):
        self._owns_dir = run_dir is None
        self.run_dir = Path(run_dir or tempfile.mkdtemp(prefix="cityloop-kafka-"))
        self.port = port
        self._bootstrap: str | None = None

    @property
    def bootstrap(self) -> str:
        if self._bootstrap is None:
            raise RuntimeError("broker not started")
        return self._bootstrap

    def _sh(self, *args: str) -> str:
        env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
        cmd = [str(KAFKA_SH), args[0], str(self.run_dir), *args[1:]]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"kafka.sh {args[0]} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout.strip().rsplit("\n", 1)[-1]

    def start(self) -> str:
        """Start (format on first use), wait until ready, return the bootstrap address."""
        self._bootstrap = self._sh("start", *([str(self.port)] if self.port else []))
        self.port = int(self._bootstrap.rsplit(":", 1)[1])
        atexit.unregister(self.close)
        atexit.register(self.close)  # never leak a JVM or a temporary directory
        return self._bootstrap

    def stop(self) -> None:
        """Clean shutdown (SIGTERM; SIGKILL after 30 s). Idempotent."""
        self._sh("stop")

    def kill(self) -> None:
        """SIGKILL: a crash, for fault tests. Idempotent."""
        self._sh("kill")

    def restart(self) -> str:
        """Stop if running, then start again on the same port and data."""
        self._bootstrap = self._sh("restart")
        return self._bootstrap

    def close(self) -> None:
        """Stop, and delete the run directory if we created it."""
        self.stop()
        atexit.unregister(self.close)
        if self._owns_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _round_trip(bootstrap: str) -> None:
    """Metadata, an idempotent acks=all produce, and a group offset commit (creates __consumer_offsets)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=10_000
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=READY_TOPIC, enable_auto_commit=False)
    try:
        await producer.start()
        meta = await producer.send_and_wait(READY_TOPIC, b"ready", partition=0)
        await consumer.start()
        tp = TopicPartition(READY_TOPIC, 0)
        consumer.assign([tp])
        await consumer.commit({tp: meta.offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (nobody reaped it) is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return not Path("/proc").is_dir()


async def wait_ready(bootstrap: str, timeout: float = 90, pid: int | None = None) -> None:
    """Retry a real client round trip until it succeeds; TimeoutError, or BrokerDied if `pid` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if pid is not None and not _alive(pid):
            raise BrokerDied(f"broker pid {pid} exited")
        left = deadline - time.monotonic()
        try:
            await asyncio.wait_for(_round_trip(bootstrap), timeout=max(1, min(left, 20)))
            return
        except Exception as exc:  # any failure means "not ready yet"
            if time.monotonic() + 0.5 >= deadline:
                raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout}s") from exc
            log.debug("kafka not ready yet: %r", exc)
        await asyncio.sleep(0.5)


async def create_topics(bootstrap: str, topics: dict[str, int], replication: int = 1) -> None:
    """Create topics {name: partitions}; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resp = await admin.create_topics([NewTopic(name, n, replication) for name, n in topics.items()])
    finally:
        await admin.close()
    for name, code, *rest in resp.topic_errors:
        if code and for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"create topic {name}: {rest[0] if rest else ''}")


async def group_members(bootstrap: str, group: str) -> list[dict[str, set[int]]]:
    """The members of a consumer group, each as {topic: partitions assigned to it} (empty while rebalancing)."""
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    members: list[dict[str, set[int]]] = []
    for described in response.groups:  # (error, group, state, protocol type, protocol, members, …)
        for member in described[5]:  # (member id, [instance id,] client id, host, metadata, assignment)
            assignment = member[-1]
            topics: dict[str, set[int]] = {}
            if assignment:
                for topic, partitions in ConsumerProtocolMemberAssignment.decode(assignment).assignment:
                    topics.setdefault(topic, set()).update(partitions)
            members.append(topics)
    return members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.kafka")
    sub = parser.add_subparsers(dest="cmd", required=True)
    wait = sub.add_parser("wait", help="block until the broker answers a real round trip")
    wait.add_argument("bootstrap")
    wait.add_argument("--timeout", type=float, default=90)
    wait.add_argument("--pid", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # aiokafka's connection errors are expected here
    try:
        asyncio.run(wait_ready(args.bootstrap, args.timeout, args.pid))
    except BrokerDied as exc:
        print(exc, file=sys.stderr)
        return 2
    except TimeoutError as exc:
        print(f"{exc}: {exc.__cause__!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
