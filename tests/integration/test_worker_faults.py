"""The worker under faults and over time: expiry, DNS down, SES down (section 8)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from email_channels.ses_setups.models import SesSetup
from tests.support.bind import BindServer
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone
from tests.support.receiver import Receiver, of_type
from tests.support.sandbox import SandboxThread
from tests.support.worker import FAST_WORKER, eventually, running_worker

TTL = 3.0


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {**FAST_WORKER, "unverified_ttl": TTL}


@pytest.fixture
def sandbox(bind_sandbox_server: SandboxThread) -> SandboxThread:
    bind_sandbox_server.reset()
    return bind_sandbox_server


async def row(api: Api, setup_id: str) -> SesSetup:
    async with api.database.read() as connection:
        found = (
            await connection.execute(
                select(SesSetup.__table__).where(SesSetup.id == uuid.UUID(setup_id))
            )
        ).first()
    assert found is not None
    return SesSetup(**found._asdict())


async def test_a_never_verified_unreferenced_setup_expires_and_a_referenced_one_stays(
    api: Api, dns_zone: TestZone, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        response = await api.client.post(
            "/v1/ws1/webhooks",
            json={"url": receiver.url(), "events": ["ses_setup.expired"]},
            headers=headers,
        )
        assert response.status_code == 201
        abandoned = await api.create_setup(
            headers, tenant_name=f"x-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        kept = await api.create_setup(
            headers,
            tenant_name=f"k-{uuid.uuid4().hex[:8]}",
            domain_identity=f"kept.{dns_zone.domain}",
        )
        use_case = await api.client.post(
            "/v1/ws1/use-cases", json={"name": "mail", "ses_setup_id": kept["id"]}, headers=headers
        )
        assert use_case.status_code == 201
        async with running_worker(api):
            received = await receiver.wait_for(
                of_type("ses_setup.expired"), within=TTL + 15, what="ses_setup.expired"
            )
            assert [r.json()["data"]["ses_setup"]["id"] for r in received] == [abandoned["id"]]
    identities = {i["EmailIdentity"] for i in sandbox.state()["identities"]}
    tenants = {t["TenantName"] for t in sandbox.state()["tenants"]}
    assert abandoned["domain_identity"] not in identities
    assert abandoned["tenant_name"] not in tenants
    assert kept["domain_identity"] in identities
    gone = await api.client.get(f"/v1/ws1/channels/ses-setup/{abandoned['id']}", headers=headers)
    assert gone.status_code == 404
    still = await api.client.get(f"/v1/ws1/channels/ses-setup/{kept['id']}", headers=headers)
    assert still.status_code == 200


async def test_dns_down_gives_unknown_changes_nothing_and_the_worker_backs_off(
    api: Api, dns_zone: TestZone, bind_server: BindServer
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        response = await api.client.post(
            "/v1/ws1/webhooks", json={"url": receiver.url()}, headers=headers
        )
        assert response.status_code == 201
        setup = await api.create_setup(
            headers, tenant_name=f"d-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        dns_zone.publish_api_records(setup["dns_records"])
        async with running_worker(api):
            await receiver.wait_for(of_type("ses_setup.verified"), within=10, what="verified")
            before = await row(api, setup["id"])
            with bind_server.stopped():

                async def backed_off() -> bool:
                    now = await row(api, setup["id"])
                    return now.check_interval >= api.settings.check_interval_max and (
                        now.next_check_at != before.next_check_at
                    )

                await eventually(backed_off, within=20, what="the re-checks to back off")
                during = await row(api, setup["id"])
        assert during.dns_verified is True
        assert during.dns_checked_at == before.dns_checked_at
        assert during.failed_checks == 0
        assert all(result["status"] == "unknown" for result in during.dns_results)
        assert not of_type("ses_setup.unverified")(receiver.received)


async def test_ses_down_keeps_the_last_ses_status_and_the_worker_backs_off(
    api: Api, dns_zone: TestZone, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await api.create_setup(
        headers, tenant_name=f"s-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
    )
    # Only the MAIL FROM MX: SES says SUCCESS for it, and the setup stays due for refreshes.
    dns_zone.publish_api_records(
        [r for r in setup["dns_records"] if r["purpose"] == "mail_from_mx"]
    )
    async with running_worker(api):

        async def refreshed() -> bool:
            return (await row(api, setup["id"])).ses_mail_from_status == "SUCCESS"

        await eventually(refreshed, within=10, what="a first SES status")
        before = await row(api, setup["id"])
        sandbox.add_fault(
            operation="GetEmailIdentity",
            error_code="ServiceUnavailable",
            http_status=503,
            times=1000,
        )

        def calls_refused() -> int:
            pending = [f for f in sandbox.pending_faults() if f["operation"] == "GetEmailIdentity"]
            return 1000 - int(pending[0]["times"]) if pending else 1000

        async def met_outage() -> bool:
            return calls_refused() > 0

        await eventually(met_outage, within=10, what="a refresh to meet the outage")
        first = calls_refused()
        later = await row(api, setup["id"])
        # Backing off: in the next seconds, a handful of calls at most, never a flood.
        window_ends = time.monotonic() + 3.0
        await eventually(
            lambda: _passed(window_ends), within=5, what="a three-second window", interval=0.5
        )
        refused_in_window = calls_refused() - first
    sandbox.clear_faults()
    assert refused_in_window <= 12
    assert later.ses_mail_from_status == "SUCCESS"
    assert later.ses_dkim_status == before.ses_dkim_status
    assert later.ses_checked_at == before.ses_checked_at
    detail = (
        await api.client.get(f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers)
    ).json()
    assert detail["ses_status"]["mail_from_status"] == "SUCCESS"
    assert detail["ses_status"]["verified_for_sending"] is False


async def _passed(moment: float) -> bool:
    """Whether the monotonic clock is past `moment` (a window to count calls in)."""
    return time.monotonic() >= moment
