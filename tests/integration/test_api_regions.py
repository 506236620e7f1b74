"""Regions over HTTP: a setup lives in the region it was created in, and only there."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.fixtures_api import Api
from tests.support.sandbox import SandboxThread

URL = "/v1/ws1/channels/ses-setup"


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"aws_regions": "us-east-1,eu-west-1"}


def _body(**overrides: Any) -> dict[str, Any]:
    body = {
        "tenant_name": f"rg-{uuid.uuid4().hex[:10]}",
        "domain_identity": f"d-{uuid.uuid4().hex[:10]}.example.test",
    }
    body.update(overrides)
    return body


def _tenants(sandbox: SandboxThread, region: str) -> list[str]:
    tenants = sandbox.boto3_client(region=region).list_tenants()["Tenants"]
    return [tenant["TenantName"] for tenant in tenants]


def _identities(sandbox: SandboxThread, region: str) -> list[str]:
    found = sandbox.boto3_client(region=region).list_email_identities()["EmailIdentities"]
    return [identity["IdentityName"] for identity in found]


async def test_a_setup_created_in_eu_west_1_lives_only_there_and_is_deleted_there(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    body = _body(region="eu-west-1")
    setup = await api.create_setup(headers, **body)
    assert setup["region"] == "eu-west-1"
    records = {record["purpose"]: record["record"] for record in setup["dns_records"]}
    assert records["mail_from_mx"] == "10 feedback-smtp.eu-west-1.amazonses.com"
    assert records["inbound_mx"] == "10 inbound-smtp.eu-west-1.amazonaws.com"
    assert records["dkim"].endswith(".dkim.eu-west-1.amazonses.com")

    assert _tenants(sandbox, "eu-west-1") == [body["tenant_name"]]
    assert _identities(sandbox, "eu-west-1") == [body["domain_identity"]]
    assert _tenants(sandbox, "us-east-1") == []
    assert _identities(sandbox, "us-east-1") == []
    west = sandbox.boto3_client(region="eu-west-1")
    resources = west.list_tenant_resources(TenantName=body["tenant_name"])["TenantResources"]
    assert [item["ResourceArn"].split(":")[3] for item in resources] == ["eu-west-1"]

    # The sending controls go to the setup's region as well.
    paused = await api.client.post(f"{URL}/{setup['id']}/pause", headers=headers)
    assert paused.status_code == 200, paused.text
    arn = west.get_tenant(TenantName=body["tenant_name"])["Tenant"]["TenantArn"]
    entity = west.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn
    )["ReputationEntity"]
    assert entity["CustomerManagedStatus"]["Status"] == "DISABLED"

    response = await api.client.delete(f"{URL}/{setup['id']}", headers=headers)
    assert response.status_code == 204
    assert _tenants(sandbox, "eu-west-1") == []
    assert _identities(sandbox, "eu-west-1") == []


async def test_the_default_region_is_the_first_offered(api: Api, sandbox: SandboxThread) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    assert setup["region"] == "us-east-1"
    assert _tenants(sandbox, "us-east-1") == [setup["tenant_name"]]
    assert _tenants(sandbox, "eu-west-1") == []


@pytest.mark.parametrize("region", ["ap-south-1", "EU-WEST-1", ""])
async def test_a_region_not_on_offer_is_a_422_with_nothing_in_any_region(
    api: Api, sandbox: SandboxThread, region: str
) -> None:
    headers = await api.key()
    response = await api.client.post(URL, json=_body(region=region), headers=headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["region"]
    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}
    for name in ("us-east-1", "eu-west-1", "ap-south-1"):
        assert _tenants(sandbox, name) == []


async def test_reconcile_sweeps_an_offered_region_that_no_row_names(
    api: Api, sandbox: SandboxThread
) -> None:
    service = api.app.state.ses_setups
    deployment = await service.lifecycle.deployment.value()  # this installation's tag
    tags = [
        {"Key": "email-channels:setup-id", "Value": str(uuid.uuid4())},
        {"Key": "email-channels:deployment", "Value": deployment},
        {"Key": "email-channels:created-at", "Value": "2020-01-01T00:00:00+00:00"},
    ]
    west = sandbox.boto3_client(region="eu-west-1")
    west.create_tenant(TenantName="orphan-west", Tags=tags)
    west.create_email_identity(EmailIdentity="orphan-west.example.test", Tags=tags)
    report = await service.reconciler.run(older_than=timedelta(seconds=3600))
    assert report.settled
    assert _tenants(sandbox, "eu-west-1") == []
    assert _identities(sandbox, "eu-west-1") == []
