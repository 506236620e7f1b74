"""Verification that happens on its own: the worker, SES status and events (section 8).

Against BIND and the emulator (whose GetEmailIdentity looks at the same BIND), with the
acceptance settings: CHECK_INTERVAL_MIN=1, CHECK_INTERVAL_MAX=2, WEBHOOK_RETRY_SCALE=0.01.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone
from tests.support.processes import free_port
from tests.support.receiver import Received, Receiver, of_type, verified_payload
from tests.support.sandbox import SandboxThread
from tests.support.worker import FAST_WORKER, eventually, running_worker


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return dict(FAST_WORKER)


@pytest.fixture
def sandbox(bind_sandbox_server: SandboxThread) -> SandboxThread:
    bind_sandbox_server.reset()
    return bind_sandbox_server


async def subscribe(api: Api, headers: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/v1/ws1/webhooks", json={"url": url, **body}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def one(received: list[Received], event_type: str) -> Received:
    matching = [r for r in received if r.json()["type"] == event_type]
    assert matching, event_type
    return matching[0]


async def test_published_records_are_announced_verified_then_unverified_then_deleted(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        hook = await subscribe(api, headers, receiver.url())
        setup = await api.create_setup(
            headers, tenant_name=f"w-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        assert setup["ses_status"] == {
            "verified_for_sending": False,
            "dkim_status": "PENDING",
            "mail_from_status": "PENDING",
            "checked_at": None,
        }
        async with running_worker(api):
            await receiver.wait_for(of_type("ses_setup.created"), within=10, what="created")
            dns_zone.publish_api_records(setup["dns_records"])
            received = await receiver.wait_for(
                of_type("ses_setup.verified"), within=10, what="ses_setup.verified"
            )
            verified = one(received, "ses_setup.verified")
            payload = verified_payload(hook["secret"], verified)  # the reference verifies it
            assert payload["data"]["workspace_id"] == "ws1"
            assert payload["data"]["ses_setup"]["id"] == setup["id"]
            assert payload["data"]["ses_setup"]["dns_verified"] is True
            assert verified.webhook_id.startswith("evt_")
            received = await receiver.wait_for(
                of_type("ses_setup.ses_verified"), within=15, what="ses_setup.ses_verified"
            )
            verified_payload(hook["secret"], one(received, "ses_setup.ses_verified"))
            url = f"/v1/ws1/channels/ses-setup/{setup['id']}"
            detail = (await api.client.get(url, headers=headers)).json()
            assert detail["ses_status"]["verified_for_sending"] is True
            assert detail["ses_status"]["dkim_status"] == "SUCCESS"
            assert detail["ses_status"]["mail_from_status"] == "SUCCESS"
            assert detail["ses_status"]["checked_at"] is not None

            # One record goes: the event waits for UNVERIFY_AFTER background checks.
            dkim = setup["dns_records"][0]
            before = dns_zone.query_counts()[(dkim["address"], "CNAME")]
            dns_zone.delete(dkim["address"], "CNAME")
            await receiver.wait_for(
                of_type("ses_setup.unverified"), within=20, what="ses_setup.unverified"
            )
            looks = dns_zone.query_counts()[(dkim["address"], "CNAME")] - before
            assert looks >= api.settings.unverify_after

            response = await api.client.delete(url, headers=headers)
            assert response.status_code == 204
            received = await receiver.wait_for(
                of_type("ses_setup.deleted"), within=10, what="ses_setup.deleted"
            )
    types = [r.json()["type"] for r in received]
    assert types[0] == "ses_setup.created"
    assert types[-1] == "ses_setup.deleted"
    assert types.count("ses_setup.verified") == 1
    assert types.count("ses_setup.unverified") == 1
    for item in received:
        verified_payload(hook["secret"], item)


async def test_a_webhook_gets_only_the_event_types_it_asked_for_and_after_its_creation(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        early = await api.create_setup(
            headers, tenant_name=f"e-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        await subscribe(api, headers, receiver.url(), events=["ses_setup.deleted"])
        async with running_worker(api):
            url = f"/v1/ws1/channels/ses-setup/{early['id']}"
            assert (await api.client.delete(url, headers=headers)).status_code == 204
            received = await receiver.wait_for(
                of_type("ses_setup.deleted"), within=10, what="ses_setup.deleted"
            )
    assert [r.json()["type"] for r in received] == ["ses_setup.deleted"]


async def test_no_event_reaches_another_workspace(api: Api, dns_zone: TestZone) -> None:
    headers, other = await api.key("ws1"), await api.key("ws2")
    with Receiver() as receiver:
        response = await api.client.post(
            "/v1/ws2/webhooks", json={"url": receiver.url("/other")}, headers=other
        )
        assert response.status_code == 201
        await subscribe(api, headers, receiver.url())
        await api.create_setup(
            headers, tenant_name=f"o-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        async with running_worker(api):
            await receiver.wait_for(of_type("ses_setup.created"), within=10, what="created")

            async def delivered() -> bool:
                page = (await api.client.get("/v1/ws1/webhooks", headers=headers)).json()
                hook_id = page["items"][0]["id"]
                log = await api.client.get(
                    f"/v1/ws1/webhooks/{hook_id}/deliveries", headers=headers
                )
                return bool(log.json()["items"]) and log.json()["items"][0]["status"] == (
                    "delivered"
                )

            await eventually(delivered, within=10, what="the delivery log")
    assert receiver.on("/other") == []


def readme_receiver_command(port: int) -> str:
    """The README's one-line receiver, listening on `port` instead of 9000."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [line] = [line for line in readme.splitlines() if line.startswith('python3 -c "import http')]
    assert "9000" in line
    return line.replace("9000", str(port))


async def test_the_readme_receiver_prints_each_event(api: Api, dns_zone: TestZone) -> None:
    port = free_port()
    receiver = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        readme_receiver_command(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        headers = await api.key()
        response = await api.client.post(
            "/v1/ws1/webhooks", json={"url": f"http://127.0.0.1:{port}/hooks"}, headers=headers
        )
        assert response.status_code == 201
        setup = await api.create_setup(
            headers, tenant_name=f"rd-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        assert receiver.stdout is not None
        async with running_worker(api):
            line = (await asyncio.wait_for(receiver.stdout.readline(), 15)).decode()
    finally:
        os.killpg(receiver.pid, signal.SIGTERM)
        await receiver.wait()
    event_id, body = line.split(" ", 1)
    assert event_id.startswith("evt_")
    assert json.loads(body)["data"]["ses_setup"]["id"] == setup["id"]
