"""Which zone a domain lives in, and its servers: found through the resolver, then kept.

Three rounds at most for a zone not seen before: the SOA of the domain (its owner, in the answer
or in the authority section of a no-data or NXDOMAIN answer, is the zone), the zone's NS
records, the A and AAAA records of the servers that came without glue. What was found is kept
for the smallest TTL among its records and never more than an hour, in a bounded LRU, so that a
check in steady state asks nothing here at all.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from email_channels.integrations.dns import Query
from email_channels.integrations.dns.direct import NoReply, Questions, Reply, exchange_all, soa_of

Server = tuple[str, int]
MAX_KEPT_SECONDS = 3600.0
ZONES_KEPT = 4096
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone and its servers, as the resolver describes them."""

    name: str
    nameservers: tuple[str, ...]  # sorted host names
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # server -> IPs
    negative_ttl: int | None = None  # RFC 2308: min(SOA TTL, SOA MINIMUM)


@dataclass(frozen=True, slots=True)
class ZoneNotFound:
    """The resolver gave no zone for the domain; `detail` says what it answered."""

    detail: str


class ZoneDirectory:
    """Finds and keeps the zone of a domain."""

    def __init__(
        self,
        *,
        resolver_servers: Callable[[], Awaitable[list[Server]]],
        timeout: float,
        kept: int = ZONES_KEPT,
    ) -> None:
        self._resolver_servers = resolver_servers
        self._timeout = timeout
        self._kept = kept
        self._questions = Questions(recursion=True)
        # domain -> (zone name, expiry); zone name -> (Zone, expiry): monotonic clock.
        self._zone_names: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._zones: OrderedDict[str, tuple[Zone, float]] = OrderedDict()

    async def zone_of(self, domain: str, *, deadline: float) -> Zone | ZoneNotFound:
        """The zone of `domain` with its servers, or why none was found, by `deadline`."""
        domain = domain.rstrip(".").lower()
        named = self._kept_value(self._zone_names, domain)
        if named is not None:
            zone = self._kept_value(self._zones, named)
            if zone is not None:
                return zone
        try:
            servers = await self._resolver_servers()
        except Exception as error:
            return ZoneNotFound(f"the resolver's address is not usable: {error}")
        if not servers:
            return ZoneNotFound("no resolver to ask")
        found = await self._find_soa(domain, servers=servers, deadline=deadline)
        if isinstance(found, ZoneNotFound):
            return found
        name, soa = found
        known = self._kept_value(self._zones, name)
        if known is not None:  # a new name in a zone already known: one round, not three
            # A name below the apex is in the zone as long as a negative answer may be kept.
            below = soa[0] if soa is not None else (known.negative_ttl or 0)
            self._keep(self._zone_names, domain, name, float(below))
            return known
        servers_of = await self._servers_of(name, soa=soa, servers=servers, deadline=deadline)
        if isinstance(servers_of, ZoneNotFound):
            return servers_of
        zone_value, ttl = servers_of
        self._keep(self._zone_names, domain, name, ttl)
        self._keep(self._zones, name, zone_value, ttl)
        return zone_value

    async def _find_soa(
        self, domain: str, *, servers: list[Server], deadline: float
    ) -> tuple[str, tuple[int, int] | None] | ZoneNotFound:
        """The zone's name, with (TTL, MINIMUM) of its SOA when the answer section had it.

        The SOA of a negative answer is not enough: for an SOA question BIND sends it with a
        TTL of 0 (RFC 2308 section 5), so the zone's own SOA is asked with its NS records.
        """
        name = domain
        while True:
            (reply,) = await self._ask([(name, "SOA")], servers=servers, deadline=deadline)
            if isinstance(reply, NoReply):
                return ZoneNotFound(f"the SOA lookup of {name} failed ({reply.detail})")
            if reply.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return ZoneNotFound(
                    f"the SOA lookup of {name} failed ({dns.rcode.to_text(reply.rcode())})"
                )
            soa = soa_of(reply, within=name)
            if soa is not None:
                owner, ttl, minimum, _ = soa
                return owner, ((ttl, minimum) if owner == name else None)
            if "." not in name:
                return ZoneNotFound(f"the resolver named no zone (SOA) for {domain}")
            name = name.split(".", 1)[1]  # walk up a label

    async def _servers_of(
        self,
        name: str,
        *,
        soa: tuple[int, int] | None,
        servers: list[Server],
        deadline: float,
    ) -> tuple[Zone, float] | ZoneNotFound:
        queries: list[Query] = [(name, "NS")] if soa else [(name, "NS"), (name, "SOA")]
        reply, *own_soa = await self._ask(queries, servers=servers, deadline=deadline)
        if own_soa:
            apex = soa_of(own_soa[0], within=name)
            soa = (apex[1], apex[2]) if apex is not None and apex[0] == name else None
        if soa is None:
            return ZoneNotFound(f"the resolver gave no SOA record for the zone {name}")
        if isinstance(reply, NoReply):
            return ZoneNotFound(f"the NS lookup of {name} failed ({reply.detail})")
        records = _rrset(reply, name, dns.rdatatype.NS)
        if records is None:
            return ZoneNotFound(f"the resolver gave no NS records for the zone {name}")
        ttls = [float(records.ttl), float(soa[0])]
        hosts = sorted({_host(r.target) for r in records})
        addresses: dict[str, list[str]] = {host: [] for host in hosts}
        for rrset in reply.additional:  # glue, when the resolver sends it
            host = _host(rrset.name)
            if host in addresses and rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses[host] += [str(r.address) for r in rrset]
                ttls.append(float(rrset.ttl))
        wanted: list[Query] = [
            (host, rdtype) for host in hosts if not addresses[host] for rdtype in ("A", "AAAA")
        ]
        if wanted:
            replies = await self._ask(wanted, servers=servers, deadline=deadline)
            for (host, rdtype), answer in zip(wanted, replies, strict=True):
                known = None if isinstance(answer, NoReply) else _rrset(answer, host, rdtype)
                if known is not None:
                    addresses[host] += [str(r.address) for r in known]
                    ttls.append(float(known.ttl))
        zone = Zone(
            name=name,
            nameservers=tuple(hosts),
            addresses={host: tuple(sorted(set(found))) for host, found in addresses.items()},
            negative_ttl=min(soa),
        )
        return zone, min(ttls)

    async def _ask(
        self, queries: list[Query], *, servers: list[Server], deadline: float
    ) -> list[Reply]:
        return await exchange_all(
            queries,
            servers=servers,
            questions=self._questions,
            attempt_seconds=self._timeout,
            deadline=deadline,
        )

    def _kept_value(self, kept: OrderedDict[str, tuple[T, float]], key: str) -> T | None:
        entry = kept.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del kept[key]
            return None
        kept.move_to_end(key)
        return entry[0]

    def _keep(
        self, kept: OrderedDict[str, tuple[T, float]], key: str, value: T, ttl: float
    ) -> None:
        seconds = min(max(ttl, 0.0), MAX_KEPT_SECONDS)
        if seconds <= 0:
            return
        kept[key] = (value, time.monotonic() + seconds)
        kept.move_to_end(key)
        while len(kept) > self._kept:
            kept.popitem(last=False)


def _rrset(reply: dns.message.Message, name: str, rdtype: object) -> dns.rrset.RRset | None:
    if reply.rcode() != dns.rcode.NOERROR:
        return None
    kind = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    owner = dns.name.from_text(name)
    for rrset in reply.answer:
        if rrset.name == owner and rrset.rdtype == kind:
            return rrset
    return None


def _host(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
