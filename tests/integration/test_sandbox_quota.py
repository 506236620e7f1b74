"""The sandbox account's quotas: SES's default of 10,000, raised by a setting as AWS raises it.

`EMAIL_CHANNELS_SANDBOX_MAX_TENANTS` and `EMAIL_CHANNELS_SANDBOX_MAX_EMAIL_IDENTITIES`, read by
`email-channels sandbox serve` and by the sandbox that `serve` embeds.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from email_channels.app import open_ses
from email_channels.config import Settings
from email_channels.sandbox.state import EmailIdentity, Tenant, record_to_json
from email_channels.sandbox.store import Row, StateStore
from tests.support.processes import (
    UNANSWERED_NAMESERVER,
    free_port,
    stop,
)
from tests.support.sandbox_process import refusal, sandbox_state_when_up, serve_sandbox, ses_client

ACCOUNT = "000000000000"
DEFAULT_QUOTA = 10_000


def _seed(path: Path, count: int) -> None:
    """`count` tenants and `count` domain identities, written straight into the state file."""
    rows: list[Row] = []
    for index in range(count):
        name, domain = f"seed-{index}", f"seed{index}.example"
        tenant = Tenant(
            name=name,
            tenant_id=f"t{index:012d}",
            arn=f"arn:aws:ses:us-east-1:{ACCOUNT}:tenant/{name}/t{index:012d}",
            created_at=0.0,
        )
        identity = EmailIdentity(
            name=domain,
            arn=f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/{domain}",
            identity_type="DOMAIN",
            created_at=0.0,
            dkim_tokens=(f"{index:032x}", f"{index + 1:032x}", f"{index + 2:032x}"),
            signing_hosted_zone="dkim.amazonses.com",
            next_signing_key_length="RSA_2048_BIT",
        )
        rows.append(("tenants", name, json.dumps(record_to_json("tenants", tenant)), False))
        rows.append(
            ("identities", domain, json.dumps(record_to_json("identities", identity)), False)
        )
    store = StateStore(str(path))
    try:
        store.write(rows)
    finally:
        store.close()


def test_sandbox_serve_refuses_past_the_default_quota_and_accepts_under_a_raised_one(
    tmp_path: Path,
) -> None:
    state_path = tmp_path / "sandbox.sqlite3"
    _seed(state_path, DEFAULT_QUOTA)

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
