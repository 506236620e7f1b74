"""What SES learns from DNS: the sandbox looks up an identity's records on GetEmailIdentity.

Kept outside the operation handlers (plain functions of the state): the async layer around
GetEmailIdentity asks this probe and overlays the statuses on the handler's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from email_channels.integrations.dns import Outcome
from email_channels.integrations.dns.resolver import DnsPythonLookup

SUCCESS, PENDING, TEMPORARY_FAILURE = "SUCCESS", "PENDING", "TEMPORARY_FAILURE"


class IdentityDnsProbe:
    """Looks up DKIM CNAMEs and the MAIL FROM MX at SANDBOX_DNS_NAMESERVERS."""

    def __init__(self, *, nameservers: Sequence[tuple[str, int]], timeout: float = 2.0) -> None:
        self._lookup = DnsPythonLookup(nameservers=nameservers, timeout=timeout, lifetime=timeout)

    async def _dkim_status(self, *, domain: str, tokens: Sequence[str], zone: str) -> str:
        observations = await asyncio.gather(
            *(self._lookup.query(f"{token}._domainkey.{domain}", "CNAME") for token in tokens)
        )
        for token, seen in zip(tokens, observations, strict=True):
            if seen.outcome is Outcome.FAILURE:
                return TEMPORARY_FAILURE
            if f"{token}.{zone}".lower() not in seen.values:
                return PENDING
        return SUCCESS if tokens else PENDING

    async def _mail_from_status(self, mail_from: str, *, region: str) -> str:
        seen = await self._lookup.query(mail_from, "MX")
        if seen.outcome is Outcome.FAILURE:
            return TEMPORARY_FAILURE
        expected = f"feedback-smtp.{region}.amazonses.com"
        exchanges = {value.split()[-1] for value in seen.values}
        return SUCCESS if exchanges == {expected} else PENDING

    async def overlay(
        self, response: dict[str, Any], *, domain: str, region: str
    ) -> dict[str, Any]:
        """GetEmailIdentity's answer (in `region`) with the statuses DNS supports now."""
        dkim = response.get("DkimAttributes") or {}
        tokens = dkim.get("Tokens") or []
        if response.get("IdentityType") != "DOMAIN" or not tokens:
            return response
        dkim_status, mail_from_status = await asyncio.gather(
            self._dkim_status(domain=domain, tokens=tokens, zone=dkim["SigningHostedZone"]),
            self._mail_from_status(response["MailFromAttributes"]["MailFromDomain"], region=region)
            if response.get("MailFromAttributes")
            else _pending(),
        )
        patched = {**response, "DkimAttributes": {**dkim, "Status": dkim_status}}
        # SES: an identity whose DKIM verified may send (VerifiedForSendingStatus follows it).
        patched["VerifiedForSendingStatus"] = dkim_status == SUCCESS
        patched["VerificationStatus"] = dkim_status
        if response.get("MailFromAttributes"):
            patched["MailFromAttributes"] = {
                **response["MailFromAttributes"],
                "MailFromDomainStatus": mail_from_status,
            }
        return patched


async def _pending() -> str:
    return PENDING
