"""`email-channels serve` as a real subprocess, its log captured to a file, and log helpers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from email_channels.db.engine import Database, create_engine
from tests.support.processes import CLI, HOST, free_port, service_environment

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 45.0  # the 30 s drain plus the lifespan's shutdown


@dataclass
class ServedLog:
    """What one run wrote, and the secrets it was given: no line may contain one."""

    path: Path
    secrets: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return self.path.read_text(errors="replace").splitlines()

    def records(self) -> list[dict[str, Any]]:
        """Every line as a JSON object (fails on the first line that is not one)."""
        records = []
        for number, line in enumerate(self.lines(), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise AssertionError(f"{self.path}:{number} is not JSON: {line!r}") from error
            assert isinstance(record, dict), f"{self.path}:{number} is not an object: {line!r}"
            records.append(record)
        return records

    def requests(self) -> list[dict[str, Any]]:
        """The access lines."""
        return [r for r in self.records() if r.get("logger") == "email_channels.access"]


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base_url: str
    log: ServedLog

    def tail(self) -> str:
        return self.log.path.read_text(errors="replace")[-4000:]


def wait_until_healthy(served: Served, *, within: float = START_TIMEOUT_SECONDS) -> None:
    """Poll /healthz until it answers; fail with the log if the process exits or time runs out."""
    deadline = time.monotonic() + within
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if served.process.poll() is not None:
                raise AssertionError(f"serve exited {served.process.returncode}:\n{served.tail()}")
            try:
                if client.get(f"{served.base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer in time:\n{served.tail()}")
            time.sleep(0.05)


@contextmanager
def serve(
    log_path: Path, *args: str, secrets: list[str] | None = None, **settings: str
) -> Iterator[Served]:
    """Run `email-channels serve ARGS` on a free port until the block ends (then SIGTERM)."""
    port = free_port()
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            [str(CLI), "serve", "--host", HOST, "--port", str(port), *args],
            cwd=log_path.parent,
            env=service_environment(**settings),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, f"http://{HOST}:{port}", ServedLog(log_path, list(secrets or [])))
    try:
        wait_until_healthy(served)
        yield served
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then wait; SIGKILL the whole group if it will not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(STOP_TIMEOUT_SECONDS)


def address(udp: socket.socket) -> str:
    """A bound UDP socket as `host:port`, the form of DNS_NAMESERVERS."""
    host, port = udp.getsockname()[:2]
    return f"{host}:{port}"


def wait_for_query(udp: socket.socket, *, within: float) -> None:
    """Block until a DNS query arrives: the request that sent it is in flight."""
    udp.settimeout(within)
    udp.recvfrom(4096)


def new_key(database_url: str, workspace: str = "ws1") -> str:
    """A secret with every permission, created straight in the database."""

    async def make() -> str:
        database = Database(create_engine(database_url))
        try:
            _, secret = await create_key(
                database, workspace_id=workspace, permissions=list(Permission), name="serve"
            )
        finally:
            await database.dispose()
        return secret

    return asyncio.run(make())


def created_setup(served: Served, secret: str) -> dict[str, Any]:
    """Create a setup through the served API; its detail."""
    suffix = uuid.uuid4().hex[:10]
    response = httpx.post(
        f"{served.base_url}/v1/ws1/channels/ses-setup",
        json={"tenant_name": f"serve-{suffix}", "domain_identity": f"s{suffix}.example.test"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
