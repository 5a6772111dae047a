"""A real webhook receiver for tests, run by uvicorn in its own process so a test can kill it.

It appends every request it receives (headers and body) to `$RECEIVER_DIR/received.jsonl`, fsynced,
before it answers, then answers as `$RECEIVER_DIR/mode` says: `ok` (204), `500`, `slow:<seconds>`, or
`die:<n>` (the n-th request from start is recorded, then the process exits without answering, as a
receiver that crashes mid-request does). Signatures are not checked here: the tests check them with
the `standardwebhooks` library against what was recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

DIR = Path(os.environ.get("RECEIVER_DIR", "."))
_count = 0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _count
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    _count += 1
    mode = (DIR / "mode").read_text().strip() if (DIR / "mode").exists() else "ok"
    record = {
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body": body.decode(),
        "path": scope["path"],
        "pid": os.getpid(),
        "mode": mode,
    }
    with (DIR / "received.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    status = 204
    if mode == "500":
        status = 500
    elif mode.startswith("slow:"):
        await asyncio.sleep(float(mode.split(":", 1)[1]))
    elif mode.startswith("die:") and _count >= int(mode.split(":", 1)[1]):
        os._exit(1)
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class Receiver:
    """Start, kill and restart the receiver process; read what it recorded."""

    def __init__(self, directory: Path, port: int) -> None:
        self.dir = directory
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def mode(self, mode: str) -> None:
        (self.dir / "mode").write_text(mode)

    def start(self) -> None:
        env = {**os.environ, "RECEIVER_DIR": str(self.dir)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.support.webhook_receiver:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        import socket

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("the receiver exited at start")
            time.sleep(0.05)
        raise TimeoutError("the receiver did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def wait_exit(self, timeout_s: float = 20) -> None:
        """Wait for a receiver in `die:` mode to exit by itself."""
        assert self.proc is not None
        self.proc.wait(timeout_s)
        self.proc = None

    def received(self) -> list[dict[str, Any]]:
        path = self.dir / "received.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
