"""A loopback TCP proxy that can be stopped and started: a server that goes away and back.

With `trip_status`, it plays an upstream that answered with that HTTP status and then went
away: after forwarding the first whole answer with that status it stops by itself, so later
attempts find the port closed (connection refused). With `lose_answer` as well, that answer
never reaches the client (the connection is cut instead): the request was applied upstream,
only its answer was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `stop()` refuses new connections and cuts the
    open ones, as a server that went down would; `start()` serves again on the same port."""

    def __init__(
        self,
        *,
        target_host: str,
        target_port: int,
        trip_status: int | None = None,
        lose_answer: bool = False,
    ) -> None:
        self._target = (target_host, target_port)
        self._lose_answer = lose_answer
        self._trip_status = None if trip_status is None else str(trip_status).encode()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.tripped = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, not a polite close
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self._target)
        except OSError:
            client.transport.abort()
            return
        self._writers.update((client, upstream))
        answers = (
            self._pipe(upstream_reader, client)
            if self._trip_status is None
            else self._answers(upstream_reader, client)
        )
        await asyncio.gather(self._pipe(reader, upstream), answers)
        self._writers.difference_update((client, upstream))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward HTTP answers whole; after the first with the trip status, stop."""
        with contextlib.suppress(OSError, asyncio.CancelledError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _LENGTH.search(head)
                body = await reader.readexactly(int(length.group(1)) if length else 0)
                status = _STATUS.match(head)
                trips = (
                    not self.tripped.is_set() and status and status.group(1) == self._trip_status
                )
                if not (trips and self._lose_answer):
                    writer.write(head + body)
                    await writer.drain()
                if trips:
                    self.tripped.set()
                    await self.stop()
                    return
        writer.transport.abort()
