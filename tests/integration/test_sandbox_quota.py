"""The sandbox account's quotas: SES's default of 10,000, raised by a setting as AWS raises it.

`EMAIL_CHANNELS_SANDBOX_MAX_TENANTS` and `EMAIL_CHANNELS_SANDBOX_MAX_EMAIL_IDENTITIES`, read by
`email-channels sandbox serve` and by the sandbox that `serve` embeds.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from bench.upstreams import seed_sandbox

from email_channels.bootstrap import open_ses
from email_channels.config import Settings
from tests.support.processes import (
    UNANSWERED_NAMESERVER,
    free_port,
    stop,
)
from tests.support.sandbox_process import refusal, sandbox_state_when_up, serve_sandbox, ses_client

ACCOUNT = "000000000000"
DEFAULT_QUOTA = 10_000


def test_sandbox_serve_refuses_past_the_default_quota_and_accepts_under_a_raised_one(
    tmp_path: Path,
) -> None:
    state_path = tmp_path / "sandbox.sqlite3"
    seed_sandbox(state_path, setups=DEFAULT_QUOTA)

    port = free_port()
    process = serve_sandbox(tmp_path, port, state_path)
    try:
        sandbox_state_when_up(process, port)
        ses = ses_client(port)
        assert refusal(lambda: ses.create_tenant(TenantName="one-more")) == (
            "LimitExceededException",
            400,
            "The account already has 10000 tenants.",
        )
        assert refusal(lambda: ses.create_email_identity(EmailIdentity="one-more.example")) == (
            "LimitExceededException",
            400,
            "The account already has 10000 email identities.",
        )
    finally:
        stop(process)

    port = free_port()
    process = serve_sandbox(
        tmp_path,
        port,
        state_path,
        sandbox_max_tenants="10001",
        sandbox_max_email_identities="10001",
    )
    try:
        sandbox_state_when_up(process, port)
        ses = ses_client(port)
        ses.create_tenant(TenantName="one-more")
        ses.create_email_identity(EmailIdentity="one-more.example")
        # The raised quota is a quota too.
        assert refusal(lambda: ses.create_tenant(TenantName="two-more")) == (
            "LimitExceededException",
            400,
            "The account already has 10001 tenants.",
        )
        code, _, message = refusal(
            lambda: ses.create_email_identity(EmailIdentity="two-more.example")
        )
        assert (code, message) == (
            "LimitExceededException",
            "The account already has 10001 email identities.",
        )
    finally:
        stop(process)


async def test_the_embedded_sandbox_takes_its_quotas_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        sandbox_port=free_port(),
        sandbox_state_path=str(tmp_path / "sandbox.sqlite3"),
        sandbox_max_tenants=2,
        sandbox_max_email_identities=1,
        sandbox_dns_nameservers=UNANSWERED_NAMESERVER,  # never the system's resolver
    )
    base = f"http://127.0.0.1:{settings.sandbox_port}/v2/email"
    async with AsyncExitStack() as stack:
        await open_ses(settings, stack)
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            statuses = [
                (await client.post(f"{base}/tenants", json={"TenantName": name})).status_code
                for name in ("a", "b")
            ]
            refused = await client.post(f"{base}/tenants", json={"TenantName": "c"})
            identity = await client.post(f"{base}/identities", json={"EmailIdentity": "a.example"})
            second = await client.post(f"{base}/identities", json={"EmailIdentity": "b.example"})
    assert statuses == [200, 200]
    assert identity.status_code == 200
    for answer, message in (
        (refused, "The account already has 2 tenants."),
        (second, "The account already has 1 email identities."),
    ):
        assert answer.status_code == 400
        assert answer.headers["x-amzn-ErrorType"] == "LimitExceededException"
        assert answer.json()["message"] == message
