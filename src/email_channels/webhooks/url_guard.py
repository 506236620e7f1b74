"""The SSRF guard: webhook URLs go to public addresses only (unless WEBHOOK_ALLOW_PRIVATE).

Checked at create and again before each delivery, after resolving the host with the system
resolver, as the delivery connects: a name that later resolves somewhere private is refused
then too. A refusal never names the address a host resolved to: that would let any workspace
map the internal DNS of the platform.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import idna

from email_channels.webhooks.addresses import IpAddress, is_public

# What resolves a host name: the system resolver; tests may pass another.
Resolver = Callable[[str], Awaitable[list[IpAddress]]]

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_HOST_MAX_LENGTH = 253
LOOPBACK = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


class UnsafeUrl(ValueError):
    """The URL breaks the rules; the message says which, in a client's words.

    `permanent`: the URL itself is wrong (its shape), so no later attempt can succeed.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    """A URL whose shape is acceptable: its parts, the host in its IDNA (ASCII) form."""

    parts: SplitResult
    host: str  # an IP literal (without brackets) or an ASCII host name

    @property
    def netloc(self) -> str:
        """`host[:port]` as the Host header carries it (ASCII, IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.parts.port is None else f"{host}:{self.parts.port}"


def _shape_error(message: str) -> UnsafeUrl:
    return UnsafeUrl(message, permanent=True)


def _ascii_host(hostname: str) -> str:
    """The host as a delivery connects to it: an IP literal, or the IDNA A-label name."""
    try:
        return str(ipaddress.ip_address(hostname))
    except ValueError:
        pass
    name = hostname.rstrip(".")
    try:
        # An ASCII name is taken as typed (lower-cased): IDNA would refuse the underscores
        # some real host names carry.
        ascii_name = name if name.isascii() else idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise _shape_error("The URL's host is not a valid host name.") from error
    labels = ascii_name.split(".")
    if len(ascii_name) > _HOST_MAX_LENGTH or not all(_LABEL.fullmatch(x) for x in labels):
        raise _shape_error("The URL's host is not a valid host name.")
    return ascii_name


def parse_url(url: str, *, allow_private: bool) -> WebhookUrl:
    """The parts of a webhook URL whose shape is acceptable; UnsafeUrl otherwise."""
    # Spaces and control characters never reach a request line or a log: refused here.
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in url):
        raise _shape_error("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as error:
        raise _shape_error("Not a valid URL.") from error
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed:
        raise _shape_error("The URL must start with https://.")
    if not parts.hostname:
        raise _shape_error("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise _shape_error("The URL must not carry a user name or password.")
    return WebhookUrl(parts=parts, host=_ascii_host(parts.hostname))


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


async def system_resolver(host: str) -> list[IpAddress]:
    """Every address `host` stands for, from the system resolver; UnsafeUrl when none.

    `localhost` and every name under it are loopback without asking anyone (RFC 6761,
    section 6.3), as browsers and systemd-resolved treat them.
    """
    if _is_localhost(host):
        return list(LOOPBACK)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from error
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} does not resolve.")
    return sorted(addresses, key=str)


async def check_url(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> tuple[WebhookUrl, list[IpAddress]]:
    """The URL's parts and the addresses it may be sent to now; UnsafeUrl otherwise."""
    parsed = parse_url(url, allow_private=allow_private)
    try:
        addresses = [ipaddress.ip_address(parsed.host)]
    except ValueError:
        addresses = await resolver(parsed.host)
    if allow_private:
        return parsed, addresses
    if not all(is_public(address) for address in addresses):
        raise UnsafeUrl(
            "The host is or resolves to a loopback, private or otherwise non-public address; "
            "webhooks go to public addresses only."
        )
    return parsed, addresses


def pinned(url: WebhookUrl, address: IpAddress) -> tuple[str, str, str]:
    """(URL that connects to `address`, Host header, TLS server name) for a checked URL.

    The request goes to the address that was checked, not to whatever the name resolves to
    a moment later (DNS rebinding); Host and SNI keep the name (its IDNA form), so virtual
    hosts and certificate checks work as for the URL itself.
    """
    literal = f"[{address}]" if address.version == 6 else str(address)
    port = url.parts.port
    netloc = literal if port is None else f"{literal}:{port}"
    return url.parts._replace(netloc=netloc).geturl(), url.netloc, url.host
