"""ListTenants and ListEmailIdentities through boto3: order, pages, filters, faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.sandbox import SandboxThread

# Not in alphabetical order, so that "oldest first" cannot pass by sorting on the name.
TENANT_NAMES = ["echo", "delta", "alpha", "charlie", "bravo"]
ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"
DOMAINS = ["e.example.com", "d.example.com", "a.example.com", "c.example.com", "b.example.com"]


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def walk(list_page: Any, result_key: str, **parameters: Any) -> list[list[dict[str, Any]]]:
    """Every page of a List operation, following NextToken to the end."""
    pages = [list_page(**parameters)]
    while "NextToken" in pages[-1]:
        pages.append(list_page(**{**parameters, "NextToken": pages[-1]["NextToken"]}))
    return [page[result_key] for page in pages]


def test_list_tenants_in_pages_of_two_walks_every_tenant_once_oldest_first(ses: Any) -> None:
    created = {name: ses.create_tenant(TenantName=name) for name in TENANT_NAMES}

    pages = walk(ses.list_tenants, "Tenants", PageSize=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [tenant for page in pages for tenant in page]
    assert [tenant["TenantName"] for tenant in listed] == TENANT_NAMES
    first = created["echo"]
    assert listed[0] == {
        "TenantName": "echo",
        "TenantId": first["TenantId"],
        "TenantArn": first["TenantArn"],
        "CreatedTimestamp": first["CreatedTimestamp"],
        "SendingStatus": "ENABLED",
    }


def test_list_email_identities_in_pages_of_two_walks_every_identity_once(ses: Any) -> None:
    for domain in DOMAINS:
        ses.create_email_identity(EmailIdentity=domain)

    pages = walk(ses.list_email_identities, "EmailIdentities", PageSize=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [identity for page in pages for identity in page]
    assert [identity["IdentityName"] for identity in listed] == DOMAINS
    assert listed[0] == {
        "IdentityType": "DOMAIN",
        "IdentityName": DOMAINS[0],
        "SendingEnabled": False,
        "VerificationStatus": "PENDING",
    }


def test_list_tenants_paginator_walks_every_tenant(ses: Any) -> None:
    for name in TENANT_NAMES:
        ses.create_tenant(TenantName=name)

    pages = list(ses.get_paginator("list_tenants").paginate(PaginationConfig={"PageSize": 2}))

    assert len(pages) == 3
    names = [tenant["TenantName"] for page in pages for tenant in page["Tenants"]]
    assert names == TENANT_NAMES


def test_deleting_listed_tenants_between_pages_skips_none_of_the_rest(ses: Any) -> None:
    for name in TENANT_NAMES:
        ses.create_tenant(TenantName=name)

    first = ses.list_tenants(PageSize=2)
    for tenant in first["Tenants"]:
        ses.delete_tenant(TenantName=tenant["TenantName"])
    rest = walk(ses.list_tenants, "Tenants", PageSize=2, NextToken=first["NextToken"])

    # An offset token would now skip "alpha" and "charlie".
    assert [tenant["TenantName"] for page in rest for tenant in page] == TENANT_NAMES[2:]


def test_empty_account_lists_nothing_without_a_token(ses: Any) -> None:
    tenants = ses.list_tenants()
    identities = ses.list_email_identities()

    assert tenants["Tenants"] == []
    assert "NextToken" not in tenants
    assert identities["EmailIdentities"] == []
    assert "NextToken" not in identities


def test_filters_narrow_the_lists(ses: Any) -> None:
    for name in TENANT_NAMES:
        ses.create_tenant(TenantName=name)
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_email_identity(EmailIdentity="jane@example.com")

    tenants = ses.list_tenants(Filter={"TENANT_NAME_CONTAINS": "ha"})["Tenants"]
    addresses = ses.list_email_identities(Filter={"IDENTITY_TYPE": "EMAIL_ADDRESS"})
    verified = ses.list_email_identities(Filter={"VERIFICATION_STATUS": "SUCCESS"})

    assert [tenant["TenantName"] for tenant in tenants] == ["alpha", "charlie"]
    assert [item["IdentityName"] for item in addresses["EmailIdentities"]] == ["jane@example.com"]
    assert verified["EmailIdentities"] == []


@pytest.mark.parametrize(
    "call",
    [
        lambda ses: ses.list_tenants(NextToken="not-a-token"),
        lambda ses: ses.list_email_identities(NextToken="bm90LWEtdG9rZW4="),
        lambda ses: ses.list_email_identities(PageSize=1001),
        lambda ses: ses.list_tenants(PageSize=-1),
    ],
    ids=["garbage-token", "foreign-token", "page-size-over-1000", "negative-page-size"],
)
def test_invalid_list_input_is_bad_request(ses: Any, call: Any) -> None:
    with pytest.raises(ClientError) as info:
        call(ses)

    assert info.value.response["Error"]["Code"] == "BadRequestException"


def test_token_of_list_tenant_resources_is_refused_by_list_tenants(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    for domain in DOMAINS[:2]:
        ses.create_email_identity(EmailIdentity=domain)
        arn = f"arn:aws:ses:us-east-1:000000000000:identity/{domain}"
        ses.create_tenant_resource_association(TenantName="acme", ResourceArn=arn)
    token = ses.list_tenant_resources(TenantName="acme", PageSize=1)["NextToken"]

    with pytest.raises(ClientError) as info:
        ses.list_tenants(NextToken=token)

    assert info.value.response["Error"]["Code"] == "BadRequestException"


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("ListTenants", lambda ses: ses.list_tenants()),
        ("ListEmailIdentities", lambda ses: ses.list_email_identities()),
        ("ListTagsForResource", lambda ses: ses.list_tags_for_resource(ResourceArn=ARN)),
        ("UntagResource", lambda ses: ses.untag_resource(ResourceArn=ARN, TagKeys=["team"])),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_faults_apply_to_the_new_operations(
    sandbox: SandboxThread, ses: Any, operation: str, call: Any
) -> None:
    ses.create_email_identity(EmailIdentity="example.com", Tags=[{"Key": "team", "Value": "a"}])
    sandbox.add_fault(operation=operation, error_code="TooManyRequestsException", http_status=429)

    with pytest.raises(ClientError) as info:
        call(ses)

    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert sandbox.pending_faults() == []
    call(ses)  # the fault was used up; the next call succeeds


def test_tag_resource_fault_does_not_apply_the_tags(sandbox: SandboxThread, ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    sandbox.add_fault(operation="TagResource")

    with pytest.raises(ClientError) as info:
        ses.tag_resource(ResourceArn=ARN, Tags=[{"Key": "env", "Value": "test"}])

    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert ses.list_tags_for_resource(ResourceArn=ARN)["Tags"] == []


def test_tag_resource_fault_after_apply_keeps_the_tags(sandbox: SandboxThread, ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    sandbox.add_fault(operation="TagResource", after_apply=True)

    with pytest.raises(ClientError):
        ses.tag_resource(ResourceArn=ARN, Tags=[{"Key": "env", "Value": "test"}])

    assert ses.list_tags_for_resource(ResourceArn=ARN)["Tags"] == [{"Key": "env", "Value": "test"}]
