"""A check at the source: the zone's own servers, asked directly.

The zone and its servers come from the resolver (kept within their TTLs, zones.py); then one
round asks every server every record at once, and a second round, only for records some
server lacks, asks where the customer most likely put them instead. Records that no server
answered are asked of the resolver in that same second round. With `DNS_CHECK=resolver` it is
section 4's check (dns_check.py) and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from email_channels.integrations.dns import DnsLookup, Observation, Outcome, Query
from email_channels.integrations.dns.authoritative import ZoneServers
from email_channels.integrations.dns.zones import Zone, ZoneDirectory, ZoneNotFound
from email_channels.observability.metrics import DNS_CHECKS_IN_FLIGHT
from email_channels.ses_setups.dns_check import (
    check_records,
    observe,
    spf_answers,
    spf_needs_more,
)
from email_channels.ses_setups.domains import organisational_domain
from email_channels.ses_setups.mistakes import Place, extra_queries, judge
from email_channels.ses_setups.providers import provider_of
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.source_verdict import (
    combine,
    from_resolver,
    serial_of,
    why_servers_failed,
)
from email_channels.ses_setups.verification import RecordResult, RecordStatus, primary_query

Observed = dict[Query, Observation]


@dataclass(frozen=True, slots=True)
class CheckedRecords:
    """A check's results in the expected order, and the zone it found (None: not found)."""

    results: list[RecordResult]
    zone: dict[str, Any] | None


def zone_json(zone: Zone) -> dict[str, Any]:
    """The `dns_zone` of the Detail."""
    return {
        "name": zone.name,
        "nameservers": sorted(zone.nameservers),
        "provider": provider_of(zone.nameservers),
        "negative_ttl": zone.negative_ttl,
    }


class SourceCheck:
    """Checks a setup's records; built once per process (DNS_CHECK picks `zones` or None)."""

    def __init__(
        self,
        *,
        lookup: DnsLookup,
        lifetime: float,
        timeout: float | None = None,
        zones: ZoneDirectory | None = None,
        servers: ZoneServers | None = None,
    ) -> None:
        self.lookup = lookup
        self._lifetime = lifetime
        # The zone's servers get the lifetime but a reserve, so that when they are all silent
        # the resolver still has time to answer: half a query's timeout, at most a quarter of
        # the lifetime (2.0 and 4.0: servers 3 s, a second attempt included, resolver 1 s).
        self._reserve = min((timeout or lifetime) / 2, lifetime / 4)
        self._zones = zones
        self._servers = servers

    async def check(
        self,
        expected: Sequence[ExpectedRecord],
        *,
        domain: str,
        previous: Sequence[RecordResult] | None = None,
    ) -> CheckedRecords:
        """Every record checked once, under DNS_LIFETIME."""
        if self._zones is None or self._servers is None:
            results = await check_records(
                expected,
                domain=domain,
                lookup=self.lookup,
                lifetime=self._lifetime,
                previous=previous,
            )
            return CheckedRecords(results, None)
        with DNS_CHECKS_IN_FLIGHT.track_inprogress():
            return await self._at_source(
                expected, domain=domain, previous=previous, zones=self._zones, servers=self._servers
            )

    async def _at_source(
        self,
        expected: Sequence[ExpectedRecord],
        *,
        domain: str,
        previous: Sequence[RecordResult] | None,
        zones: ZoneDirectory,
        servers: ZoneServers,
    ) -> CheckedRecords:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lifetime
        zone = await zones.zone_of(domain, deadline=deadline)
        if isinstance(zone, ZoneNotFound):
            why = f"the zone's servers did not answer (no zone found: {zone.detail})"
            results = await self._resolver(expected, domain, previous, deadline)
            return CheckedRecords([from_resolver(r, why=why) for r in results], None)
        place = Place(
            domain=domain,
            zone=zone.name,
            provider=provider_of(zone.nameservers),
            organisational=organisational_domain(domain),
        )
        names = list(zone.nameservers)
        primaries = list(dict.fromkeys(primary_query(record) for record in expected))
        # The zone's serial on each server, in the same round: it tells a lagging server apart
        # when there are several (one server can disagree with nobody).
        soa = (zone.name, "SOA")
        asked = [*primaries, soa] if len(names) > 1 else primaries
        first = await servers.ask(
            {name: asked for name in names},
            addresses=zone.addresses,
            deadline=deadline - self._reserve,
        )
        unanswered = [
            index
            for index, record in enumerate(expected)
            if all(first[name][primary_query(record)].outcome is Outcome.FAILURE for name in names)
        ]
        extra = {name: self._extra(expected, first[name], place) for name in names}
        outside = sorted(
            {q for queries in extra.values() for q in queries if not _within(q[0], zone.name)}
        )
        inside = {
            name: [q for q in queries if _within(q[0], zone.name)]
            for name, queries in extra.items()
        }
        spf_work = self._spf_work(expected, first, deadline)
        if not unanswered and not outside and not spf_work and not any(inside.values()):
            # Every record answered where it belongs: the common case, one round and no task.
            second: dict[str, Observed] = {name: {} for name in names}
            fallback: list[RecordResult] = []
            beyond: Observed = {}
            spf: Observed = {}
        else:
            second, fallback, beyond, spf = await asyncio.gather(
                self._ask_more(servers, inside, zone, deadline),
                self._resolver(
                    [expected[i] for i in unanswered],
                    zone.name,
                    None
                    if previous is None
                    else [previous[i] for i in unanswered if i < len(previous)],
                    deadline,
                ),
                self._resolver_observations(outside, deadline),
                self._spf_answers(spf_work),
            )
        serials = {name: s for name in names if (s := serial_of(first[name].get(soa))) is not None}
        fallbacks = dict(zip(unanswered, fallback, strict=True))
        results = []
        for index, record in enumerate(expected):
            per_server = [
                # A server's own answers win over what another server's SPF record needed.
                (name, judge(record, spf | beyond | first[name] | second[name], place))
                for name in names
            ]
            key = primary_query(record)
            why = (
                why_servers_failed(zone.name, [(name, first[name].get(key)) for name in names])
                if index in fallbacks
                else ""
            )
            result = combine(
                per_server,
                zone=zone.name,
                serials=serials,
                fallback=fallbacks.get(index),
                why_fallback=why,
            )
            results.append(_kept_verdict(result, previous, index))
        return CheckedRecords(results, zone_json(zone))

    @staticmethod
    def _extra(expected: Sequence[ExpectedRecord], observed: Observed, place: Place) -> list[Query]:
        wanted: list[Query] = []
        for record in expected:
            primary = observed[primary_query(record)]
            wanted += [q for q in extra_queries(record, primary, place) if q not in observed]
        return list(dict.fromkeys(wanted))

    @staticmethod
    async def _ask_more(
        servers: ZoneServers, queries: dict[str, list[Query]], zone: Zone, deadline: float
    ) -> dict[str, Observed]:
        if not any(queries.values()):  # every record found: the common case, one round
            return {name: {} for name in queries}
        return await servers.ask(queries, addresses=zone.addresses, deadline=deadline)

    async def _resolver(
        self,
        expected: Sequence[ExpectedRecord],
        domain: str,
        previous: Sequence[RecordResult] | None,
        deadline: float,
    ) -> list[RecordResult]:
        if not expected:
            return []
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.001)
        return await check_records(
            expected, domain=domain, lookup=self.lookup, lifetime=remaining, previous=previous
        )

    def _spf_work(
        self, expected: Sequence[ExpectedRecord], first: dict[str, Observed], deadline: float
    ) -> list[Awaitable[Observed]]:
        """What the SPF records the servers hold need (includes, redirect, mechanisms), asked of
        the resolver: those names live in other zones. Once per distinct record, not per server.
        """
        wanted: list[Awaitable[Observed]] = []
        for record in expected:
            if record.purpose is not Purpose.SPF:
                continue
            seen: set[tuple[str, ...]] = set()
            for observed in first.values():
                if not spf_needs_more(record, observed):
                    continue
                values = observed[primary_query(record)].values
                if values not in seen:
                    seen.add(values)
                    wanted.append(spf_answers(record, observed, self.lookup, deadline))
        return wanted

    @staticmethod
    async def _spf_answers(wanted: list[Awaitable[Observed]]) -> Observed:
        answers: Observed = {}
        for found in await asyncio.gather(*wanted):
            answers |= found
        return answers

    async def _resolver_observations(self, queries: list[Query], deadline: float) -> Observed:
        if not queries:
            return {}
        return await observe(queries, self.lookup, deadline)


def _kept_verdict(
    result: RecordResult, previous: Sequence[RecordResult] | None, index: int
) -> RecordResult:
    """Section 4's rule per record: an `unknown` keeps the `verified` it had before."""
    if result.status is not RecordStatus.UNKNOWN or previous is None or index >= len(previous):
        return result
    return result.with_reason(result.reason, verified=previous[index].verified)


def _within(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)
