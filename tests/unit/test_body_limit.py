"""The body limit middleware alone, driven through ASGI: what it reads, what it answers."""

from __future__ import annotations

import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from email_channels.body_limit import MAX_BODY_BYTES, BodyLimitMiddleware

CHUNK = 16 * 1024


def http_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": headers}


class Client:
    """Feeds the body in 16 KiB chunks and records what the middleware sends back."""

    def __init__(self, body_size: int) -> None:
        self.remaining = body_size
        self.chunks_read = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.chunks_read += 1
        size = min(CHUNK, self.remaining)
        self.remaining -= size
        return {"type": "http.request", "body": b" " * size, "more_body": self.remaining > 0}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """An application that reads the whole body, as FastAPI does before its dependencies."""
    body = await Request(scope, receive).body()
    await Response(str(len(body)))(scope, receive, send)


async def test_large_content_length_is_refused_without_reading_or_calling_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the application must not run")

    client = Client(10 * 1024 * 1024)
    headers = [(b"content-length", str(10 * 1024 * 1024).encode())]
    await BodyLimitMiddleware(app)(http_scope(headers), client.receive, client.send)
    assert client.chunks_read == 0
    assert client.status == 413
    headers_sent = dict(client.sent[0]["headers"])
    assert headers_sent[b"content-type"] == b"application/problem+json"
    problem = orjson.loads(client.body)
    assert (problem["status"], problem["title"]) == (413, "Content too large")


async def test_chunked_body_is_refused_once_the_count_passes_the_limit() -> None:
    client = Client(10 * 1024 * 1024)
    await BodyLimitMiddleware(echo_length)(http_scope([]), client.receive, client.send)
    assert client.status == 413
    assert orjson.loads(client.body)["status"] == 413
    # The limit and the one chunk that passed it, and not a chunk more.
    assert client.chunks_read == MAX_BODY_BYTES // CHUNK + 1
    assert len(client.sent) == 2  # only the 413: the application's own answer was dropped


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_body_of_exactly_the_limit_reaches_the_app(declared: bool) -> None:
    client = Client(MAX_BODY_BYTES)
    headers = [(b"content-length", str(MAX_BODY_BYTES).encode())] if declared else []
    await BodyLimitMiddleware(echo_length)(http_scope(headers), client.receive, client.send)
    assert client.status == 200
    assert client.body == str(MAX_BODY_BYTES).encode()


async def test_a_smaller_limit_applies() -> None:
    client = Client(101)
    await BodyLimitMiddleware(echo_length, limit=100)(http_scope([]), client.receive, client.send)
    assert client.status == 413
    assert b"limit of 100 bytes" in client.body


async def test_other_errors_of_the_app_are_not_hidden() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("boom")

    client = Client(10)
    with pytest.raises(RuntimeError, match="boom"):
        await BodyLimitMiddleware(broken)(http_scope([]), client.receive, client.send)


async def test_lifespan_scope_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    client = Client(0)
    await BodyLimitMiddleware(app)({"type": "lifespan"}, client.receive, client.send)
    assert seen == ["lifespan"]
