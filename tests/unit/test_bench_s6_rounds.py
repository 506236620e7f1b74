"""S6's rounds: they alternate between the full and the empty side, each side's p50 its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bench.scenarios import _creates_in_rounds


class Creates:
    """A loopback HTTP/1.1 server that answers every POST 201 after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.order: list[int] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.order.append(len(self.order))
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def url(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/ws/channels/ses-setup"


@pytest.fixture
async def sides() -> AsyncIterator[tuple[Creates, Creates]]:
    full, empty = Creates(0.1), Creates(0.0)
    yield full, empty
    for side in (full, empty):
        if side.server is not None:
            side.server.close()


async def test_rounds_alternate_and_each_side_has_its_own_p50(
    sides: tuple[Creates, Creates],
) -> None:
    full, empty = sides
    result = await _creates_in_rounds(
        {"full": await full.url(), "empty": await empty.url()},
        api_key="k",
        creates=50,
        concurrency=4,
        round_size=10,
    )
    assert result.errors == 0
    assert len(full.order) == 30  # rounds 1, 3, 5 of five
    assert len(empty.order) == 20
    assert len(result.round_p50s_ms) == 5
    assert result.full_p50_ms is not None
    assert result.empty_p50_ms is not None
    # Only the full side waits 100 ms before it answers: its p50 is its own, not a mix.
    assert result.full_p50_ms >= 100
