"""Several `email-channels worker` processes on one PostgreSQL, killed ones included.

No piece of work is done twice: each due setup is checked once per round (counted in BIND's
query log) and each event is delivered once (counted at the receiver by `webhook-id`); a worker
killed with SIGKILL leaves claims that run out and are taken over.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, update

from email_channels.db.base import utc_now
from email_channels.ses_setups.models import SesSetup, SetupState
from tests.support.bind import BindServer
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import DKIM_TOKENS, MAIL_FROM, REGION, SIGNING_ZONE, TestZone
from tests.support.processes import CLI, service_environment
from tests.support.receiver import Received, Receiver
from tests.support.sandbox import SandboxThread
from tests.support.serve_process import serve, stop
from tests.support.worker import FAST_WORKER, eventually

SETUPS = 500
VERIFIED = 20
ROUND = 600.0  # seconds between checks: one round fits in a test


@pytest.fixture
def sandbox(bind_sandbox_server: SandboxThread) -> SandboxThread:
    bind_sandbox_server.reset()
    return bind_sandbox_server


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return dict(FAST_WORKER)


@pytest.fixture(autouse=True)
def postgresql_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several worker processes share PostgreSQL; SQLite takes one")


def worker_settings(api: Api, sandbox: SandboxThread, **extra: str) -> dict[str, str]:
    settings = {
        "database_url": api.settings.database_url,
        "ses_mode": "aws",
        "ses_endpoint_url": sandbox.endpoint_url,
        "dns_nameservers": ",".join(f"{h}:{p}" for h, p in api.settings.dns_nameservers),
        # The production defaults: 500 checks on a busy machine, each asking the zone's own
        # server (after its SOA) and, for a missing record, where it may be instead, need them
        # so that no check ends `unknown` (then the setup is not due again within the test).
        "dns_timeout": "2.0",
        "dns_lifetime": "4.0",
        "upstream_timeout": "3.0",
        "webhook_allow_private": "true",
        "webhook_retry_scale": "0.01",
        "check_interval_min": "1",
        "check_interval_max": "2",
        "verified_check_interval": str(ROUND),
    }
    settings.update(extra)
    return settings


@contextmanager
def workers(count: int, log_dir: Path, settings: dict[str, str]) -> Iterator[list[Any]]:
    """`count` worker processes; SIGTERM at the end, each must stop by itself."""
    processes = []
    for number in range(count):
        log = (log_dir / f"worker-{number}-{uuid.uuid4().hex[:6]}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(CLI), "worker"],
                cwd=log_dir,
                env=service_environment(**settings),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    try:
        yield processes
    finally:
        codes = [stop(process) for process in processes]
        assert all(code in (0, -signal.SIGKILL) for code in codes), codes


async def insert_due_setups(api: Api, zone: TestZone, count: int) -> list[str]:
    """`count` active setups under the zone's domain, every re-check due now."""
    now = utc_now()
    rows = [
        {
            "id": uuid.uuid4(),
            "workspace_id": "ws1",
            "tenant_name": f"p-{uuid.uuid4().hex[:11]}",  # never 12 digits: see dns_zone
            "domain_identity": f"p{number}.{zone.domain}",
            "region": REGION,
            "mail_from_domain": f"{MAIL_FROM}.p{number}.{zone.domain}",
            "state": SetupState.ACTIVE.value,
            "state_changed_at": now,
            "dkim_tokens": list(DKIM_TOKENS),
            "signing_hosted_zone": SIGNING_ZONE,
            "provisioning_steps": [],
            "dns_verified": False,
            "dns_results": [],
            "created_at": now,
            "updated_at": now,
            "next_check_at": now - timedelta(seconds=1),
            "check_interval": ROUND,
            # SES status is not what this test counts: not due.
            "ses_next_at": now + timedelta(days=1),
        }
        for number in range(count)
    ]
    async with api.database.transaction() as session:
        await session.execute(insert(SesSetup), rows)
    return [row["domain_identity"] for row in rows]


def received_verified(count: int) -> Any:
    def enough(received: list[Received]) -> bool:
        return len({r.webhook_id for r in received}) >= count

    return enough


async def test_two_workers_and_two_api_processes_check_each_setup_once_and_deliver_each_event_once(
    api: Api, sandbox: SandboxThread, dns_zone: TestZone, tmp_path: Path
) -> None:
    headers = await api.key()
    # Once checked, a setup is not due again within the test: one round.
    settings = worker_settings(
        api, sandbox, check_interval_min=str(ROUND), check_interval_max=str(ROUND)
    )
    with Receiver() as receiver, ExitStack() as stack:
        served = stack.enter_context(
            serve(tmp_path / "serve.log", "--workers", "2", "--no-worker", **settings)
        )
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            response = await client.post(
                f"{served.base_url}/v1/ws1/webhooks",
                json={"url": receiver.url(), "events": ["ses_setup.verified"]},
                headers=headers,
            )
        assert response.status_code == 201, response.text
        domains = await insert_due_setups(api, dns_zone, SETUPS)
        for domain in domains[:VERIFIED]:
            zone = TestZone(dns_zone.server, domain)
            zone.publish(zone.expected_records())
        start = utc_now()
        stack.enter_context(workers(2, tmp_path, settings))

        async def round_done() -> bool:
            async with api.database.read() as connection:
                waiting = await connection.scalar(
                    select(func.count()).where(
                        SesSetup.id.is_not(None),
                        (SesSetup.dns_checked_at.is_(None)) | (SesSetup.dns_checked_at < start),
                    )
                )
            return waiting == 0

        await eventually(round_done, within=90, what="every setup to be checked", interval=0.5)
        received = await receiver.wait_for(
            received_verified(VERIFIED), within=30, what=f"{VERIFIED} verified events"
        )
    counts = dns_zone.query_counts()
    per_setup = Counter(
        counts[(f"{DKIM_TOKENS[0]}._domainkey.{domain}", "CNAME")] for domain in domains
    )
    assert per_setup == {1: SETUPS}, per_setup
    by_id = Counter(r.webhook_id for r in receiver.received)
    assert len(by_id) == VERIFIED
    assert set(by_id.values()) == {1}, by_id.most_common(3)
    assert {r.json()["data"]["ses_setup"]["domain_identity"] for r in received} == set(
        domains[:VERIFIED]
    )


async def test_a_worker_killed_mid_delivery_leaves_the_event_to_the_next_one(
    api: Api, sandbox: SandboxThread, dns_zone: TestZone, tmp_path: Path
) -> None:
    headers = await api.key()
    settings = worker_settings(api, sandbox, webhook_timeout="3")
    # The first attempt hangs: the worker is killed while it waits for the answer.
    with Receiver(lambda path, number: "hang" if number == 1 else 204) as receiver:
        hook = (
            await api.client.post("/v1/ws1/webhooks", json={"url": receiver.url()}, headers=headers)
        ).json()
        await api.create_setup(
            headers, tenant_name=f"k-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        with workers(1, tmp_path, settings) as [first]:
            await receiver.wait_for(lambda got: len(got) >= 1, within=20, what="the first attempt")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        with workers(1, tmp_path, settings):
            received = await receiver.wait_for(
                lambda got: len(got) >= 2, within=30, what="the attempt of the next worker"
            )

            async def delivered() -> bool:
                log = await api.client.get(
                    f"/v1/ws1/webhooks/{hook['id']}/deliveries", headers=headers
                )
                return log.json()["items"][0]["status"] == "delivered"

            await eventually(delivered, within=10, what="the delivery log to say delivered")
    assert received[0].webhook_id == received[1].webhook_id
    assert received[1].json()["type"] == "ses_setup.created"


async def test_a_worker_killed_mid_check_leaves_the_check_to_the_next_one(
    api: Api, sandbox: SandboxThread, dns_zone: TestZone, bind_server: BindServer, tmp_path: Path
) -> None:
    headers = await api.key()
    settings = worker_settings(api, sandbox)
    with Receiver() as receiver:
        response = await api.client.post(
            "/v1/ws1/webhooks",
            json={"url": receiver.url(), "events": ["ses_setup.verified"]},
            headers=headers,
        )
        assert response.status_code == 201
        setup = await api.create_setup(
            headers, tenant_name=f"c-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        dns_zone.publish_api_records(setup["dns_records"])
        async with api.database.transaction() as session:
            await session.execute(
                update(SesSetup)
                .where(SesSetup.id == uuid.UUID(setup["id"]))
                .values(next_check_at=utc_now())
            )

        async def claimed() -> bool:
            async with api.database.read() as connection:
                until = await connection.scalar(
                    select(SesSetup.check_claimed_until).where(
                        SesSetup.id == uuid.UUID(setup["id"])
                    )
                )
            return until is not None

        # The check hangs on DNS while the worker is killed.
        with bind_server.paused(), workers(1, tmp_path, settings) as [first]:
            await eventually(claimed, within=20, what="the worker to claim the check")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        with workers(1, tmp_path, settings):
            received = await receiver.wait_for(
                lambda got: len(got) >= 1, within=40, what="ses_setup.verified"
            )
    assert received[0].json()["data"]["ses_setup"]["id"] == setup["id"]


def _worker_logs(log_dir: Path) -> str:
    return "".join(path.read_text() for path in log_dir.glob("worker-*.log"))


def _policies(pid: int) -> set[int]:
    """The scheduling policy of every thread of process `pid`."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.parametrize(
    ("priority", "policy", "said"),
    [
        ("idle", "SCHED_IDLE", "idle CPU priority (SCHED_IDLE)"),
        ("normal", "SCHED_OTHER", "normal CPU priority (WORKER_CPU_PRIORITY=normal)"),
    ],
)
async def test_the_worker_yields_the_cpu_unless_told_not_to(
    api: Api, sandbox: SandboxThread, tmp_path: Path, priority: str, policy: str, said: str
) -> None:
    if not hasattr(os, "SCHED_IDLE"):
        pytest.skip("Linux's scheduling policies")
    settings = worker_settings(api, sandbox, worker_cpu_priority=priority)
    with workers(1, tmp_path, settings) as (process,):

        async def started() -> bool:
            return "worker started" in await asyncio.to_thread(_worker_logs, tmp_path)

        await eventually(started, within=30, what="the worker to start")
        assert _policies(process.pid) == {getattr(os, policy)}
    assert f"worker: {said}" in _worker_logs(tmp_path)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the API's process is left alone
