"""One UDP socket for every lookup of a process: the common case without per-query set-up.

dnspython's resolver opens, registers and closes a socket for every attempt and keeps a 64 KB
receive pending on each: with a check's seven lookups, or 200 checks waiting on a silent
server (S4), that was most of their CPU and about 25 KB of resident memory per lookup in
flight (bench/README.md). Here the queries of an event loop share one socket; an answer is
matched to its query by id and by the server it came from, then checked against the question
(`Message.is_response`). The socket, and so the source port, is replaced every ROTATE_AFTER
queries, so that an off-path spoofer must still guess a port as well as a query id.

Only the plain outcomes are decided here: an answer (following a CNAME chain inside it),
NODATA, NXDOMAIN, and "timed out" once the lifetime is spent. Anything else (a truncated
answer that needs TCP, SERVFAIL or REFUSED, an ICMP error, a server that is not plain
UDP/IPv4) returns None and the caller asks dnspython's resolver, which handles it as before.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype

Server = tuple[str, int]
_RANDOM = secrets.SystemRandom()
ROTATE_AFTER = 64  # queries per socket (per source port), as a check sends seven
ACCEPTED_KEPT = 128  # parsed answers kept per process (about 2.5 KB each)


class SharedSocket(asyncio.DatagramProtocol):
    """The socket of one event loop and the queries waiting on it."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[tuple[int, Server], asyncio.Future[bytes]] = {}
        self.sent = 0
        self.retired = False  # replaced by a fresh socket: closes once its queries are done

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 2:
            return
        waiter = self.pending.get((int.from_bytes(data[:2], "big"), (addr[0], addr[1])))
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error on a shared socket names no query: let every waiter ask dnspython.
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.error_received(exc or ConnectionResetError("DNS socket closed"))

    def register(self, key: tuple[int, Server]) -> asyncio.Future[bytes]:
        """A waiter for the answer to the query sent with id `key[0]` to server `key[1]`."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("DNS socket closed")  # the caller asks dnspython
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending[key] = waiter
        return waiter

    def send(self, wire: bytes, server: Server) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("DNS socket closed")
        self.sent += 1
        self.transport.sendto(wire, server)

    def release(self, key: tuple[int, Server], waiter: asyncio.Future[bytes]) -> None:
        """Forget `waiter`; a retired socket closes once nothing waits on it."""
        if self.pending.get(key) is waiter:
            del self.pending[key]
        if self.retired and not self.pending and self.transport is not None:
            self.transport.close()

    async def exchange(
        self, wire: bytes, *, query_id: int, server: Server, seconds: float
    ) -> bytes:
        """Send `wire` to `server`; its answer, or TimeoutError after `seconds`."""
        key = (query_id, server)
        waiter = self.register(key)
        try:
            self.send(wire, server)
            return await asyncio.wait_for(waiter, seconds)
        finally:
            self.release(key, waiter)


_SOCKETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedSocket] = (
    weakref.WeakKeyDictionary()
)
# One replacement at a time per loop. Without it, every query that arrived while a new socket
# was being opened opened its own, and all but the last one stored were never retired, so
# never closed: S4's 200 slow reads left about 1,200 sockets (file descriptors) open for good.
_OPENING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _current(loop: asyncio.AbstractEventLoop) -> SharedSocket | None:
    """The loop's socket if it may take another query; a used-up one is retired here."""
    shared = _SOCKETS.get(loop)
    if shared is None:
        return None
    if shared.sent >= ROTATE_AFTER:
        # A fresh source port now and then: a spoofed answer must guess it as well as the id.
        shared.retired = True
        del _SOCKETS[loop]
        if not shared.pending and shared.transport is not None:
            shared.transport.close()
        return None
    if shared.transport is None or shared.transport.is_closing():
        return None
    return shared


def _bound_socket() -> socket.socket:
    """A UDP socket on an ephemeral port of every IPv4 address, bound here and now.

    As `local_addr=("0.0.0.0", 0)` would, without the name lookup that uvloop sends to its
    thread pool for it: under S4's load every query waited on that round trip at each
    replacement, and the pool's threads came with their own stacks and malloc arenas.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("0.0.0.0", 0))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def _socket() -> SharedSocket:
    loop = asyncio.get_running_loop()
    shared = _current(loop)
    if shared is not None:
        return shared
    opening = _OPENING.get(loop)
    if opening is None:
        opening = _OPENING[loop] = asyncio.Lock()
    async with opening:
        shared = _current(loop)  # opened by another query while this one waited
        if shared is None:
            _, shared = await loop.create_datagram_endpoint(SharedSocket, sock=_bound_socket())
            _SOCKETS[loop] = shared
        return shared


def _is_ipv4(address: str) -> bool:
    parts = address.split(".")
    return len(parts) == 4 and all(part.isdigit() and int(part) < 256 for part in parts)


class Question:
    """One question rendered once: the query's wire form, reused with a fresh id per lookup.

    Rendering a query with dnspython (`make_query`, `to_wire`) costs more CPU than sending
    it; a setup's names are asked again at every check, so the rendering is kept (resolver.py
    keeps a bounded cache of these). Only the bytes and what an answer is checked against are
    kept: a kept `Message` is about five times the size, and even the parsed name (a Name,
    its labels) doubled what each question kept (bench/README.md, S5).
    """

    __slots__ = ("opcode", "qname", "rdclass", "rdtype", "wire")

    def __init__(self, message: dns.message.Message) -> None:
        question = message.question[0]
        self.qname = question.name.to_text()
        self.rdtype = question.rdtype
        self.rdclass = question.rdclass
        self.opcode = dns.opcode.from_flags(message.flags)
        self.wire = message.to_wire()

    def same_as(self, other: Question) -> bool:
        """Whether `other` asks the same question (an answer to one answers the other)."""
        return other is self or (
            (self.qname, self.rdtype, self.rdclass, self.opcode)
            == (other.qname, other.rdtype, other.rdclass, other.opcode)
        )

    def with_id(self, query_id: int) -> bytes:
        return query_id.to_bytes(2, "big") + self.wire[2:]

    def is_answered_by(
        self, response: dns.message.Message, query_id: int, wire: bytes | None = None
    ) -> bool:
        """`Message.is_response` for the query sent with `query_id` (`wire`: the answer's)."""
        if response.id != query_id or not response.flags & dns.flags.QR:
            return False
        if dns.opcode.from_flags(response.flags) != self.opcode or len(response.question) != 1:
            return False
        # A query without other records ends with its question: an answer that echoes it
        # byte for byte names the same name, type and class, with no Name parsed to see it
        # (a parse per answer, 4% of a worker's re-checks in S7). Else the long way.
        if wire is not None and self.wire[10:12] == b"\0\0":
            question = memoryview(self.wire)[12:]
            if memoryview(wire)[12 : 12 + len(question)] == question:
                return True
        echoed = response.question[0]
        return (echoed.name, echoed.rdtype, echoed.rdclass) == (
            dns.name.from_text(self.qname),
            self.rdtype,
            self.rdclass,
        )


async def query(
    question: Question, *, servers: list[Server], attempt_seconds: float, lifetime: float
) -> dns.message.Message | None:
    """The answer to `question` from `servers` in turn; None where dnspython must decide.

    A returned message has rcode NOERROR or NXDOMAIN and is not truncated. Raises
    TimeoutError when no server answered within `lifetime`.
    """
    if not servers or not all(_is_ipv4(address) for address, _ in servers):
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    attempt = 0
    query_id = secrets.randbelow(65536)  # one id per lookup: a late answer still counts
    while (remaining := deadline - loop.time()) > 0:
        server = servers[attempt % len(servers)]
        attempt += 1
        shared = await _socket()  # per attempt: the last one's socket may have been replaced
        while (query_id, server) in shared.pending:
            query_id = secrets.randbelow(65536)
        try:
            wire = await shared.exchange(
                question.with_id(query_id),
                query_id=query_id,
                server=server,
                seconds=min(attempt_seconds, remaining),
            )
        except TimeoutError:
            continue
        except OSError:
            return None
        return _accepted(question, wire, query_id)
    raise TimeoutError


class TimedOut:
    """No server answered a question of `query_all` before its deadline."""


TIMED_OUT = TimedOut()
Reply = dns.message.Message | TimedOut | None


async def query_all(
    questions: Sequence[Question],
    *,
    servers: list[Server],
    attempt_seconds: float,
    deadline: float,
) -> list[Reply]:
    """`query` for every question at once, in rounds, until `deadline` (the loop's clock).

    Per question: its answer (as `query` accepts it), None where dnspython must decide, or
    TIMED_OUT. A round sends every unanswered question to the round's server and waits for
    all of them, at most `attempt_seconds`; then the next round asks the next server. The
    questions of a check wait together: one waiter per question and one wait per round, with
    no task or coroutine per question. With a task, a coroutine chain and a `wait_for` per
    lookup, the seven lookups of a check waiting on a silent server held about 23 KB
    (bench/README.md, S5).
    """
    outcomes: list[Reply] = [TIMED_OUT] * len(questions)
    if not servers or not all(_is_ipv4(address) for address, _ in servers):
        return [None] * len(questions)
    loop = asyncio.get_running_loop()
    # One id per question for all its rounds (a late answer still counts), distinct in the check.
    ids = _RANDOM.sample(range(65536), len(questions))
    unanswered = list(range(len(questions)))
    attempt = 0
    while unanswered and (remaining := deadline - loop.time()) > 0:
        server = servers[attempt % len(servers)]
        attempt += 1
        waiting: list[tuple[int, SharedSocket, tuple[int, Server], asyncio.Future[bytes]]] = []
        try:
            for index in unanswered:
                shared = await _socket()  # per question: the last one may have been replaced
                while (ids[index], server) in shared.pending:  # another check's query has it
                    ids[index] = secrets.randbelow(65536)
                key = (ids[index], server)
                waiter = shared.register(key)
                waiting.append((index, shared, key, waiter))
                shared.send(questions[index].with_id(ids[index]), server)
            await asyncio.wait([w for *_, w in waiting], timeout=min(attempt_seconds, remaining))
        except OSError:  # the socket failed: dnspython decides for every unanswered question
            for index in unanswered:
                outcomes[index] = None
        finally:
            for _, shared, key, waiter in waiting:
                shared.release(key, waiter)
                if not waiter.done():
                    waiter.cancel()
        for index, _, _, waiter in waiting:
            if waiter.cancelled():
                continue  # unanswered in this round: TIMED_OUT, or None after an OSError
            if waiter.exception() is not None:  # an ICMP error, or the socket closed
                outcomes[index] = None
            else:
                outcomes[index] = _accepted(questions[index], waiter.result(), ids[index])
        unanswered = [index for index in unanswered if outcomes[index] is TIMED_OUT]
    return outcomes


class _Accepted:
    """Answers already parsed and accepted, by their bytes after the id: a bounded LRU.

    A zone's server sends the same bytes for the same question until the zone changes, and a
    setup's page is read again and again: parsing each answer with dnspython (about 90 us,
    seven per check) was a fifth of a detail read's CPU (bench/README.md, S2). An answer
    whose bytes after the id equal one accepted before for the same question is that answer:
    the flags, rcode, question and records are all in those bytes, so only the id is left to
    check. The messages are shared: nothing downstream changes one.
    """

    def __init__(self, kept: int = ACCEPTED_KEPT) -> None:
        self._kept = kept
        self._messages: OrderedDict[bytes, tuple[Question, dns.message.Message]] = OrderedDict()

    def get(self, question: Question, wire: bytes) -> dns.message.Message | None:
        found = self._messages.get(wire[2:])
        if found is None or not found[0].same_as(question):
            return None
        self._messages.move_to_end(wire[2:])
        return found[1]

    def keep(self, question: Question, wire: bytes, message: dns.message.Message) -> None:
        self._messages[wire[2:]] = (question, message)
        if len(self._messages) > self._kept:
            self._messages.popitem(last=False)


_ACCEPTED = _Accepted()


def _accepted(question: Question, wire: bytes, query_id: int) -> dns.message.Message | None:
    """The answer if it is a plain one to `question`; None where dnspython must decide."""
    if len(wire) >= 2 and int.from_bytes(wire[:2], "big") == query_id:
        known = _ACCEPTED.get(question, wire)
        if known is not None:
            return known
    try:
        response = dns.message.from_wire(wire)
    except Exception:  # malformed: dnspython's resolver decides what that means
        return None
    if not question.is_answered_by(response, query_id, wire) or response.flags & dns.flags.TC:
        return None
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None
    _ACCEPTED.keep(question, wire, response)
    return response
