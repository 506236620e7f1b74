"""`serve` runs a worker inside the process unless `--no-worker`; `worker` runs it alone.

The embedded default (SQLite, the built-in sandbox) works alone: a webhook subscribed through
`serve` gets its events without any other process.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import CLI, free_port, service_environment
from tests.support.receiver import Receiver
from tests.support.serve_process import Served, new_key, serve, stop


def embedded(tmp_path: Path, dns_nameservers: str) -> dict[str, str]:
    return {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/email-channels.db",
        "sandbox_port": str(free_port()),
        "sandbox_state_path": str(tmp_path / "sandbox.json"),
        "dns_nameservers": dns_nameservers,
        "webhook_allow_private": "true",
        "check_interval_min": "1",
        "check_interval_max": "2",
    }


def subscribe_and_create(served: Served, secret: str, receiver: Receiver) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
        hook = client.post("/v1/ws1/webhooks", json={"url": receiver.url()})
        assert hook.status_code == 201, hook.text
        suffix = uuid.uuid4().hex[:10]
        setup = client.post(
            "/v1/ws1/channels/ses-setup",
            json={"tenant_name": f"sv-{suffix}", "domain_identity": f"sv{suffix}.example.test"},
        )
        assert setup.status_code == 201, setup.text
        result: dict[str, Any] = hook.json()
        return result


def test_serve_delivers_events_with_its_own_worker(tmp_path: Path, dns_nameservers: str) -> None:
    settings = embedded(tmp_path, dns_nameservers)
    with Receiver() as receiver, serve(tmp_path / "serve.log", **settings) as served:
        secret = new_key(settings["database_url"])
        subscribe_and_create(served, secret, receiver)
        received = asyncio.run(
            receiver.wait_for(lambda got: len(got) >= 1, within=15, what="ses_setup.created")
        )
    assert received[0].json()["type"] == "ses_setup.created"


def test_serve_no_worker_leaves_deliveries_to_the_worker_command(
    tmp_path: Path, dns_nameservers: str
) -> None:
    settings = embedded(tmp_path, dns_nameservers)
    log = tmp_path / "serve.log"
    with Receiver() as receiver, serve(log, "--no-worker", **settings) as served:
        secret = new_key(settings["database_url"])
        hook = subscribe_and_create(served, secret, receiver)
        with httpx.Client(timeout=10) as client:
            deliveries = client.get(
                f"{served.base_url}/v1/ws1/webhooks/{hook['id']}/deliveries",
                headers={"Authorization": f"Bearer {secret}"},
            ).json()["items"]
        assert [(d["status"], d["attempts"]) for d in deliveries] == [("pending", 0)]
        # The worker alone joins the running sandbox and delivers what is due.
        with (tmp_path / "worker.log").open("wb") as output:
            worker = subprocess.Popen(
                [str(CLI), "worker"],
                cwd=tmp_path,
                env=service_environment(**settings),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            received = asyncio.run(
                receiver.wait_for(lambda got: len(got) >= 1, within=20, what="ses_setup.created")
            )
        finally:
            code = stop(worker)
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert received[0].json()["type"] == "ses_setup.created"
