"""HTTP connections to webhook receivers: one pool per URL host, never shared between names.

A delivery connects to the address it checked (url_guard.pinned), so the URL it hands to
httpx names an IP address; one shared client would pool by that address and could send
`b.example`'s request over the TLS connection it opened, and verified, for `a.example`. A
client per (scheme, host, port) of the webhook URL keeps every connection to one name.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from email_channels import __version__

USER_AGENT = f"email-channels/{__version__}"
# Idle pools kept open for later deliveries; a busy one is never closed under its request.
MAX_IDLE_POOLS = 256
# Idle connections kept per host. Open ones are not capped per host: webhooks of many
# workspaces may share a receiver's host, and one that hangs must not queue the others
# behind it (the worker's cap on attempts in flight bounds them all).
KEEPALIVE_PER_HOST = 8

Origin = tuple[str, str, int | None]  # scheme, host (IDNA form), port


class ReceiverPools:
    """The httpx clients of one worker, one per receiver origin, least recently used first."""

    def __init__(self, *, timeout: float, verify: ssl.SSLContext | bool) -> None:
        self._timeout = timeout
        self._verify = verify
        self._clients: OrderedDict[Origin, httpx.AsyncClient] = OrderedDict()
        self._in_use: dict[Origin, int] = {}

    def _new_client(self) -> httpx.AsyncClient:
        # Redirects are not followed (a redirect is a failed attempt), proxies not used.
        return httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self._timeout,
            verify=self._verify,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_PER_HOST),
        )

    @asynccontextmanager
    async def client(self, origin: Origin) -> AsyncIterator[httpx.AsyncClient]:
        """The client of `origin` for one request; it stays open while the block runs."""
        client = self._clients.get(origin)
        if client is None:
            client = self._clients[origin] = self._new_client()
        self._clients.move_to_end(origin)
        self._in_use[origin] = self._in_use.get(origin, 0) + 1
        try:
            yield client
        finally:
            self._in_use[origin] -= 1
            if not self._in_use[origin]:
                del self._in_use[origin]
            await self._close_idle_surplus()

    async def _close_idle_surplus(self) -> None:
        surplus = len(self._clients) - MAX_IDLE_POOLS
        for origin in list(self._clients):
            if surplus <= 0:
                return
            if origin not in self._in_use:
                surplus -= 1
                await self._clients.pop(origin).aclose()

    async def close(self) -> None:
        """Close every pool (the worker stopped)."""
        while self._clients:
            _, client = self._clients.popitem()
            await client.aclose()
