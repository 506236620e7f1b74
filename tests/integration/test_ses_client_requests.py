"""What the SES adapter puts on the wire besides the operation itself."""

from __future__ import annotations

from typing import Any

import pytest

from email_channels.errors import Conflict
from email_channels.integrations.ses import identity_arn
from email_channels.integrations.ses.client import OPERATIONS, USER_AGENT
from tests.support.sandbox import SandboxThread


async def test_every_call_names_the_service_as_its_user_agent(sandbox: SandboxThread) -> None:
    ses = await sandbox.ses_adapter()
    sent: list[tuple[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        agent = request.headers["User-Agent"]
        sent.append(
            (request.url.rsplit("/", 1)[-1], agent.decode() if isinstance(agent, bytes) else agent)
        )

    ses._client.meta.events.register("before-send.sesv2", record)
    try:
        await ses.create_tenant("agent-acme", tags={"k": "v"})
        assert await ses.tenant_tags("agent-acme") == {"k": "v"}
        await ses.delete_tenant("agent-acme")
    finally:
        await ses.close()
    # botocore appends its own name and version to the one given.
    assert len(sent) == 3
    assert all(agent.split(" ")[0] == USER_AGENT for _, agent in sent), sent
    assert USER_AGENT.startswith("email-channels/")


async def test_the_trimmed_model_serves_every_call_and_error_the_adapter_makes(
    sandbox: SandboxThread,
) -> None:
    ses = await sandbox.ses_adapter()
    sent: list[str] = []
    ses._client.meta.events.register(
        "before-call.sesv2", lambda model, **_: sent.append(model.name)
    )
    try:
        description = ses._client.meta.service_model._service_description
        assert set(description["operations"]) == OPERATIONS
        assert "documentation" not in description["operations"]["CreateTenant"]
        domain = "trimmed.example"
        tenant = await ses.create_tenant("trimmed-acme", tags={"k": "v"})
        identity = await ses.create_domain_identity(domain, tags={"k": "v"})
        assert len(identity.dkim_tokens) == 3
        arn = identity_arn(tenant_arn=tenant.arn, domain=domain)
        await ses.put_mail_from(domain=domain, mail_from_domain=f"mail.{domain}")
        await ses.associate(tenant_name="trimmed-acme", resource_arn=arn)
        assert [name async for name in ses.tenant_names()] == ["trimmed-acme"]
        assert [name async for name in ses.domain_identities()] == [domain]
        status = await ses.get_identity_status(domain)
        assert status is not None
        assert status.dkim_status == "PENDING"
        await ses.set_sending(tenant_arn=tenant.arn, enabled=False)
        await ses.set_reputation_policy(tenant_arn=tenant.arn, policy="strict")
        reputation = await ses.get_reputation(tenant.arn)
        assert reputation is not None
        assert (reputation.customer_status, reputation.policy) == ("DISABLED", "strict")
        # Errors are parsed by the error shapes the model kept: AlreadyExists, NotFound.
        with pytest.raises(Conflict):
            await ses.create_tenant("trimmed-acme", tags={"k": "v"})
        assert await ses.tenant_tags("no-such-tenant") is None
        await ses.disassociate(tenant_name="trimmed-acme", resource_arn=arn)
        await ses.delete_domain_identity(domain)
        await ses.delete_tenant("trimmed-acme")
        assert await ses.identity_tags(domain) is None
    finally:
        await ses.close()
    assert set(sent) == OPERATIONS
