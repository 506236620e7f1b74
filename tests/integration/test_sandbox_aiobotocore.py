"""The emulator through aiobotocore, the client the service itself uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.sandbox import DUMMY_CREDENTIALS, SandboxThread


async def open_client(sandbox: SandboxThread, **config: Any) -> Any:
    options: dict[str, Any] = {"retries": {"total_max_attempts": 1}, **config}
    return get_session().create_client(
        "sesv2",
        endpoint_url=sandbox.endpoint_url,
        region_name="us-east-1",
        config=AioConfig(**options),
        **DUMMY_CREDENTIALS,
    )


@pytest.fixture
async def ses(sandbox: SandboxThread) -> AsyncIterator[Any]:
    async with await open_client(sandbox) as client:
        yield client


async def test_aiobotocore_round_trip(sandbox: SandboxThread, ses: Any) -> None:
    tenant = await ses.create_tenant(TenantName="acme")
    identity = await ses.create_email_identity(EmailIdentity="example.com")
    await ses.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com", MailFromDomain="bounce.example.com"
    )
    identity_arn = "arn:aws:ses:us-east-1:000000000000:identity/example.com"
    await ses.create_tenant_resource_association(TenantName="acme", ResourceArn=identity_arn)

    read = await ses.get_email_identity(EmailIdentity="example.com")
    assert read["DkimAttributes"]["Tokens"] == identity["DkimAttributes"]["Tokens"]
    assert read["MailFromAttributes"]["MailFromDomain"] == "bounce.example.com"
    assert (await ses.get_tenant(TenantName="acme"))["Tenant"]["TenantArn"] == tenant["TenantArn"]
    listed = await ses.list_tenant_resources(TenantName="acme")
    assert [item["ResourceArn"] for item in listed["TenantResources"]] == [identity_arn]

    await ses.delete_tenant(TenantName="acme")
    await ses.delete_email_identity(EmailIdentity="example.com")
    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}


async def test_aiobotocore_sees_the_error_code(ses: Any) -> None:
    with pytest.raises(ClientError) as info:
        await ses.get_tenant(TenantName="ghost")
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


async def test_aiobotocore_times_out_on_a_hang(sandbox: SandboxThread) -> None:
    sandbox.add_fault(operation="CreateTenant", hang=True)
    async with await open_client(sandbox, read_timeout=0.5) as impatient:
        with pytest.raises(ReadTimeoutError):
            await impatient.create_tenant(TenantName="acme")
    assert sandbox.state()["tenants"] == []
