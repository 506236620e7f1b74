"""The SSRF guard: webhook URLs go to public addresses only (unless WEBHOOK_ALLOW_PRIVATE).

Checked at create and again before each delivery, after resolving the host with the system
resolver, as the delivery connects: a name that later resolves somewhere private is refused
then too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL breaks the rules; the message says which, in a client's words."""


def url_host(url: str, *, allow_private: bool) -> str:
    """The host of a webhook URL whose shape is acceptable; UnsafeUrl otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as error:
        raise UnsafeUrl("Not a valid URL.") from error
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed:
        raise UnsafeUrl("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL must not carry a user name or password.")
    return parts.hostname


def is_public(address: IpAddress) -> bool:
    """Whether an address is a public unicast one (no loopback, private, link-local...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str) -> list[IpAddress]:
    """Every address `host` stands for (a literal is itself); UnsafeUrl when none."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from error
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} does not resolve.")
    return sorted(addresses, key=str)


async def check_url(url: str, *, allow_private: bool) -> list[IpAddress]:
    """The addresses `url` may be sent to now; UnsafeUrl unless it may receive webhooks."""
    host = url_host(url, allow_private=allow_private)
    addresses = await resolve(host)
    if allow_private:
        return addresses
    private = [str(address) for address in addresses if not is_public(address)]
    if private:
        raise UnsafeUrl(
            f"The host resolves to a loopback, private or otherwise non-public address "
            f"({', '.join(private)}); webhooks go to public addresses only."
        )
    return addresses


def pinned(url: str, address: IpAddress) -> tuple[str, str, str]:
    """(URL that connects to `address`, Host header, TLS server name) for a checked URL.

    The request goes to the address that was checked, not to whatever the name resolves to
    a moment later (DNS rebinding); Host and SNI keep the name, so virtual hosts and
    certificate checks work as for the URL itself.
    """
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), parts.netloc, hostname
