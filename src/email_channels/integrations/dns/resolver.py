"""The DNS adapter: live lookups with dnspython's asyncresolver, mapped to `Observation`s."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Iterable, Sequence
from typing import cast

import dns.asyncresolver
import dns.exception
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.resolver

from email_channels.integrations.dns import Observation, Outcome, Query, observe_concurrently, udp
from email_channels.observability.metrics import count_dns_lookup

QUESTIONS_KEPT = 8192  # rendered queries kept per process: about 1,200 setups' checks


class DnsPythonLookup:
    """`DnsBatchLookup` over dnspython: no answer cache, never raises for DNS outcomes."""

    def __init__(
        self, *, nameservers: Sequence[tuple[str, int]], timeout: float, lifetime: float
    ) -> None:
        self._configured = list(nameservers)
        self._resolver = _new_resolver(system=not nameservers, timeout=timeout, lifetime=lifetime)
        # Host names among the nameservers are resolved on the first query, once, off the
        # event loop's critical path; IP literals need no resolution and are set right away.
        self._ready = not nameservers or all(dns.inet.is_address(h) for h, _ in nameservers)
        if nameservers and self._ready:
            self._resolver.nameservers = [_nameserver(h, p) for h, p in nameservers]
        self._ready_lock: asyncio.Lock | None = None
        # The rendered queries of recently asked names (udp.Question), asked again at each check.
        self._questions: dict[tuple[str, str], udp.Question] = {}

    async def query(self, name: str, rdtype: str) -> Observation:
        """Look up `rdtype` records at `name` and say what was seen."""
        return await self._counted(name, rdtype)

    async def query_all(self, queries: Sequence[Query], *, deadline: float) -> list[Observation]:
        """Every query at once, each answered or failed by `deadline` (the loop's clock).

        The plain outcomes come over the shared socket, all questions of the call waiting
        together (udp.query_all); the others (SERVFAIL, a truncated answer, a name dnspython
        must judge, nameservers that are not plain UDP) then go to dnspython's resolver
        concurrently, until the same deadline.
        """
        observations: list[Observation | None] = [None] * len(queries)
        try:
            await self._ensure_nameservers()
        except Exception:
            servers = []  # each query below says why
        else:
            servers = self._udp_servers()
        if servers:
            await self._shared_socket_query_all(queries, observations, servers, deadline)
        rest = [index for index, observation in enumerate(observations) if observation is None]
        if rest:
            ask = functools.partial(self._counted, shared_socket=False)
            answered = await observe_concurrently(ask, [queries[i] for i in rest], deadline)
            for index, observation in zip(rest, answered, strict=True):
                observations[index] = observation
        return cast(list[Observation], observations)  # every one filled in above

    async def _shared_socket_query_all(
        self,
        queries: Sequence[Query],
        observations: list[Observation | None],
        servers: list[tuple[str, int]],
        deadline: float,
    ) -> None:
        """Fill in `observations` with the plain outcomes; leave None where dnspython decides."""
        asked: list[tuple[int, str, str]] = []
        questions: list[udp.Question] = []
        for index, (name, rdtype) in enumerate(queries):
            qname, qtype = name.rstrip(".").lower(), rdtype.upper()
            try:
                question = self._question(qname, qtype)
            except Exception:
                continue  # not a name to send as it is: dnspython's resolver says why
            asked.append((index, qname, qtype))
            questions.append(question)
        if not questions:
            return
        loop = asyncio.get_running_loop()
        outcomes = await udp.query_all(
            questions,
            servers=servers,
            attempt_seconds=self._resolver.timeout,
            deadline=min(deadline, loop.time() + self._resolver.lifetime),
        )
        for (index, qname, qtype), outcome in zip(asked, outcomes, strict=True):
            if outcome is None:
                continue
            if isinstance(outcome, udp.TimedOut):
                observation = Observation(qname, qtype, Outcome.FAILURE, detail="timed out")
            else:
                observed = _observed(qname, qtype, outcome)
                if observed is None:
                    continue
                observation = observed
            count_dns_lookup(rdtype=qtype, outcome=observation.outcome.value)
            observations[index] = observation

    async def _counted(self, name: str, rdtype: str, *, shared_socket: bool = True) -> Observation:
        outcome = "cancelled"  # cut off by the check's deadline (or the request went away)
        try:
            observation = await self._query(name, rdtype, shared_socket=shared_socket)
            outcome = observation.outcome.value
            return observation
        finally:
            count_dns_lookup(rdtype=rdtype.upper(), outcome=outcome)

    async def _query(self, name: str, rdtype: str, *, shared_socket: bool) -> Observation:
        qname = name.rstrip(".").lower()
        rdtype = rdtype.upper()
        try:
            await self._ensure_nameservers()
            if shared_socket:
                shared = await self._shared_socket_query(qname, rdtype)
                if shared is not None:
                    return shared
            answer = await self._resolver.resolve(
                dns.name.from_text(qname), rdtype, raise_on_no_answer=False, search=False
            )
        except dns.resolver.NXDOMAIN:
            return Observation(qname, rdtype, Outcome.NXDOMAIN)
        except Exception as error:  # the port promises an Observation, never a raise
            return Observation(qname, rdtype, Outcome.FAILURE, detail=_failure_detail(error))
        if answer.rrset is None:
            return Observation(qname, rdtype, Outcome.NO_DATA)
        values = presentation_values(answer.rrset, rdtype)
        if not values:  # a CNAME chain that ends without records of the type
            return Observation(qname, rdtype, Outcome.NO_DATA)
        return Observation(qname, rdtype, Outcome.ANSWER, values)

    async def _shared_socket_query(self, qname: str, rdtype: str) -> Observation | None:
        """The plain outcomes over the process's shared UDP socket (udp.py); else None."""
        servers = self._udp_servers()
        if not servers:
            return None
        question = self._question(qname, rdtype)
        try:
            response = await udp.query(
                question,
                servers=servers,
                attempt_seconds=self._resolver.timeout,
                lifetime=self._resolver.lifetime,
            )
        except TimeoutError:
            return Observation(qname, rdtype, Outcome.FAILURE, detail="timed out")
        if response is None:
            return None
        return _observed(qname, rdtype, response)

    async def servers(self) -> list[tuple[str, int]]:
        """The resolver's plain-UDP (address, port) list; empty when it has none of them."""
        await self._ensure_nameservers()
        return self._udp_servers()

    def _question(self, qname: str, rdtype: str) -> udp.Question:
        """The query for `qname` and `rdtype`, rendered once and kept (QUESTIONS_KEPT)."""
        kept = self._questions.get((qname, rdtype))
        if kept is not None:
            return kept
        resolver = self._resolver
        request = dns.message.make_query(dns.name.from_text(qname), rdtype)
        request.use_edns(
            resolver.edns, resolver.ednsflags, resolver.payload, options=resolver.ednsoptions
        )
        if resolver.flags is not None:
            request.flags = resolver.flags
        question = udp.Question(request)
        if len(self._questions) >= QUESTIONS_KEPT:
            self._questions.clear()  # simpler than LRU, and a refill costs one render each
        self._questions[(qname, rdtype)] = question
        return question

    def _udp_servers(self) -> list[tuple[str, int]]:
        servers: list[tuple[str, int]] = []
        for nameserver in self._resolver.nameservers:
            if isinstance(nameserver, str):
                servers.append((nameserver, self._resolver.port))
            elif isinstance(nameserver, dns.nameserver.Do53Nameserver):
                servers.append((nameserver.address, nameserver.port))
            else:  # DNS over HTTPS, TLS or QUIC: dnspython's own transport
                return []
        return servers

    async def _ensure_nameservers(self) -> None:
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if self._ready:
                return
            resolved: list[dns.nameserver.Nameserver] = []
            for host, port in self._configured:
                for address in await _addresses(host, port):
                    resolved.append(_nameserver(address, port))
            # A failed resolution raises and is retried on the next query, never cached.
            self._resolver.nameservers = resolved
            self._ready = True


def _new_resolver(*, system: bool, timeout: float, lifetime: float) -> dns.asyncresolver.Resolver:
    try:
        resolver = dns.asyncresolver.Resolver(configure=system)
    except dns.resolver.NoResolverConfiguration:
        # No usable /etc/resolv.conf: every query then reports "no nameservers".
        resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.timeout = timeout
    resolver.lifetime = lifetime
    resolver.cache = None  # lookups are live: a customer who just fixed a record sees it now
    return resolver


def _nameserver(address: str, port: int) -> dns.nameserver.Nameserver:
    return dns.nameserver.Do53Nameserver(address, port)


async def _addresses(host: str, port: int) -> list[str]:
    if dns.inet.is_address(host):
        return [host]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _observed(qname: str, rdtype: str, response: dns.message.Message) -> Observation | None:
    """What an accepted answer (udp.py) says; None for a CNAME chain dnspython must judge."""
    if response.rcode() == dns.rcode.NXDOMAIN:
        return Observation(qname, rdtype, Outcome.NXDOMAIN)
    try:
        rrset = response.resolve_chaining().answer  # type: ignore[attr-defined]
    except Exception:  # an inconsistent chain: dnspython's resolver says what it is
        return None
    values = presentation_values(rrset, rdtype) if rrset is not None else ()
    if not values:
        return Observation(qname, rdtype, Outcome.NO_DATA)
    return Observation(qname, rdtype, Outcome.ANSWER, values)


def presentation_values(rrset: Iterable[dns.rdata.Rdata], rdtype: str) -> tuple[str, ...]:
    """The values of an RRset as the port describes them, in a stable order."""
    kind = dns.rdatatype.from_text(rdtype)
    # A resolved CNAME chain ends in records of the asked type; skip anything else.
    rdatas = [r for r in rrset if r.rdtype == kind]
    if kind == dns.rdatatype.MX:
        pairs = sorted((int(r.preference), _host(r.exchange)) for r in rdatas)  # type: ignore[attr-defined]
        return tuple(f"{preference} {exchange}" for preference, exchange in pairs)
    if kind in (dns.rdatatype.CNAME, dns.rdatatype.NS):
        return tuple(sorted(_host(r.target) for r in rdatas))  # type: ignore[attr-defined]
    if kind == dns.rdatatype.TXT:
        return tuple(
            sorted(b"".join(r.strings).decode("utf-8", errors="replace") for r in rdatas)  # type: ignore[attr-defined]
        )
    if kind in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return tuple(sorted(str(r.address) for r in rdatas))  # type: ignore[attr-defined]
    return tuple(sorted(r.to_text() for r in rdatas))


def _host(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _failure_detail(error: Exception) -> str:
    if isinstance(error, dns.exception.Timeout):
        return "timed out"
    if isinstance(error, dns.resolver.NoNameservers):
        answers = [str(e[3]) for e in error.kwargs.get("errors", []) if isinstance(e[3], str)]
        if answers:  # the rcodes the servers answered with, e.g. SERVFAIL or REFUSED
            return ", ".join(dict.fromkeys(answers))
        problems = [_problem(e[3]) for e in error.kwargs.get("errors", [])]
        return ", ".join(dict.fromkeys(problems)) if problems else "no nameservers"
    if isinstance(error, dns.resolver.YXDOMAIN):
        return "name too long after DNAME substitution"
    if isinstance(error, dns.name.NameTooLong | dns.name.LabelTooLong | dns.name.EmptyLabel):
        return "not a valid DNS name"
    if isinstance(error, OSError):
        return f"name server address not usable: {error.strerror or error}"
    return _problem(error)


def _problem(error: object) -> str:
    if isinstance(error, dns.exception.Timeout):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
