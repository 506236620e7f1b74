"""Lookups over the shared UDP socket: each gets its own answer; the source port moves on."""

from __future__ import annotations

import asyncio
import gc
import os
from collections import Counter
from typing import Any

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from email_channels.integrations.dns import Outcome, udp
from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.integrations.dns.udp import ROTATE_AFTER


class EchoTxt(asyncio.DatagramProtocol):
    """Answers every TXT query with the name asked, after `delay`; notes the source ports."""

    def __init__(self, *, answer: bool, delay: float, servfail: str = "") -> None:
        self.answer = answer
        self.delay = delay
        self.servfail = servfail  # names starting with it are answered SERVFAIL
        self.ports: set[int] = set()
        self.asked: Counter[str] = Counter()
        self.arrived = asyncio.Event()  # set at each query
        self.late: list[asyncio.TimerHandle] = []  # answers not sent yet
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.ports.add(addr[1])
        query = dns.message.from_wire(data)
        name = query.question[0].name
        self.asked[name.to_text()] += 1
        self.arrived.set()
        if not self.answer:
            return
        response = dns.message.make_response(query)
        if self.servfail and name.to_text().startswith(self.servfail):
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            response.answer.append(
                dns.rrset.from_text(name, 0, dns.rdataclass.IN, dns.rdatatype.TXT, f'"{name}"')
            )
        loop = asyncio.get_running_loop()
        self.late.append(
            loop.call_later(self.delay, self.transport.sendto, response.to_wire(), addr)
        )

    def close(self) -> None:
        for answer in self.late:
            answer.cancel()
        self.transport.close()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _server(*, answer: bool, delay: float = 0.0, servfail: str = "") -> tuple[EchoTxt, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: EchoTxt(answer=answer, delay=delay, servfail=servfail),
        local_addr=("127.0.0.1", 0),
    )
    return protocol, transport.get_extra_info("sockname")[1]


async def test_concurrent_lookups_each_get_their_own_answer() -> None:
    server, port = await _server(answer=True, delay=0.01)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=2.0, lifetime=4.0)
    names = [f"n{index}.shared.example" for index in range(3 * ROTATE_AFTER)]
    try:
        observations = await asyncio.gather(*(lookup.query(name, "TXT") for name in names))
    finally:
        server.close()
    assert [o.outcome for o in observations] == [Outcome.ANSWER] * len(names)
    assert [o.values for o in observations] == [(f"{name}.",) for name in names]
    assert len(server.ports) >= 3  # a fresh socket every ROTATE_AFTER queries


async def test_a_silent_server_is_timed_out_at_the_lifetime() -> None:
    server, port = await _server(answer=False)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=0.1, lifetime=0.3)
    try:
        observation = await lookup.query("quiet.shared.example", "TXT")
    finally:
        server.close()
    assert observation.outcome is Outcome.FAILURE
    assert observation.detail == "timed out"


async def test_retries_after_the_socket_was_replaced_still_time_out_cleanly() -> None:
    # More lookups than one socket serves, each retried: later attempts run on new sockets.
    server, port = await _server(answer=False)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=0.1, lifetime=0.35)
    names = [f"q{index}.shared.example" for index in range(2 * ROTATE_AFTER)]
    try:
        observations = await asyncio.gather(*(lookup.query(name, "TXT") for name in names))
    finally:
        server.close()
    assert {(o.outcome, o.detail) for o in observations} == {(Outcome.FAILURE, "timed out")}


async def test_concurrent_replacements_leave_one_socket_open() -> None:
    # Every query of a round waits while the socket is being replaced: they must all end up
    # on one new socket, and each retired socket must close once its queries are done.
    server, port = await _server(answer=False)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=0.05, lifetime=0.5)
    names = [f"r{index}.shared.example" for index in range(4 * ROTATE_AFTER)]
    before = _open_descriptors()
    try:
        observations = await asyncio.gather(*(lookup.query(name, "TXT") for name in names))
    finally:
        server.close()
    assert {(o.outcome, o.detail) for o in observations} == {(Outcome.FAILURE, "timed out")}
    assert len(server.ports) > 2  # several rotations happened
    assert _open_descriptors() - before <= 1  # the current socket, at most


def _waiting_on_shared_sockets() -> int:
    """Queries waiting on any shared socket: the loop's current one and any it retired.

    The tests share one event loop, so its socket has already sent the earlier tests' queries
    and may be replaced (ROTATE_AFTER) part-way through a test's own.
    """
    return sum(len(o.pending) for o in gc.get_objects() if isinstance(o, udp.SharedSocket))


async def _query_all(
    lookup: DnsPythonLookup, names: list[str], *, seconds: float
) -> list[tuple[Outcome, tuple[str, ...], str | None]]:
    deadline = asyncio.get_running_loop().time() + seconds
    observations = await lookup.query_all([(name, "TXT") for name in names], deadline=deadline)
    assert [o.name for o in observations] == names  # one per query, in order
    return [(o.outcome, o.values, o.detail) for o in observations]


async def _asked_together(
    names: list[str], *, attempt: float, seconds: float, **server: Any
) -> tuple[EchoTxt, list[tuple[Outcome, tuple[str, ...], str | None]]]:
    """`names` asked in one `query_all` of a lookup of `EchoTxt(**server)`; the server, what
    each name got."""
    echo, port = await _server(**server)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=attempt, lifetime=4.0)
    try:
        return echo, await _query_all(lookup, names, seconds=seconds)
    finally:
        echo.close()


async def test_query_all_answers_every_question_and_moves_the_source_port() -> None:
    names = [f"b{index}.shared.example" for index in range(3 * ROTATE_AFTER)]
    server, seen = await _asked_together(names, attempt=2.0, seconds=4.0, answer=True, delay=0.01)
    assert seen == [(Outcome.ANSWER, (f"{name}.",), None) for name in names]
    assert len(server.ports) >= 3  # a fresh socket every ROTATE_AFTER queries
    assert set(server.asked.values()) == {1}
    assert _waiting_on_shared_sockets() == 0


async def test_query_all_asks_again_each_attempt_and_fails_at_the_deadline() -> None:
    names = [f"s{index}.shared.example" for index in range(7)]
    server, seen = await _asked_together(names, attempt=0.1, seconds=0.35, answer=False)
    assert seen == [(Outcome.FAILURE, (), "timed out")] * 7
    assert all(server.asked[f"{name}."] >= 3 for name in names)  # one send per attempt
    assert _waiting_on_shared_sockets() == 0


async def test_query_all_counts_an_answer_to_an_earlier_attempt() -> None:
    # Answers come 0.15 s late, attempts last 0.1 s: each answer lands during the next
    # attempt, which asked again with the same id, and is taken.
    names = [f"l{index}.shared.example" for index in range(7)]
    _, seen = await _asked_together(names, attempt=0.1, seconds=2.0, answer=True, delay=0.15)
    assert seen == [(Outcome.ANSWER, (f"{name}.",), None) for name in names]


async def test_query_all_leaves_what_is_not_plain_to_dnspython() -> None:
    # SERVFAIL is dnspython's to judge: it asks again itself and reports the rcode.
    server, port = await _server(answer=True, servfail="bad")
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=0.5, lifetime=1.0)
    names = ["good1.shared.example", "bad1.shared.example", "good2.shared.example"]
    try:
        seen = await _query_all(lookup, names, seconds=1.0)
    finally:
        server.close()
    assert seen[0] == (Outcome.ANSWER, ("good1.shared.example.",), None)
    assert seen[1] == (Outcome.FAILURE, (), "SERVFAIL")
    assert seen[2] == (Outcome.ANSWER, ("good2.shared.example.",), None)
    assert server.asked["bad1.shared.example."] >= 2  # the shared socket, then dnspython
    assert server.asked["good1.shared.example."] == 1


async def test_a_cancelled_query_all_leaves_nothing_waiting() -> None:
    server, port = await _server(answer=False)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=1.0, lifetime=4.0)
    names = [f"c{index}.shared.example" for index in range(7)]
    deadline = asyncio.get_running_loop().time() + 4.0
    task = asyncio.ensure_future(lookup.query_all([(n, "TXT") for n in names], deadline=deadline))
    try:
        while server.asked.total() < len(names):
            server.arrived.clear()
            await server.arrived.wait()
        assert _waiting_on_shared_sockets() == len(names)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        server.close()
    assert task.cancelled()
    assert _waiting_on_shared_sockets() == 0
