"""The emulator's GetEmailIdentity follows DNS, as SES does (section 8)."""

from __future__ import annotations

from typing import Any

from tests.support.fixtures_bind import TestZone
from tests.support.sandbox import SandboxThread


def identity(sandbox: SandboxThread, zone: TestZone) -> tuple[Any, list[Any]]:
    """A domain identity with a MAIL FROM domain; (client, the seven records it needs)."""
    client = sandbox.boto3_client()
    created = client.create_email_identity(EmailIdentity=zone.domain)
    client.put_email_identity_mail_from_attributes(
        EmailIdentity=zone.domain, MailFromDomain=f"bounce.{zone.domain}"
    )
    records = zone.expected_records(
        dkim_tokens=created["DkimAttributes"]["Tokens"],
        signing_hosted_zone=created["DkimAttributes"]["SigningHostedZone"],
    )
    return client, records


def status(client: Any, domain: str) -> tuple[bool, str, str]:
    found = client.get_email_identity(EmailIdentity=domain)
    return (
        found["VerifiedForSendingStatus"],
        found["DkimAttributes"]["Status"],
        found["MailFromAttributes"]["MailFromDomainStatus"],
    )


def test_statuses_turn_success_as_the_records_appear(
    bind_sandbox_server: SandboxThread, dns_zone: TestZone
) -> None:
    bind_sandbox_server.reset()
    client, records = identity(bind_sandbox_server, dns_zone)
    assert status(client, dns_zone.domain) == (False, "PENDING", "PENDING")

    dns_zone.publish([r for r in records if r.purpose.value == "mail_from_mx"])
    assert status(client, dns_zone.domain) == (False, "PENDING", "SUCCESS")

    dkim = [r for r in records if r.purpose.value == "dkim"]
    dns_zone.publish(dkim[:2])
    assert status(client, dns_zone.domain) == (False, "PENDING", "SUCCESS")

    dns_zone.publish(dkim[2:])
    assert status(client, dns_zone.domain) == (True, "SUCCESS", "SUCCESS")

    dns_zone.replace(dkim[0].address, "CNAME", "elsewhere.example.test")
    assert status(client, dns_zone.domain) == (False, "PENDING", "SUCCESS")


def test_without_nameservers_the_emulator_looks_nothing_up(
    sandbox: SandboxThread, dns_zone: TestZone
) -> None:
    client, records = identity(sandbox, dns_zone)
    dns_zone.publish(records)
    assert status(client, dns_zone.domain) == (False, "PENDING", "PENDING")
