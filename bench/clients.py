"""The HTTP clients of the load generator: a lean HTTP/1.1 connection, and httpx.

Why two: with 32 concurrent requests on one shared `httpx.AsyncClient`, httpx itself is the
bottleneck here. Against a bare ASGI hello-world on this 2-core machine it reached about 800
requests/s with one worker and about 200 with 32, its process at 100% of a core while the
server idled (httpcore's pool does work per request that grows with the number of
connections; encode/httpx#3215). A load generator that saturates first measures itself, so
the default is `raw`: one keep-alive socket per worker, the request bytes built once, the
answer read by Content-Length. `--client httpx` keeps the shared-AsyncClient generator for
comparison; its numbers are a floor, not the server's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol
from urllib.parse import urlsplit

import httpx

MAX_HEADER_BYTES = 64 * 1024


class RequestFailed(Exception):
    """No HTTP status to report: the connection failed, or the answer was not readable."""


class LoadClient(Protocol):
    """Sends the same GET again and again; one instance per worker."""

    async def get(self) -> int:
        """Send the request, read the whole answer, return its status."""
        ...

    async def aclose(self) -> None: ...


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends one prepared GET (or a JSON POST to the
    same URL); reconnects on error."""

    def __init__(self, url: str, *, authorization: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http:// URLs: {url}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._netloc = parts.netloc
        self._authorization = authorization
        self._request = (
            f"GET {self._target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: {authorization}\r\nAccept: */*\r\n\r\n"
        ).encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self) -> int:
        status, _ = await self._exchange(self._request)
        return status

    async def get_answer(self) -> tuple[int, bytes]:
        """GET the URL; the status and the answer's body."""
        return await self._exchange(self._request)

    async def post_json(self, body: bytes) -> tuple[int, bytes]:
        """POST `body` (JSON) to the URL; the status and the answer's body."""
        head = (
            f"POST {self._target} HTTP/1.1\r\nHost: {self._netloc}\r\n"
            f"Authorization: {self._authorization}\r\nAccept: */*\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        return await self._exchange(head + body)

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            assert self._reader is not None
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status, length, close = _parse_head(head)
            body = await self._reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            await self.aclose()
            raise RequestFailed(f"{type(error).__name__}: {error}") from error
        except RequestFailed:
            await self.aclose()
            raise
        if close:
            await self.aclose()
        return status, body

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes) of a response head."""
    if len(head) > MAX_HEADER_BYTES:
        raise RequestFailed("response head too large")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split(" ", 2)[1])
    except (IndexError, ValueError) as error:
        raise RequestFailed(f"bad status line {status_line!r}") from error
    length: int | None = None
    close = status_line.startswith("HTTP/1.0")
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            raise RequestFailed("chunked answers are not supported by the raw client")
    if length is None:
        raise RequestFailed("answer without Content-Length")
    return status, length, close


class SharedHttpx:
    """A worker's view of the one `httpx.AsyncClient` all workers share."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url

    async def get(self) -> int:
        try:
            response = await self._client.get(self._url)
        except httpx.HTTPError as error:
            raise RequestFailed(f"{type(error).__name__}: {error}") from error
        return response.status_code

    async def aclose(self) -> None:
        """The shared client is closed by its owner."""


def shared_httpx_client(
    *, concurrency: int, authorization: str, timeout: float
) -> httpx.AsyncClient:
    """One AsyncClient with a keep-alive connection per worker."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        headers={"Authorization": authorization}, limits=limits, timeout=timeout
    )
