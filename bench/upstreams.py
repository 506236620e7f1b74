"""The bench's stand-ins for SES and DNS: the real emulator, and a delaying DNS server.

- The emulator is `email-channels sandbox serve` on a free loopback port, its SQLite state
  filled beforehand with S6's setups (written straight into the file: 10,000 setups through
  HTTP would take minutes, and S6 measures the creates after them, not the seeding), its
  account quotas raised to hold them and the run's creates.
- The DNS server (bench/dns_server.py) answers S2's verified setup 50 ms late and never
  answers anything else (S4).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.first_check import QUERY_LOG
from bench.processes import REPOSITORY, HarnessError, child_environment, stop_process
from email_channels.sandbox.state import (
    Association,
    EmailIdentity,
    Tenant,
    record_to_json,
)
from email_channels.sandbox.store import Row, StateStore
from email_channels.ses_setups.records import ExpectedRecord, Purpose

ACCOUNT = "000000000000"
REGION = "us-east-1"
START_DEADLINE = 30.0
CLI = REPOSITORY / ".venv" / "bin" / "email-channels"


def seed_sandbox(path: Path, *, setups: int) -> None:
    """`setups` tenants, identities and associations, as the create saga leaves them."""
    now = time.time()
    rows: list[Row] = []
    for index in range(setups):
        name = f"seed-{index:06d}"
        domain = f"seed{index}.sandbox-seed.example"
        tenant = Tenant(
            name=name,
            tenant_id=f"t{index:012d}",
            arn=f"arn:aws:ses:{REGION}:{ACCOUNT}:tenant/{name}/t{index:012d}",
            created_at=now,
        )
        identity = EmailIdentity(
            name=domain,
            arn=f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}",
            identity_type="DOMAIN",
            created_at=now,
            dkim_tokens=(f"{index:032x}", f"{index + 1:032x}", f"{index + 2:032x}"),
            signing_hosted_zone="dkim.amazonses.com",
            next_signing_key_length="RSA_2048_BIT",
            mail_from_domain=f"bounce.{domain}",
        )
        association = Association(name, identity.arn, now)
        rows.append((REGION, "tenants", name, json.dumps(record_to_json("tenants", tenant)), False))
        rows.append(
            (
                REGION,
                "identities",
                domain,
                json.dumps(record_to_json("identities", identity)),
                False,
            )
        )
        key = json.dumps([name, identity.arn])
        rows.append(
            (
                REGION,
                "associations",
                key,
                json.dumps(record_to_json("associations", association)),
                False,
            )
        )
    store = StateStore(str(path))
    try:
        store.write(rows)
    finally:
        store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sandbox(
    state_path: Path, *, quota: int, log_dir: Path, label: str = "sandbox"
) -> Iterator[str]:
    """`email-channels sandbox serve` on loopback until the block ends; its URL.

    `quota`: the account's tenant and email identity quotas, raised from SES's default of
    10,000 as AWS raises an account's (`SANDBOX_MAX_TENANTS`, `SANDBOX_MAX_EMAIL_IDENTITIES`).
    """
    port = _free_port()
    env = child_environment(
        EMAIL_CHANNELS_SANDBOX_STATE_PATH=str(state_path),
        EMAIL_CHANNELS_SANDBOX_MAX_TENANTS=str(quota),
        EMAIL_CHANNELS_SANDBOX_MAX_EMAIL_IDENTITIES=str(quota),
    )
    with (log_dir / f"{label}.log").open("wb") as output:
        process = subprocess.Popen(
            [str(CLI), "sandbox", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=state_path.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if process.poll() is not None:
                raise HarnessError(f"the sandbox exited with {process.returncode}")
            try:
                httpx.get(f"{url}/_sandbox/faults", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise HarnessError("the sandbox did not start in time") from None
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process, deadline=15.0)


@contextmanager
def delayed_dns(
    records: list[ExpectedRecord], *, delay: float, log_dir: Path, max_seconds: float
) -> Iterator[int]:
    """The DNS server answering `records` after `delay` and nothing else; its UDP port.

    It is also the own server of the setup's zone (the setup's domain, at its apex): the
    zone's SOA, NS and the server's address come from it, and the service asks it the records
    at DNS_AUTHORITATIVE_PORT, the same port. `log_dir/dns-queries.log` gets its first queries.
    """
    zone = log_dir / "zone.json"
    domain = next(r.address for r in records if r.purpose is Purpose.INBOUND_MX)
    apex = [
        [domain, "SOA", f"ns.{domain}. hostmaster.{domain}. 1 3600 600 86400 300"],
        [domain, "NS", f"ns.{domain}"],
        [f"ns.{domain}", "A", "127.0.0.1"],
    ]
    zone.write_text(json.dumps([*apex, *([r.address, r.type, r.record] for r in records)]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        with (log_dir / "dns.log").open("wb") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.dns_server",
                    f"--fd={sock.fileno()}",
                    f"--zone={zone}",
                    f"--delay={delay}",
                    f"--max-seconds={max_seconds}",
                    f"--query-log={log_dir / QUERY_LOG}",
                ],
                pass_fds=[sock.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=child_environment(),
                cwd=REPOSITORY,
            )
    try:
        yield port
    finally:
        stop_process(process)
