"""The console's sending controls and region choice, over plain HTTP with a browser's cookies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from email_channels.auth.permissions import Permission
from email_channels.console.session import csrf_token_for
from tests.e2e.test_console_security import browser_like, refused_then_shown, secret_of, sign_in
from tests.support.fixtures_api import Api
from tests.support.sandbox import SandboxThread


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"aws_regions": "us-east-1,eu-west-1"}


def _customer_status(sandbox: SandboxThread, tenant_name: str, region: str = "us-east-1") -> str:
    ses = sandbox.boto3_client(region=region)
    arn = ses.get_tenant(TenantName=tenant_name)["Tenant"]["TenantArn"]
    entity = ses.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn
    )["ReputationEntity"]
    status: str = entity["CustomerManagedStatus"]["Status"]
    return status


async def test_the_detail_shows_ses_status_and_sending_and_pauses_and_resumes(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="con-send", domain_identity="send.example")
    page = f"/console/setups/{setup['id']}"
    token = csrf_token_for(secret_of(headers))
    async with browser_like(api) as client:
        await sign_in(client, secret_of(headers))
        shown = await client.get(page)
        assert shown.status_code == 200
        assert "SES DKIM status" in shown.text
        assert "PENDING" in shown.text
        assert re.search(r"<dt>Sending</dt><dd>enabled</dd>", shown.text)
        assert ">Pause sending</button>" in shown.text
        assert "Resume sending" not in shown.text

        paused = await client.post(f"{page}/pause", data={"csrf_token": token})
        assert paused.status_code == 303
        assert _customer_status(sandbox, "con-send") == "DISABLED"
        shown = await client.get(page)
        assert "paused by this workspace" in shown.text
        assert ">Resume sending</button>" in shown.text

        resumed = await client.post(f"{page}/resume", data={"csrf_token": token})
        assert resumed.status_code == 303
        assert _customer_status(sandbox, "con-send") == "ENABLED"


async def test_without_channel_manage_no_button_and_no_pause(
    api: Api, sandbox: SandboxThread
) -> None:
    owner = await api.key()
    setup = await api.create_setup(owner, tenant_name="con-view", domain_identity="view.example")
    viewer = await api.key(permissions=[Permission.CHANNEL_VIEW])
    page = f"/console/setups/{setup['id']}"
    async with browser_like(api) as client:
        await sign_in(client, secret_of(viewer))
        shown = await client.get(page)
        assert "Pause sending" not in shown.text
        shown_text = await refused_then_shown(
            client,
            f"{page}/pause",
            {"csrf_token": csrf_token_for(secret_of(viewer))},
            page=page,
        )
        assert "Channel.manage" in shown_text
    async with browser_like(api) as client:
        await sign_in(client, secret_of(owner))
        await refused_then_shown(client, f"{page}/pause", {"csrf_token": "wrong"}, page=page)
    assert _customer_status(sandbox, "con-view") == "ENABLED"


async def test_new_setup_offers_the_regions_and_creates_in_the_one_chosen(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    token = csrf_token_for(secret_of(headers))
    async with browser_like(api) as client:
        await sign_in(client, secret_of(headers))
        form = await client.get("/console/setups/new")
        assert '<label class="label" for="region">Region</label>' in form.text
        assert '<option value="eu-west-1"' in form.text
        created = await client.post(
            "/console/setups",
            data={
                "csrf_token": token,
                "tenant_name": "con-west",
                "domain_identity": "west.example",
                "region": "eu-west-1",
            },
        )
        assert created.status_code == 303
        detail = await client.get(created.headers["location"])
        assert "eu-west-1" in detail.text
        refused = await client.post(
            "/console/setups",
            data={
                "csrf_token": token,
                "tenant_name": "con-far",
                "domain_identity": "far.example",
                "region": "ap-south-1",
            },
        )
        assert refused.status_code == 303
        again = await client.get(refused.headers["location"])
        assert 'id="region-error"' in again.text
        assert "con-far" in again.text  # the form keeps what was typed
    west = sandbox.boto3_client(region="eu-west-1").list_tenants()["Tenants"]
    assert [tenant["TenantName"] for tenant in west] == ["con-west"]
    assert sandbox.boto3_client().list_tenants()["Tenants"] == []


async def test_a_pause_that_ses_refuses_is_said_on_the_page_and_changes_nothing(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="con-fail", domain_identity="fail.example")
    page = f"/console/setups/{setup['id']}"
    sandbox.add_fault(
        operation="UpdateReputationEntityCustomerManagedStatus",
        error_code="ServiceUnavailable",
        http_status=503,
        times=4,
    )
    async with browser_like(api) as client:
        await sign_in(client, secret_of(headers))
        shown = await refused_then_shown(
            client, f"{page}/pause", {"csrf_token": csrf_token_for(secret_of(headers))}, page=page
        )
    assert "Sending was not paused" in shown
    assert re.search(r"<dt>Sending</dt><dd>enabled</dd>", shown)
    assert _customer_status(sandbox, "con-fail") == "ENABLED"
