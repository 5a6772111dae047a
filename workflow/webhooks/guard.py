"""SSRF guard: deliveries go only to public addresses, unless configuration allows a private network.

Checking a name and then letting the HTTP client resolve it again is open to DNS rebinding: a receiver's
name can answer a public address to the check and a private one to the connection. So the name is resolved
once, inside the connection itself (`PinnedBackend`, the network backend of httpx's connection pool): every
address it resolves to is checked, and the TCP connection goes to the checked address. The request keeps
the name for its Host header, TLS server name (SNI) and certificate check, since those come from the URL.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) → the addresses the name resolves to, as strings."""


class Refused(Exception):
    """The URL may not receive deliveries; the message says why."""


def check_url_shape(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL without credentials, or Refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must be http or https")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"bad port: {exc}") from exc
    return parts.hostname, port


def allowed(address: Address, allow: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in net for net in allow):
        return True
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_checked(host: str, port: int, allow: Sequence[Network], resolve: Resolver) -> list[Address]:
    """The addresses of `host`, refused unless every one is public or allowed (a name with one private
    address among public ones is refused: a connection could pick it)."""
    try:
        answers = await resolve(host, port)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(ip_address(a.split("%", 1)[0]) for a in answers))
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    for address in sorted(addresses, key=str):
        if not allowed(address, allow):
            raise Refused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved address; "
                "set CITYLOOP_WEBHOOK_ALLOW_NETWORKS to allow it"
            )
    return addresses


async def resolve_and_check(url: str, allow: Sequence[Network], resolve: Resolver = system_resolver) -> None:
    """Refused unless the URL's host resolves only to public or allowed addresses (at subscription time)."""
    host, port = check_url_shape(url)
    await resolve_checked(host, port, allow, resolve)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to a checked one: no second lookup to rebind."""

    def __init__(
        self,
        allow: Sequence[Network],
        resolve: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow = list(allow)
        self.resolve = resolve
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self.allow, self.resolve)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next checked address, as a resolver's client would
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("deliveries never go to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with every connection made by a `PinnedBackend`; no proxy from the environment
    (a proxy would resolve the name itself)."""

    def __init__(
        self,
        backend: PinnedBackend,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        # httpx offers no public way to choose the pool's network backend: the same pool, with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_client(
    allow: Sequence[Network],
    timeout_s: float,
    resolve: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """The HTTP client of subscribers' deliveries: every connection pinned to a checked address."""
    transport = PinnedTransport(PinnedBackend(allow, resolve, inner), verify=verify)
    return httpx.AsyncClient(transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False)
