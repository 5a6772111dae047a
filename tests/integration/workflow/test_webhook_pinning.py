"""SSRF guard against DNS rebinding: a receiver's name is resolved once, every address checked, and the
connection made to the checked address, with the name kept for Host and TLS. The resolver is the test's."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from ipaddress import ip_network
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpcore
import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request

from services.pgserver import free_port
from shared.clock import ManualClock
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.delivery import Deliverer
from workflow.webhooks.guard import Refused, guarded_client

PUBLIC = "93.184.216.34"
LOOPBACK = [ip_network("127.0.0.0/8")]


class Resolver:
    """A DNS the test controls: the answers it gives in turn (the last one repeats), and who asked."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class Recording(httpcore.AsyncNetworkBackend):
    """The real network for loopback; any other address is recorded and refused (the test has no internet)."""

    def __init__(self) -> None:
        self.real = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        if not host.startswith("127."):
            raise httpcore.ConnectError(f"no route to {host} in the test")
        return await self.real.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


@asynccontextmanager
async def receiver(tls: tuple[Path, Path] | None = None) -> AsyncIterator[tuple[list[dict[str, str]], int]]:
    """A real uvicorn receiver on 127.0.0.1 recording each request's Host header."""
    got: list[dict[str, str]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        got.append({"host": request.headers["host"], "body": (await request.body()).decode()})
        return {"ok": True}

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    if tls:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(tls[0]),
            ssl_keyfile=str(tls[1]),
        )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield got, port
    finally:
        server.should_exit = True
        await task


def certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for `name` only (not for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_a_name_rebinding_to_loopback_after_the_check_is_never_connected_there() -> None:
    """The classic rebinding: public to the first lookup, loopback (where a receiver listens) to any later one."""
    dns, net = Resolver([PUBLIC], ["127.0.0.1"]), Recording()
    async with receiver() as (got, port), guarded_client([], 3.0, dns, inner=net) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://rebind.test:{port}/hook", content=b"{}")
    assert dns.asked == ["rebind.test"], "resolved exactly once"
    assert net.connected == [PUBLIC], "connected to the address that was checked, never to the name"
    assert got == []


async def test_a_name_with_any_private_address_is_refused_before_any_connection() -> None:
    dns, net = Resolver([PUBLIC, "10.0.0.5"]), Recording()
    settings = WebhookSettings()
    deliverer = Deliverer(None, ManualClock(dt.datetime(2025, 3, 3, tzinfo=dt.UTC)), settings)  # type: ignore[arg-type]
    deliverer.client = guarded_client(settings.allow_networks, 3.0, dns, inner=net)
    row = SimpleNamespace(
        scheme="standard",
        url="http://mixed.test/hook",
        event_id="evt-1",
        payload=b"{}",
        secret="whsec_" + "A" * 32,
        previous_secret=None,
        previous_secret_until=None,
    )
    status, error = await deliverer.send(row)  # type: ignore[arg-type]
    assert status is None and error is not None
    assert error.startswith("refused: mixed.test resolves to 10.0.0.5")
    assert net.connected == []
    with pytest.raises(Refused):
        await guarded_client([], 3.0, Resolver(["169.254.169.254"]), inner=net).post("http://metadata.test/")


async def test_the_pinned_connection_keeps_the_name_for_host_and_tls(tmp_path: Path) -> None:
    """HTTPS to a certificate valid only for the name: it verifies only if SNI and the check use the name."""
    cert, key = certificate_for("receiver.test", tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    dns = Resolver(["127.0.0.1"])
    async with receiver((cert, key)) as (got, port), guarded_client(LOOPBACK, 3.0, dns, verify=trust) as client:
        response = await client.post(f"https://receiver.test:{port}/hook", content=b'{"n":1}')
        again = await client.post(f"https://receiver.test:{port}/hook", content=b'{"n":2}')
    assert response.status_code == 200 and again.status_code == 200
    assert [g["host"] for g in got] == [f"receiver.test:{port}"] * 2
    assert dns.asked == ["receiver.test"], "the kept-alive connection stays on the checked address"
