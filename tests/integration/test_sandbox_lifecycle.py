"""The SES v2 emulator through boto3: the resources a setup creates, read and deleted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.sandbox import SandboxThread

IDENTITY_ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def test_setup_resources_round_trip_and_state_is_empty_afterwards(
    sandbox: SandboxThread, ses: Any
) -> None:
    tenant = ses.create_tenant(TenantName="acme")
    assert re.fullmatch(r"tn-[a-z0-9]{17}", tenant["TenantId"])
    assert tenant["TenantArn"] == (
        f"arn:aws:ses:us-east-1:000000000000:tenant/acme/{tenant['TenantId']}"
    )
    assert tenant["SendingStatus"] == "ENABLED"

    identity = ses.create_email_identity(EmailIdentity="example.com")
    dkim = identity["DkimAttributes"]
    assert identity["IdentityType"] == "DOMAIN"
    assert identity["VerifiedForSendingStatus"] is False
    assert len(dkim["Tokens"]) == 3
    assert all(re.fullmatch(r"[a-z0-9]{32}", token) for token in dkim["Tokens"])
    assert dkim["SigningHostedZone"] == "dkim.amazonses.com"
    assert dkim["SigningEnabled"] is True
    assert dkim["Status"] == "PENDING"
    assert dkim["NextSigningKeyLength"] == "RSA_2048_BIT"

    read_tenant = ses.get_tenant(TenantName="acme")["Tenant"]
    assert read_tenant["TenantId"] == tenant["TenantId"]
    assert read_tenant["CreatedTimestamp"] == tenant["CreatedTimestamp"]
    read_identity = ses.get_email_identity(EmailIdentity="example.com")
    assert read_identity["DkimAttributes"]["Tokens"] == dkim["Tokens"]
    assert read_identity["VerificationStatus"] == "PENDING"

    ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    resources = ses.list_tenant_resources(TenantName="acme")["TenantResources"]
    assert resources == [{"ResourceType": "EMAIL_IDENTITY", "ResourceArn": IDENTITY_ARN}]

    ses.delete_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    assert ses.list_tenant_resources(TenantName="acme")["TenantResources"] == []
    ses.delete_email_identity(EmailIdentity="example.com")
    ses.delete_tenant(TenantName="acme")
    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}


def test_state_route_shows_the_contract_shape(sandbox: SandboxThread, ses: Any) -> None:
    tenant = ses.create_tenant(TenantName="acme")
    tokens = ses.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    ses.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com", MailFromDomain="bounce.example.com"
    )
    ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)

    assert sandbox.state() == {
        "tenants": [{"TenantName": "acme", "TenantArn": tenant["TenantArn"]}],
        "identities": [
            {
                "EmailIdentity": "example.com",
                "DkimTokens": tokens,
                "MailFromDomain": "bounce.example.com",
            }
        ],
        "associations": [{"TenantName": "acme", "ResourceArn": IDENTITY_ARN}],
    }


def test_mail_from_attributes_are_stored_and_can_be_removed(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    assert "MailFromAttributes" not in ses.get_email_identity(EmailIdentity="example.com")

    ses.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com",
        MailFromDomain="bounce.example.com",
        BehaviorOnMxFailure="REJECT_MESSAGE",
    )
    assert ses.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"] == {
        "MailFromDomain": "bounce.example.com",
        "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }

    ses.put_email_identity_mail_from_attributes(EmailIdentity="example.com")
    assert "MailFromAttributes" not in ses.get_email_identity(EmailIdentity="example.com")


def test_next_signing_key_length_comes_from_the_request(ses: Any) -> None:
    created = ses.create_email_identity(
        EmailIdentity="example.com",
        DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    assert created["DkimAttributes"]["NextSigningKeyLength"] == "RSA_1024_BIT"


def test_email_address_identity_is_url_decoded_and_has_no_tokens(ses: Any) -> None:
    created = ses.create_email_identity(EmailIdentity="jane+news@example.com")
    assert created["IdentityType"] == "EMAIL_ADDRESS"
    assert "Tokens" not in created["DkimAttributes"]

    read = ses.get_email_identity(EmailIdentity="jane+news@example.com")
    assert read["IdentityType"] == "EMAIL_ADDRESS"
    ses.delete_email_identity(EmailIdentity="jane+news@example.com")


def test_deleting_a_tenant_removes_its_associations(sandbox: SandboxThread, ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)

    ses.delete_tenant(TenantName="acme")

    assert sandbox.state()["associations"] == []
    assert [item["EmailIdentity"] for item in sandbox.state()["identities"]] == ["example.com"]


def test_deleting_an_identity_removes_associations_to_it(sandbox: SandboxThread, ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)

    ses.delete_email_identity(EmailIdentity="example.com")

    assert ses.list_tenant_resources(TenantName="acme")["TenantResources"] == []
    assert sandbox.state()["associations"] == []


def test_list_tenant_resources_pages_and_filters(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    domains = ["a.example.com", "b.example.com", "c.example.com"]
    for domain in domains:
        ses.create_email_identity(EmailIdentity=domain)
        arn = f"arn:aws:ses:us-east-1:000000000000:identity/{domain}"
        ses.create_tenant_resource_association(TenantName="acme", ResourceArn=arn)

    first = ses.list_tenant_resources(TenantName="acme", PageSize=2)
    second = ses.list_tenant_resources(TenantName="acme", PageSize=2, NextToken=first["NextToken"])
    arns = [item["ResourceArn"] for item in first["TenantResources"] + second["TenantResources"]]
    assert arns == [f"arn:aws:ses:us-east-1:000000000000:identity/{d}" for d in domains]
    assert "NextToken" not in second

    templates = ses.list_tenant_resources(
        TenantName="acme", Filter={"RESOURCE_TYPE": "EMAIL_TEMPLATE"}
    )
    assert templates["TenantResources"] == []
