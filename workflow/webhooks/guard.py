"""SSRF guard: deliveries go only to public addresses, unless configuration allows a private network."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

Network = IPv4Network | IPv6Network


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


def allowed(address: IPv4Address | IPv6Address, allow: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in net for net in allow):
        return True
    return address.is_global and not address.is_multicast


async def resolve_and_check(url: str, allow: Sequence[Network]) -> None:
    """Refused unless every address the host resolves to is public or allowed (a name with one private
    address among public ones is refused: the connection could pick it)."""
    host, port = check_url_shape(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    addresses = {ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    for address in sorted(addresses, key=str):
        if not allowed(address, allow):
            raise Refused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved address; "
                "set CITYLOOP_WEBHOOK_ALLOW_NETWORKS to allow it"
            )
