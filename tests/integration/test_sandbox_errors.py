"""Every SES error code the emulator answers, on the case that causes it, as botocore sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from email_channels.sandbox.account import Quotas
from tests.support.sandbox import SandboxThread
from tests.support.sandbox_process import refusal

IDENTITY_ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def test_duplicate_tenant_is_already_exists(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    code, status, message = refusal(lambda: ses.create_tenant(TenantName="acme"))
    assert (code, status) == ("AlreadyExistsException", 400)
    assert "acme" in message


def test_duplicate_identity_is_already_exists(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    code, status, _ = refusal(lambda: ses.create_email_identity(EmailIdentity="example.com"))
    assert (code, status) == ("AlreadyExistsException", 400)


def test_duplicate_association_is_already_exists(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    ses.create_email_identity(EmailIdentity="example.com")
    ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    code, _, _ = refusal(
        lambda: ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    )
    assert code == "AlreadyExistsException"


@pytest.mark.parametrize(
    "call",
    [
        lambda ses: ses.get_tenant(TenantName="ghost"),
        lambda ses: ses.delete_tenant(TenantName="ghost"),
        lambda ses: ses.list_tenant_resources(TenantName="ghost"),
        lambda ses: ses.get_email_identity(EmailIdentity="ghost.example"),
        lambda ses: ses.delete_email_identity(EmailIdentity="ghost.example"),
        lambda ses: ses.put_email_identity_mail_from_attributes(
            EmailIdentity="ghost.example", MailFromDomain="bounce.ghost.example"
        ),
        lambda ses: ses.create_tenant_resource_association(
            TenantName="ghost", ResourceArn=IDENTITY_ARN
        ),
        lambda ses: ses.delete_tenant_resource_association(
            TenantName="ghost", ResourceArn=IDENTITY_ARN
        ),
    ],
    ids=[
        "GetTenant",
        "DeleteTenant",
        "ListTenantResources",
        "GetEmailIdentity",
        "DeleteEmailIdentity",
        "PutEmailIdentityMailFromAttributes",
        "CreateTenantResourceAssociation",
        "DeleteTenantResourceAssociation",
    ],
)
def test_missing_resource_is_not_found(ses: Any, call: Callable[[Any], Any]) -> None:
    code, status, _ = refusal(lambda: call(ses))
    assert (code, status) == ("NotFoundException", 404)


def test_association_with_an_unknown_resource_is_not_found(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    code, _, message = refusal(
        lambda: ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    )
    assert code == "NotFoundException"
    assert IDENTITY_ARN in message


def test_deleting_an_association_that_does_not_exist_is_not_found(ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    ses.create_email_identity(EmailIdentity="example.com")
    code, _, _ = refusal(
        lambda: ses.delete_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
    )
    assert code == "NotFoundException"


@pytest.mark.parametrize(
    "call",
    [
        lambda ses: ses.create_tenant(TenantName="not a name!"),
        lambda ses: ses.create_email_identity(EmailIdentity="not a domain"),
        lambda ses: ses.create_email_identity(EmailIdentity="com"),
        lambda ses: ses.list_tenant_resources(TenantName="acme", NextToken="garbage"),
    ],
    ids=["tenant-name", "domain-with-space", "single-label", "next-token"],
)
def test_invalid_input_is_bad_request(ses: Any, call: Callable[[Any], Any]) -> None:
    ses.create_tenant(TenantName="acme")
    code, status, _ = refusal(lambda: call(ses))
    assert (code, status) == ("BadRequestException", 400)


def test_mail_from_outside_the_identity_is_bad_request(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="example.com")
    code, _, message = refusal(
        lambda: ses.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com", MailFromDomain="bounce.example.org"
        )
    )
    assert code == "BadRequestException"
    assert "subdomain" in message


def test_throttling_is_too_many_requests_with_429(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="GetTenant", error_code="TooManyRequestsException", http_status=429)
    code, status, _ = refusal(lambda: ses.get_tenant(TenantName="acme"))
    assert (code, status) == ("TooManyRequestsException", 429)


@pytest.fixture
def small_account() -> Iterator[SandboxThread]:
    server = SandboxThread(quotas=Quotas(max_tenants=1, max_email_identities=1)).start()
    yield server
    server.stop()


def test_creates_past_the_quota_are_limit_exceeded(small_account: SandboxThread) -> None:
    ses = small_account.boto3_client()
    ses.create_tenant(TenantName="first")
    ses.create_email_identity(EmailIdentity="first.example")

    assert refusal(lambda: ses.create_tenant(TenantName="second"))[0] == "LimitExceededException"
    code, _, _ = refusal(lambda: ses.create_email_identity(EmailIdentity="second.example"))
    assert code == "LimitExceededException"


def post(sandbox: SandboxThread, path: str, content: bytes) -> httpx.Response:
    with httpx.Client(trust_env=False) as client:
        return client.post(f"{sandbox.endpoint_url}{path}", content=content)


def test_malformed_json_is_bad_request(sandbox: SandboxThread) -> None:
    response = post(sandbox, "/v2/email/tenants", b'{"TenantName": ')
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "JSON" in response.json()["message"]


@pytest.mark.parametrize(
    "content",
    [b"[]", b"{}", b'{"TenantName": 7}', b'{"TenantName": ""}'],
    ids=["not-an-object", "missing-member", "wrong-type", "too-short"],
)
def test_body_that_does_not_fit_the_model_is_bad_request(
    sandbox: SandboxThread, content: bytes
) -> None:
    response = post(sandbox, "/v2/email/tenants", content)
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert response.json()["message"]


def test_unknown_route_is_a_json_404(sandbox: SandboxThread) -> None:
    response = post(sandbox, "/v2/email/outbound-emails", b"{}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert "outbound-emails" in response.json()["message"]
