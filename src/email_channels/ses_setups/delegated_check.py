"""The check of a delegated setup: its zone asked at the publisher, its delegation above it.

The managed records are asked of the servers that serve the zone (the publisher's), directly,
so that a resolver's cached answer from before a repair does not hide it. A delegation (NS)
record is verified when the servers of the zone above the domain answer a referral for the
domain that names the server.
"""

from __future__ import annotations

from collections.abc import Sequence

from email_channels.integrations.dns import Observation
from email_channels.integrations.dns.referral import ReferralDns
from email_channels.ses_setups.dns_check import check_records
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.verification import RecordResult, evaluate


class _AtServers:
    """A DnsLookup that asks the given servers directly."""

    def __init__(self, direct: ReferralDns, servers: Sequence[str]) -> None:
        self._direct = direct
        self._servers = servers

    async def query(self, name: str, rdtype: str) -> Observation:
        return await self._direct.ask(self._servers, name, rdtype)


async def check_delegated(
    expected: Sequence[ExpectedRecord],
    *,
    domain: str,
    zone_servers: Sequence[str],
    direct: ReferralDns,
    lifetime: float,
    previous: Sequence[RecordResult],
) -> list[RecordResult]:
    """Results in `expected` order: the delegation records first, then the managed ones."""
    delegation = [record for record in expected if record.purpose is Purpose.DELEGATION]
    managed = [record for record in expected if record.purpose is not Purpose.DELEGATION]
    parent = await direct.addresses(await direct.zone_above(domain))
    referral = await direct.ask(parent, domain, "NS")
    observations = {(domain, "NS"): referral}
    delegated = [
        evaluate(record, observations, domain=domain, previous=_at(previous, index))
        for index, record in enumerate(delegation)
    ]
    own = await direct.addresses(zone_servers)
    served = await check_records(
        managed,
        domain=domain,
        lookup=_AtServers(direct, own),
        lifetime=lifetime,
        previous=list(previous[len(delegation) :]) or None,
    )
    return delegated + served


def _at(previous: Sequence[RecordResult], index: int) -> RecordResult | None:
    return previous[index] if index < len(previous) else None
