"""Questions asked of named servers directly (recursion not desired): a zone's own view.

Two checks of a delegated setup need it: its managed records, asked of the publisher's own
servers (a resolver could still hold an answer from before a repair), and its delegation, the
referral that the servers of the zone above the domain give for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from email_channels.integrations.dns import DnsLookup, Observation, Outcome
from email_channels.integrations.dns.resolver import presentation_values


class ReferralDns:
    """Asks servers at `port` directly; the servers' names are resolved with `lookup`."""

    def __init__(self, *, lookup: DnsLookup, port: int, timeout: float, lifetime: float) -> None:
        self._lookup = lookup
        self._port = port
        self._timeout = timeout
        self.lifetime = lifetime  # for the whole check of one setup

    async def addresses(self, names: Sequence[str]) -> list[str]:
        """The IPv4 addresses of the named servers, as the resolver answers them."""
        seen = await asyncio.gather(*(self._lookup.query(name, "A") for name in names))
        found: list[str] = []
        for observation in seen:
            if observation.outcome is Outcome.ANSWER:
                found += [value for value in observation.values if value not in found]
        return found

    async def ask(self, servers: Sequence[str], name: str, rdtype: str) -> Observation:
        """What the servers say of `name`: an answer, or for NS a referral, counts."""
        qname = name.rstrip(".").lower()
        if not servers:
            return Observation(qname, rdtype, Outcome.FAILURE, detail="no server address")
        seen = await asyncio.gather(*(self._ask_one(server, qname, rdtype) for server in servers))
        for outcome in (Outcome.ANSWER, Outcome.NXDOMAIN, Outcome.NO_DATA):
            for observation in seen:
                if observation.outcome is outcome:
                    return observation
        return seen[0]

    async def zone_above(self, name: str) -> list[str]:
        """The name servers of the zone above `name`: the nearest ancestor with NS records."""
        labels = name.rstrip(".").lower().split(".")
        for start in range(1, len(labels) - 1):
            ancestor = ".".join(labels[start:])
            observation = await self._lookup.query(ancestor, "NS")
            if observation.outcome is Outcome.ANSWER:
                return list(observation.values)
            if observation.outcome is Outcome.FAILURE:
                return []
        return []

    async def _ask_one(self, server: str, qname: str, rdtype: str) -> Observation:
        query = dns.message.make_query(dns.name.from_text(qname), rdtype)
        query.flags &= ~dns.flags.RD
        try:
            response = await dns.asyncquery.udp(
                query, server, port=self._port, timeout=self._timeout
            )
        except (dns.exception.DNSException, OSError) as error:
            detail = "timed out" if isinstance(error, dns.exception.Timeout) else str(error)
            return Observation(qname, rdtype, Outcome.FAILURE, detail=detail or "failed")
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return Observation(qname, rdtype, Outcome.NXDOMAIN)
        if rcode != dns.rcode.NOERROR:
            return Observation(qname, rdtype, Outcome.FAILURE, detail=dns.rcode.to_text(rcode))
        kind = dns.rdatatype.from_text(rdtype)
        owner = dns.name.from_text(qname)
        sections = [response.answer]
        if kind == dns.rdatatype.NS:
            sections.append(response.authority)  # a referral holds the delegation there
        for section in sections:
            for rrset in section:
                if rrset.name == owner and rrset.rdtype == kind:
                    return Observation(
                        qname, rdtype, Outcome.ANSWER, presentation_values(rrset, rdtype)
                    )
        if not response.flags & dns.flags.AA and kind != dns.rdatatype.NS:
            return Observation(qname, rdtype, Outcome.FAILURE, detail="answer without authority")
        return Observation(qname, rdtype, Outcome.NO_DATA)
