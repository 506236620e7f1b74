"""Asking a zone's own servers directly (recursion not desired), one Observation per answer.

A server's answer counts only when it speaks for the zone: the AA flag set, NOERROR or NXDOMAIN.
A referral (the name is delegated below the zone), an answer without authority (a lame
server), REFUSED, SERVFAIL or silence are failures for that server, which the check then treats
as `unknown` for it and never as "no such record".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from email_channels.integrations.dns import Observation, Outcome, Query
from email_channels.integrations.dns.direct import NoReply, Questions, Reply, exchange_all
from email_channels.integrations.dns.resolver import presentation_values

REFERRAL = "referral"  # the start of a failure's detail when the server delegated the name


class ZoneServers:
    """Sends questions to named servers at one port; built once per process."""

    def __init__(self, *, port: int, timeout: float) -> None:
        self._port = port
        self._timeout = timeout
        self._questions = Questions(recursion=False)

    async def ask(
        self,
        queries: Mapping[str, Sequence[Query]],
        *,
        addresses: Mapping[str, Sequence[str]],
        deadline: float,
    ) -> dict[str, dict[Query, Observation]]:
        """Every server's queries at once: {server: {query: what that server said}}."""
        names = list(queries)
        asked = await asyncio.gather(
            *(
                self._ask_one(list(queries[name]), addresses.get(name, ()), deadline=deadline)
                for name in names
            )
        )
        return dict(zip(names, asked, strict=True))

    async def _ask_one(
        self, queries: list[Query], addresses: Sequence[str], *, deadline: float
    ) -> dict[Query, Observation]:
        replies = await self._replies(queries, addresses, deadline)
        return {
            query: authoritative_observation(query, reply)
            for query, reply in zip(queries, replies, strict=True)
        }

    async def _replies(
        self, queries: list[Query], addresses: Sequence[str], deadline: float
    ) -> list[Reply]:
        if not addresses:
            return [NoReply("the server's name has no address")] * len(queries)
        # IPv4 first: the shared socket speaks IPv4; an IPv6-only server goes through dnspython.
        ordered = sorted(addresses, key=lambda address: ":" in address)
        return await exchange_all(
            queries,
            servers=[(address, self._port) for address in ordered],
            questions=self._questions,
            attempt_seconds=self._timeout,
            deadline=deadline,
        )


def authoritative_observation(query: Query, reply: Reply) -> Observation:
    """What one server's reply says about `query`, as a zone's own server must say it."""
    name, rdtype = query
    if isinstance(reply, NoReply):
        return Observation(name, rdtype, Outcome.FAILURE, detail=reply.detail)
    rcode = reply.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return Observation(name, rdtype, Outcome.FAILURE, detail=dns.rcode.to_text(rcode))
    if not reply.flags & dns.flags.AA:
        delegated = _referral(reply, name)
        if delegated:
            detail = f"{REFERRAL} to {', '.join(delegated)}"
            return Observation(name, rdtype, Outcome.FAILURE, detail=detail)
        return Observation(name, rdtype, Outcome.FAILURE, detail="answered without authority")
    if rcode == dns.rcode.NXDOMAIN:
        return Observation(name, rdtype, Outcome.NXDOMAIN)
    alias = _alias(reply, name) if rdtype.upper() != "CNAME" else None
    try:
        rrset = reply.resolve_chaining().answer  # type: ignore[attr-defined]
    except Exception:
        rrset = None
    values = presentation_values(rrset, rdtype) if rrset is not None else ()
    if not values:
        return Observation(name, rdtype, Outcome.NO_DATA, alias=alias)
    return Observation(name, rdtype, Outcome.ANSWER, values, alias=alias)


def _referral(reply: dns.message.Message, name: str) -> list[str]:
    owner = dns.name.from_text(name)
    for rrset in reply.authority:
        if rrset.rdtype == dns.rdatatype.NS and owner.is_subdomain(rrset.name):
            return sorted(r.target.to_text(omit_final_dot=True).lower() for r in rrset)
    return []


def _alias(reply: dns.message.Message, name: str) -> str | None:
    # The question's own name: the answer was checked against it (udp.py), no parse needed.
    owner = reply.question[0].name if reply.question else dns.name.from_text(name)
    for rrset in reply.answer:
        if rrset.name == owner and rrset.rdtype == dns.rdatatype.CNAME:
            return str(rrset[0].target.to_text(omit_final_dot=True).lower())
    return None
