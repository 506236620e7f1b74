"""The DNS records a setup needs, derived from what SES returned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    DKIM = "dkim"
    MAIL_FROM_MX = "mail_from_mx"
    SPF = "spf"
    INBOUND_MX = "inbound_mx"
    DMARC = "dmarc"
    DELEGATION = "delegation"  # an NS record of a delegated setup, published at the zone above


SPF_INCLUDE = "include:amazonses.com"


@dataclass(frozen=True, slots=True)
class ExpectedRecord:
    purpose: Purpose
    type: str  # CNAME | MX | TXT | NS
    address: str  # fully qualified, lower case, no trailing dot
    record: str  # the value to publish; MX as "10 host"


def expected_records(
    *,
    domain: str,
    region: str,
    mail_from_subdomain: str,
    dkim_tokens: Sequence[str],
    signing_hosted_zone: str,
) -> list[ExpectedRecord]:
    """The seven records of a setup, in the contract's order."""
    mail_from = f"{mail_from_subdomain}.{domain}"
    zone = signing_hosted_zone.rstrip(".").lower()
    records = [
        ExpectedRecord(Purpose.DKIM, "CNAME", f"{token}._domainkey.{domain}", f"{token}.{zone}")
        for token in dkim_tokens
    ]
    records += [
        ExpectedRecord(
            Purpose.MAIL_FROM_MX, "MX", mail_from, f"10 feedback-smtp.{region}.amazonses.com"
        ),
        ExpectedRecord(Purpose.SPF, "TXT", mail_from, f"v=spf1 {SPF_INCLUDE} ~all"),
        ExpectedRecord(Purpose.INBOUND_MX, "MX", domain, f"10 inbound-smtp.{region}.amazonaws.com"),
        ExpectedRecord(Purpose.DMARC, "TXT", f"_dmarc.{domain}", "v=DMARC1; p=none;"),
    ]
    return records


def delegation_records(*, domain: str, nameservers: Sequence[str]) -> list[ExpectedRecord]:
    """The NS records that delegate `domain` to the servers of its zone, one per server."""
    return [
        ExpectedRecord(Purpose.DELEGATION, "NS", domain, server.rstrip(".").lower())
        for server in nameservers
    ]
