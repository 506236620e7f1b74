"""A webhook receiver on 127.0.0.1 for tests: records every request, answers as told."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


# What the receiver does with request number n (1-based) on a path: an HTTP status to answer,
# "redirect", "garbage" (not HTTP), "hang" (never answers) or "close" (drops the connection).
Behaviour = Callable[[str, int], int | str]


def always_ok(path: str, number: int) -> int | str:
    return 204


class Receiver:
    """A threading HTTP server; `received` lists every request in arrival order."""

    def __init__(self, behaviour: Behaviour = always_ok) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def events(self, path: str = "/hook") -> list[str]:
        """The event types received on `path`, in arrival order."""
        return [r.json()["type"] for r in self.on(path)]

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    async def wait_for(
        self, condition: Callable[[list[Received]], bool], *, within: float, what: str
    ) -> list[Received]:
        """Poll until `condition(received)` holds; AssertionError after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            with self._lock:
                snapshot = list(self.received)
            if condition(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                seen = [(r.path, r.json().get("type")) for r in snapshot if r.body[:1] == b"{"]
                raise AssertionError(f"timed out after {within}s waiting for {what}; got {seen}")
            await asyncio.sleep(0.05)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    number = sum(1 for r in receiver.received if r.path == self.path)
                action = receiver.behaviour(self.path, number)
                if action == "hang":
                    receiver._release.wait(60)
                    return
                if action == "close":
                    self.close_connection = True
                    return
                if action == "garbage":
                    self.wfile.write(b"this is not HTTP\r\n\r\n")
                    return
                if action == "redirect":
                    self.send_response(302)
                    self.send_header("Location", receiver.url("/elsewhere"))
                else:
                    assert isinstance(action, int)
                    self.send_response(action)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def verified_payload(secret: str, received: Received) -> dict[str, Any]:
    """The body after the `standardwebhooks` reference verified its signature (else raises)."""
    payload: dict[str, Any] = StandardWebhook(secret).verify(received.body, received.headers)
    return payload


def of_type(event_type: str) -> Callable[[list[Received]], bool]:
    """A `wait_for` condition: an event of `event_type` has arrived."""

    def seen(received: list[Received]) -> bool:
        return any(r.json()["type"] == event_type for r in received)

    return seen
