"""What the SES adapter puts on the wire besides the operation itself."""

from __future__ import annotations

from typing import Any

from email_channels.integrations.ses.client import USER_AGENT, AioBotocoreSes
from tests.support.sandbox import DUMMY_CREDENTIALS, SandboxThread


async def test_every_call_names_the_service_as_its_user_agent(sandbox: SandboxThread) -> None:
    ses = AioBotocoreSes(
        region="us-east-1",
        timeout=5.0,
        endpoint_url=sandbox.endpoint_url,
        credentials=(
            DUMMY_CREDENTIALS["aws_access_key_id"],
            DUMMY_CREDENTIALS["aws_secret_access_key"],
        ),
    )
    await ses.open()
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
