"""A loopback TCP proxy that, after a matching answer, refuses every connection until told.

It stands between the service and the SES emulator to play an upstream that applied a request,
answered 500, and then went away: later attempts find the port closed (connection refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import re

_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


class TrippingProxy:
    """Forwards 127.0.0.1:port to `target`; trips on the first whole answer with `trip_status`."""

    def __init__(self, *, target_host: str, target_port: int, trip_status: int) -> None:
        self._target = (target_host, target_port)
        self._trip_status = str(trip_status).encode()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.armed = True
        self.tripped = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> TrippingProxy:
        """Listen (again, on the same port once it had one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def refuse(self) -> None:
        """Close the port and every live connection: new connections are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        self.tripped.set()

    async def close(self) -> None:
        await self.refuse()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        to_upstream = asyncio.ensure_future(self._pipe(reader, upstream_writer))
        try:
            await self._answers(upstream_reader, writer)
        finally:
            to_upstream.cancel()
            for stream in (writer, upstream_writer):
                stream.close()
                self._writers.discard(stream)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward answers whole; after one with the trip status, refuse everything."""
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _LENGTH.search(head)
                body = await reader.readexactly(int(length.group(1)) if length else 0)
                writer.write(head + body)
                await writer.drain()
                status = _STATUS.match(head)
                if self.armed and status is not None and status.group(1) == self._trip_status:
                    self.armed = False
                    await self.refuse()
                    return
