"""The emulator's reputation entities and regions, through boto3 as botocore's model shapes them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.sandbox import SandboxThread

STANDARD = "arn:aws:ses:us-east-1:aws:reputation-policy/standard"
STRICT = "arn:aws:ses:us-east-1:aws:reputation-policy/strict"


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def _entity(ses: Any, arn: str) -> dict[str, Any]:
    entity: dict[str, Any] = ses.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn
    )["ReputationEntity"]
    return entity


def test_a_new_tenant_is_a_reputation_entity_enabled_under_the_standard_policy(ses: Any) -> None:
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    entity = _entity(ses, arn)
    assert entity["ReputationEntityReference"] == arn
    assert entity["ReputationEntityType"] == "RESOURCE"
    assert entity["ReputationManagementPolicy"] == STANDARD
    assert entity["CustomerManagedStatus"]["Status"] == "ENABLED"
    assert entity["AwsSesManagedStatus"]["Status"] == "ENABLED"
    assert entity["SendingStatusAggregate"] == "ENABLED"
    assert "ReputationImpact" not in entity


def test_customer_managed_status_and_policy_updates_are_read_back(ses: Any) -> None:
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    ses.update_reputation_entity_customer_managed_status(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn, SendingStatus="DISABLED"
    )
    ses.update_reputation_entity_policy(
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=arn,
        ReputationEntityPolicy=STRICT,
    )
    entity = _entity(ses, arn)
    assert entity["CustomerManagedStatus"]["Status"] == "DISABLED"
    assert entity["SendingStatusAggregate"] == "DISABLED"
    assert entity["ReputationManagementPolicy"] == STRICT
    assert ses.get_tenant(TenantName="acme")["Tenant"]["SendingStatus"] == "DISABLED"
    listed = ses.list_reputation_entities(Filter={"SENDING_STATUS": "DISABLED"})
    assert [item["ReputationEntityReference"] for item in listed["ReputationEntities"]] == [arn]


def test_a_policy_that_is_not_ses_managed_is_a_bad_request(ses: Any) -> None:
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    with pytest.raises(ClientError) as raised:
        ses.update_reputation_entity_policy(
            ReputationEntityType="RESOURCE",
            ReputationEntityReference=arn,
            ReputationEntityPolicy="arn:aws:ses:us-east-1:aws:reputation-policy/lenient",
        )
    assert raised.value.response["Error"]["Code"] == "BadRequestException"


def test_an_unknown_entity_is_not_found(ses: Any) -> None:
    with pytest.raises(ClientError) as raised:
        _entity(ses, "arn:aws:ses:us-east-1:000000000000:tenant/ghost/tn-0")
    assert raised.value.response["Error"]["Code"] == "NotFoundException"


def test_the_control_route_plays_ses_pausing_and_reinstating_a_tenant(
    sandbox: SandboxThread, ses: Any
) -> None:
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    paused = sandbox.set_reputation(
        tenant_name="acme", ses_managed_status="DISABLED", cause="Bounce rate", impact="HIGH"
    )
    assert paused.status_code == 204
    entity = _entity(ses, arn)
    assert entity["AwsSesManagedStatus"]["Status"] == "DISABLED"
    assert entity["AwsSesManagedStatus"]["Cause"] == "Bounce rate"
    assert entity["ReputationImpact"] == "HIGH"
    assert entity["SendingStatusAggregate"] == "DISABLED"
    assert sandbox.set_reputation(tenant_name="acme", ses_managed_status="ENABLED").status_code == (
        204
    )
    assert _entity(ses, arn)["SendingStatusAggregate"] == "ENABLED"


def test_the_control_route_refuses_bad_bodies_and_unknown_tenants(sandbox: SandboxThread) -> None:
    invalid = sandbox.set_reputation(tenant_name="acme", ses_managed_status="PAUSED", extra=1)
    assert invalid.status_code == 422
    assert {error["field"] for error in invalid.json()["errors"]} == {
        "ses_managed_status",
        "extra",
    }
    assert sandbox.set_reputation(
        tenant_name="ghost", ses_managed_status="DISABLED"
    ).status_code == (404)


def test_regions_are_kept_apart_by_the_signature(sandbox: SandboxThread) -> None:
    east, west = sandbox.boto3_client(), sandbox.boto3_client(region="eu-west-1")
    created = west.create_tenant(TenantName="acme")
    assert created["TenantArn"].startswith("arn:aws:ses:eu-west-1:")
    west.create_email_identity(EmailIdentity="mail.example.com")
    assert (
        west.get_email_identity(EmailIdentity="mail.example.com")["DkimAttributes"][
            "SigningHostedZone"
        ]
        == "dkim.eu-west-1.amazonses.com"
    )
    assert [t["TenantName"] for t in west.list_tenants()["Tenants"]] == ["acme"]
    assert east.list_tenants()["Tenants"] == []
    assert east.list_email_identities()["EmailIdentities"] == []
    # The same name is free in another region, as in SES.
    east.create_tenant(TenantName="acme")
    assert [t["TenantName"] for t in sandbox.state(region="eu-west-1")["tenants"]] == ["acme"]
    assert len(sandbox.state()["tenants"]) == 2
    with pytest.raises(ClientError):
        _entity(east, created["TenantArn"])  # another region's entity is not here


def test_regions_survive_a_restart(tmp_path: Any) -> None:
    state_path = str(tmp_path / "state.sqlite3")
    first = SandboxThread(state_path=state_path).start()
    try:
        first.boto3_client(region="eu-west-1").create_tenant(TenantName="acme")
    finally:
        first.stop()
    again = SandboxThread(state_path=state_path).start()
    try:
        assert again.boto3_client().list_tenants()["Tenants"] == []
        west = again.boto3_client(region="eu-west-1").list_tenants()["Tenants"]
        assert [tenant["TenantName"] for tenant in west] == ["acme"]
    finally:
        again.stop()
