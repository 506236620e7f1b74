"""S8's webhook receivers, as one process: `python -m bench.receivers --fds N,N,... --secrets F`.

Each bound loopback socket is one receiver (one webhook's URL host and port): a small
HTTP/1.1 keep-alive server that reads a POST by its Content-Length, checks the Standard
Webhooks signature with that webhook's secret, notes the `webhook-id` and the setup the event
is about in arrival order, and answers `204 No Content` at once. A last socket (`--control-fd`)
answers `GET /received` with everything noted since the last such request (and forgets it),
so the harness can check each run: once per webhook, in order per setup. Kept small and fast:
the receivers share the machine with the worker they measure.

The process stops by itself when its parent is gone or after `--max-seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import orjson

from email_channels.webhooks.signing import SECRET_PREFIX

WATCH_INTERVAL = 0.5
ANSWER = b"HTTP/1.1 204 No Content\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Received:
    """What every receiver noted: per receiver, [webhook-id, setup id, signature valid]."""

    def __init__(self, receivers: int) -> None:
        self.by_receiver: list[list[tuple[str, str, bool]]] = [[] for _ in range(receivers)]

    def take(self) -> list[list[tuple[str, str, bool]]]:
        taken, self.by_receiver = self.by_receiver, [[] for _ in self.by_receiver]
        return taken


def signature_valid(headers: dict[bytes, bytes], body: bytes, key: bytes) -> bool:
    """The Standard Webhooks check of one request (`v1,` + base64 HMAC-SHA256)."""
    message_id = headers.get(b"webhook-id", b"")
    timestamp = headers.get(b"webhook-timestamp", b"")
    digest = hmac.new(key, message_id + b"." + timestamp + b"." + body, hashlib.sha256).digest()
    expected = b"v1," + base64.b64encode(digest)
    given = headers.get(b"webhook-signature", b"").split(b" ")
    return any(hmac.compare_digest(expected, signature) for signature in given)


class Receiver(asyncio.Protocol):
    """One connection to receiver `index`: requests parsed as they arrive, answered in turn."""

    def __init__(self, index: int, key: bytes, received: Received) -> None:
        self._index = index
        self._key = key
        self._received = received
        self._buffer = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self._buffer[:end].split(b"\r\n")
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            try:
                length = int(headers.get(b"content-length", b"0"))
            except ValueError:
                self._transport.write(BAD_REQUEST)
                self._transport.close()
                return
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            self._note(headers, body)
            self._transport.write(ANSWER)

    def _note(self, headers: dict[bytes, bytes], body: bytes) -> None:
        try:
            setup_id = str(orjson.loads(body)["data"]["ses_setup"]["id"])
        except (ValueError, KeyError, TypeError):
            setup_id = ""
        self._received.by_receiver[self._index].append(
            (
                headers.get(b"webhook-id", b"").decode(errors="replace"),
                setup_id,
                signature_valid(headers, body, self._key),
            )
        )


class Control(asyncio.Protocol):
    """`GET /received`: everything noted since the last one, as JSON; then it is forgotten."""

    def __init__(self, received: Received) -> None:
        self._received = received
        self._buffer = b""

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\r\n\r\n" not in self._buffer:
            return
        body = orjson.dumps(self._received.take())
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        self._transport.write(head.encode() + body)
        self._transport.close()


async def serve(
    sockets: list[socket.socket], control: socket.socket, keys: list[bytes], *, max_seconds: float
) -> None:
    loop = asyncio.get_running_loop()
    received = Received(len(sockets))
    for index, sock in enumerate(sockets):
        await loop.create_server(
            lambda index=index: Receiver(index, keys[index], received),  # type: ignore[misc]
            sock=sock,
            backlog=256,
        )
    await loop.create_server(lambda: Control(received), sock=control)
    parent = os.getppid()
    for _ in range(int(max_seconds / WATCH_INTERVAL)):  # bounded: the harness's lifetime
        if os.getppid() != parent:
            return
        await asyncio.sleep(WATCH_INTERVAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receivers")
    parser.add_argument("--fds", required=True, help="bound loopback TCP sockets, comma-separated")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--secrets", type=Path, required=True, help="JSON: one secret per fd")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    sockets = [socket.socket(fileno=int(fd)) for fd in args.fds.split(",")]
    control = socket.socket(fileno=args.control_fd)
    for sock in [*sockets, control]:
        if sock.getsockname()[0] != "127.0.0.1":
            print("refusing to serve off loopback", file=sys.stderr)
            return 2
    secrets = json.loads(args.secrets.read_text())
    keys = [base64.b64decode(secret.removeprefix(SECRET_PREFIX)) for secret in secrets]
    asyncio.run(serve(sockets, control, keys, max_seconds=args.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
