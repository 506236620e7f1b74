"""A webhook receiver on 127.0.0.1 for tests: records every request, answers as told."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook

TLS = Path(__file__).parent / "tls"  # a test CA and two certificates it signed (README there)


def trusting_the_test_ca() -> ssl.SSLContext:
    """A client context that trusts only the test CA of tests/support/tls/."""
    return ssl.create_default_context(cafile=TLS / "ca.pem")


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None  # the client's address and port: its connection

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


# What the receiver does with request number n (1-based) on a path: an HTTP status to answer,
# "redirect", "garbage" (not HTTP), "hang" (never answers), "close" (drops the connection) or
# "endless" (200 with a body that never ends, until the client hangs up).
Behaviour = Callable[[str, int], int | str]


def always_ok(path: str, number: int) -> int | str:
    return 204


class Receiver:
    """A threading HTTP server; `received` lists every request in arrival order.

    `certificate`: the name of a certificate in tests/support/tls/ (`localhost`,
    `elsewhere.test`); the receiver then speaks HTTPS with it, its URL names `localhost`, and
    `server_names` lists the TLS server name (SNI) of each connection. `keep_alive`: answer
    in HTTP/1.1, keeping connections open between requests.
    """

    def __init__(
        self,
        behaviour: Behaviour = always_ok,
        *,
        certificate: str | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.server_names: list[str | None] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.hung_up = threading.Event()  # a client closed an endless answer
        handler = self._handler()
        if keep_alive:  # HTTP/1.1: a connection serves several requests
            handler.protocol_version = "HTTP/1.1"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._scheme = "http"
        if certificate is not None:
            self._scheme = "https"
            self._server.socket = self._tls(certificate).wrap_socket(
                self._server.socket, server_side=True
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        host, port = self._server.server_address[:2]
        if self._scheme == "https":
            host = "localhost"  # the certificate's name; it resolves to 127.0.0.1
        return f"{self._scheme}://{host}:{port}{path}"

    def _tls(self, certificate: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS / f"{certificate}.pem", TLS / f"{certificate}.key")

        def record(_: ssl.SSLObject, server_name: str | None, __: ssl.SSLContext) -> None:
            with self._lock:
                self.server_names.append(server_name)

        context.sni_callback = record
        return context

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
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            peer=self.client_address[:2],
                        )
                    )
                    number = sum(1 for r in receiver.received if r.path == self.path)
                action = receiver.behaviour(self.path, number)
                if action == "hang":
                    receiver._release.wait(60)
                    return
                if action == "close":
                    self.close_connection = True
                    return
                if action == "endless":
                    self._endless_body()
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

            def _endless_body(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()  # no length: the body lasts until the connection closes
                self.close_connection = True
                chunk = b"x" * 65536
                try:
                    while not receiver._release.is_set():
                        self.wfile.write(chunk)
                except OSError:
                    receiver.hung_up.set()

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
