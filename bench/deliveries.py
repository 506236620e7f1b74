"""S8: one worker delivering 10,000 events to 10 loopback receivers, beside its baseline.

Ten workspaces, one webhook each, each webhook's URL its own receiver (bench/receivers.py: a
host and port of its own, so each has its own connection pool, as section 13 wants); a
thousand events per workspace, ten for each of a hundred setups, interleaved as they would
happen. The events and their pending deliveries are written straight into PostgreSQL (the
outbox as a burst of changes leaves it). First the baseline (bench/delivery_baseline.py)
signs and POSTs every delivery's body; then one `email-channels worker` delivers them. After
each, the receivers say what arrived: each event once per webhook, validly signed, the events
of a setup in their order; the database says each delivery is `delivered` after one attempt.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.exactly_once import DeliveryCheck, check_deliveries, completion_rate
from bench.processes import REPOSITORY, HarnessError, child_environment, run_baseline, stop_process
from bench.worker_runs import WorkerSettings, workers
from email_channels.webhooks.outbox import EVENT_TYPES, EventType, new_event_id
from email_channels.webhooks.signing import new_secret

WORKSPACE_PREFIX = "bench-s8-"
EVENTS_PER_SETUP = 10
STALL_SECONDS = 60.0
KINDS = (EventType.VERIFIED, EventType.UNVERIFIED, EventType.SES_VERIFIED, EventType.REPAIRED)


@dataclass(frozen=True, slots=True)
class Receivers:
    urls: list[str]
    control: str

    def take(self) -> list[list[tuple[str, str, bool]]]:
        """What arrived since the last call (and forget it)."""
        response = httpx.get(f"{self.control}/received", timeout=30)
        response.raise_for_status()
        return [[(e, s, bool(v)) for e, s, v in hook] for hook in response.json()]


@contextmanager
def receivers(
    sockets: list[socket.socket], *, secrets: list[str], log_dir: Path, max_seconds: float
) -> Iterator[Receivers]:
    """The receivers on `sockets` (the last one the control port), one process, until the
    block ends; receiver i checks signatures with `secrets[i]`."""
    secrets_file = log_dir / "receiver-secrets.json"
    secrets_file.write_text(json.dumps(secrets))
    fds = [sock.fileno() for sock in sockets]
    with (log_dir / "receivers.log").open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.receivers",
                f"--fds={','.join(str(fd) for fd in fds[:-1])}",
                f"--control-fd={fds[-1]}",
                f"--secrets={secrets_file}",
                f"--max-seconds={max_seconds}",
            ],
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=child_environment(),
            cwd=REPOSITORY,
        )
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    try:
        control = f"http://127.0.0.1:{ports[-1]}"
        deadline = time.monotonic() + 30.0
        while True:
            if process.poll() is not None:
                raise HarnessError(f"the receivers exited with {process.returncode}")
            try:
                httpx.get(f"{control}/received", timeout=1.0).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise HarnessError("the receivers did not start in time") from None
                time.sleep(0.05)
        yield Receivers(urls=_urls(ports[:-1]), control=control)
    finally:
        stop_process(process)


def _urls(ports: list[int]) -> list[str]:
    return [f"http://127.0.0.1:{port}/hook" for port in ports]


@dataclass(frozen=True, slots=True)
class Seeded:
    """What is due at each receiver: (event id, setup id) in the order the events happened."""

    expected: list[list[tuple[str, str]]]
    secrets: list[str]

    @property
    def deliveries(self) -> int:
        return sum(len(due) for due in self.expected)


def _item(setup_id: uuid.UUID, workspace: str, index: int, at: datetime) -> dict[str, Any]:
    return {
        "id": str(setup_id),
        "tenant_name": f"{workspace}-{index:04d}",
        "domain_identity": f"mail{index}.{workspace}.example",
        "region": "us-east-1",
        "dns_verified": True,
        "dns_checked_at": at.isoformat(),
        "created_at": (at - timedelta(days=3)).isoformat(),
        "updated_at": at.isoformat(),
    }


async def seed(dsn: str, *, urls: list[str], events: int) -> Seeded:
    """A webhook per receiver (each in a workspace of its own), `events` events in all."""
    now = datetime.now(UTC)
    hooks = len(urls)
    setups = max(1, events // hooks // EVENTS_PER_SETUP)
    secrets = [new_secret() for _ in urls]
    webhook_ids = [uuid.uuid4() for _ in urls]
    workspaces = [f"{WORKSPACE_PREFIX}{k}" for k in range(hooks)]
    setup_ids = [[uuid.uuid4() for _ in range(setups)] for _ in urls]
    rows: list[tuple[Any, ...]] = []
    plan: list[tuple[int, str, uuid.UUID, str]] = []  # receiver, event id, setup, type
    for round_number in range(EVENTS_PER_SETUP):
        for index in range(setups):
            for k in range(hooks):
                if len(plan) == events:
                    break
                event_id = new_event_id()
                kind = KINDS[(round_number + index) % len(KINDS)].value
                at = now - timedelta(seconds=60) + timedelta(microseconds=len(plan))
                data = {
                    "workspace_id": workspaces[k],
                    "ses_setup": _item(setup_ids[k][index], workspaces[k], index, at),
                }
                setup_id = setup_ids[k][index]
                rows.append((event_id, workspaces[k], setup_id, kind, at, json.dumps(data)))
                plan.append((k, event_id, setup_id, kind))
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.executemany(
                "INSERT INTO webhooks (id, workspace_id, url, events, description, secret,"
                " created_at) VALUES ($1, $2, $3, $4::json, 'bench S8', $5, $6)",
                [
                    (hook, workspace, url, json.dumps(EVENT_TYPES), secret, now)
                    for hook, workspace, url, secret in zip(
                        webhook_ids, workspaces, urls, secrets, strict=True
                    )
                ],
            )
            await connection.copy_records_to_table(
                "events",
                records=rows,
                columns=("id", "workspace_id", "setup_id", "type", "occurred_at", "data"),
            )
            seqs = dict(
                await connection.fetch(
                    "SELECT id, seq FROM events WHERE workspace_id LIKE $1", WORKSPACE_PREFIX + "%"
                )
            )
            await connection.copy_records_to_table(
                "deliveries",
                records=[
                    (
                        uuid.uuid4(),
                        webhook_ids[k],
                        seqs[event_id],
                        event_id,
                        kind,
                        setup_id,
                        "pending",
                        0,
                        now - timedelta(seconds=1),
                        now,
                    )
                    for k, event_id, setup_id, kind in plan
                ],
                columns=(
                    "id",
                    "webhook_id",
                    "event_seq",
                    "event_id",
                    "event_type",
                    "setup_id",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ),
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    expected: list[list[tuple[str, str]]] = [[] for _ in urls]
    for k, event_id, setup_id, _ in plan:
        expected[k].append((event_id, str(setup_id)))
    return Seeded(expected, secrets)


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    deliveries: int
    rate: float | None
    check: DeliveryCheck
    db_problems: int  # deliveries not `delivered` after exactly one attempt (worker only)


@dataclass(frozen=True, slots=True)
class S8Result:
    events: int
    receivers: int
    baseline: DeliveryRun
    worker: DeliveryRun


async def _delivery_state(dsn: str) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
            " count(*) FILTER (WHERE status = 'delivered' AND attempts = 1) AS once,"
            " count(*) AS total,"
            " extract(epoch FROM min(delivered_at))::float8 AS first,"
            " extract(epoch FROM max(delivered_at))::float8 AS last FROM deliveries"
        )
    finally:
        await connection.close()
    return dict(row)


def _say(text: str) -> None:
    print(f"bench: {text} ...", file=sys.stderr, flush=True)


def run_s8(
    *,
    dsn: str,
    settings: WorkerSettings,
    events: int,
    receiver_count: int,
    log_dir: Path,
    profile_dir: Path | None,
    max_seconds: float,
) -> S8Result:
    """The baseline's deliveries, then the worker's, each checked at the receivers."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(receiver_count + 1):  # the last: the control port
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        urls = _urls([int(sock.getsockname()[1]) for sock in sockets[:-1]])
        seeded = asyncio.run(seed(dsn, urls=urls, events=events))
        hosts = stack.enter_context(
            receivers(sockets, secrets=seeded.secrets, log_dir=log_dir, max_seconds=max_seconds)
        )
        _say(f"S8, the baseline delivering {seeded.deliveries} events to {receiver_count}")
        result = run_baseline("bench.delivery_baseline", f"--dsn={dsn}", label="the S8 baseline")
        baseline = DeliveryRun(
            deliveries=result["deliveries"],
            rate=completion_rate(result["first_done"], result["last_done"], result["deliveries"]),
            check=check_deliveries(seeded.expected, hosts.take()),
            db_problems=0,
        )
        _say(f"S8, one worker delivering {seeded.deliveries} events to {receiver_count}")
        with workers(1, settings, log_dir=log_dir, label="s8-worker", profile_dir=profile_dir):
            state = _wait_delivered(dsn)
        run = DeliveryRun(
            deliveries=int(state["total"] - state["pending"]),
            rate=completion_rate(state["first"], state["last"], int(state["once"])),
            check=check_deliveries(seeded.expected, hosts.take()),
            db_problems=int(state["total"] - state["once"]),
        )
    return S8Result(seeded.deliveries, receiver_count, baseline, run)


def _wait_delivered(dsn: str) -> dict[str, Any]:
    moved = time.monotonic()
    last = -1
    while True:
        state = asyncio.run(_delivery_state(dsn))
        if state["pending"] == 0:
            return state
        if state["pending"] != last:
            last, moved = state["pending"], time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            return state
        time.sleep(0.2)
