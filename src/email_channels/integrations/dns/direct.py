"""Questions sent to given servers, their whole answers kept: the zone's own servers, raw.

The resolver adapter (resolver.py) reduces an answer to an `Observation`; finding a zone and
asking its servers need more of the message (the authority section, the AA flag, a referral),
so here the reply itself comes back. The common case rides the process's shared UDP socket
(udp.py), as every other lookup does; what it leaves undecided (SERVFAIL, REFUSED, a truncated
answer, an ICMP error, an IPv6 server) is asked once more through dnspython, which also says
what went wrong.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from email_channels.integrations.dns import Query, udp
from email_channels.observability.metrics import count_dns_lookup

Server = tuple[str, int]
QUESTIONS_KEPT = 4096  # rendered questions kept per process (per recursion flag)


@dataclass(frozen=True, slots=True)
class NoReply:
    """No usable answer from the servers: `detail` says why ("timed out", "REFUSED")."""

    detail: str


Reply = dns.message.Message | NoReply


class Questions:
    """Rendered questions, kept in a bounded LRU: a check asks the same names every time."""

    def __init__(self, *, recursion: bool, kept: int = QUESTIONS_KEPT) -> None:
        self._recursion = recursion
        self._kept = kept
        self._questions: OrderedDict[Query, udp.Question] = OrderedDict()

    def get(self, query: Query) -> udp.Question:
        """The rendered question for (name, rdtype)."""
        question = self._questions.get(query)
        if question is not None:
            self._questions.move_to_end(query)
            return question
        # No EDNS, as the resolver adapter asks by default: a plain answer is cheaper to parse,
        # and one too big for 512 bytes comes truncated and is asked again over TCP below.
        request = dns.message.make_query(dns.name.from_text(query[0]), query[1])
        if not self._recursion:
            request.flags &= ~dns.flags.RD
        question = udp.Question(request)
        self._questions[query] = question
        if len(self._questions) > self._kept:
            self._questions.popitem(last=False)
        return question

    def message(self, query: Query) -> dns.message.Message:
        """A fresh query message for dnspython's own transport."""
        return dns.message.from_wire(self.get(query).wire)


async def exchange_all(
    queries: Sequence[Query],
    *,
    servers: Sequence[Server],
    questions: Questions,
    attempt_seconds: float,
    deadline: float,
) -> list[Reply]:
    """Ask `servers` (in turn, per round) every query at once; a Reply each, by `deadline`."""
    if not servers:
        return [NoReply("no address")] * len(queries)
    try:
        rendered = [questions.get(query) for query in queries]
    except Exception:  # not a name that can be asked at all
        return [NoReply("not a valid DNS name")] * len(queries)
    loop = asyncio.get_running_loop()
    outcomes = await udp.query_all(
        rendered, servers=list(servers), attempt_seconds=attempt_seconds, deadline=deadline
    )
    replies: list[Reply | None] = []
    for outcome in outcomes:
        if isinstance(outcome, udp.TimedOut):
            replies.append(NoReply("timed out"))
        else:
            replies.append(outcome)
    undecided = [index for index, reply in enumerate(replies) if reply is None]
    if undecided:
        again = await asyncio.gather(
            *(
                _dnspython(questions.message(queries[i]), servers[0], deadline - loop.time())
                for i in undecided
            )
        )
        for index, reply in zip(undecided, again, strict=True):
            replies[index] = reply
    final = [reply if reply is not None else NoReply("no answer") for reply in replies]
    for (_, rdtype), reply in zip(queries, final, strict=True):
        count_dns_lookup(rdtype=rdtype.upper(), outcome=_outcome(reply))
    return final


async def _dnspython(request: dns.message.Message, server: Server, seconds: float) -> Reply:
    if seconds <= 0:
        return NoReply("timed out")
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(
            request, server[0], timeout=seconds, port=server[1]
        )
    except dns.exception.Timeout:
        return NoReply("timed out")
    except ConnectionRefusedError:
        return NoReply("connection refused")
    except Exception as error:
        return NoReply(f"{type(error).__name__}: {error}".strip().rstrip(":"))
    return response


def _outcome(reply: Reply) -> str:
    if isinstance(reply, NoReply):
        return "failure"
    rcode = reply.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return "nxdomain"
    return "answer" if rcode == dns.rcode.NOERROR else "failure"


def soa_of(reply: Reply, *, within: str) -> tuple[str, int, int, int] | None:
    """(owner, TTL, MINIMUM, serial) of the SOA that `reply` names for `within` or an ancestor.

    The answer section's SOA (the name is a zone apex), else the authority section's (a
    no-data or NXDOMAIN answer names its zone there). An SOA elsewhere (at the end of a CNAME
    chain, say) says nothing about `within`'s zone: None.
    """
    if isinstance(reply, NoReply) or reply.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None
    target = dns.name.from_text(within)
    for section in (reply.answer, reply.authority):
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.SOA or not target.is_subdomain(rrset.name):
                continue
            soa = rrset[0]
            owner = rrset.name.to_text(omit_final_dot=True).lower() or "."
            return owner, int(rrset.ttl), int(soa.minimum), int(soa.serial)
    return None
