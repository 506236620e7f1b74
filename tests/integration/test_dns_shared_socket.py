"""Lookups over the shared UDP socket: each gets its own answer; the source port moves on."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from email_channels.integrations.dns import Outcome
from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.integrations.dns.udp import ROTATE_AFTER


class EchoTxt(asyncio.DatagramProtocol):
    """Answers every TXT query with the name asked, after `delay`; notes the source ports."""

    def __init__(self, *, answer: bool, delay: float) -> None:
        self.answer = answer
        self.delay = delay
        self.ports: set[int] = set()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.ports.add(addr[1])
        if not self.answer:
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        name = query.question[0].name
        response.answer.append(
            dns.rrset.from_text(name, 0, dns.rdataclass.IN, dns.rdatatype.TXT, f'"{name}"')
        )
        loop = asyncio.get_running_loop()
        loop.call_later(self.delay, self.transport.sendto, response.to_wire(), addr)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _server(*, answer: bool, delay: float = 0.0) -> tuple[EchoTxt, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: EchoTxt(answer=answer, delay=delay), local_addr=("127.0.0.1", 0)
    )
    return protocol, transport.get_extra_info("sockname")[1]


async def test_concurrent_lookups_each_get_their_own_answer() -> None:
    server, port = await _server(answer=True, delay=0.01)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=2.0, lifetime=4.0)
    names = [f"n{index}.shared.example" for index in range(3 * ROTATE_AFTER)]
    try:
        observations = await asyncio.gather(*(lookup.query(name, "TXT") for name in names))
    finally:
        server.transport.close()
    assert [o.outcome for o in observations] == [Outcome.ANSWER] * len(names)
    assert [o.values for o in observations] == [(f"{name}.",) for name in names]
    assert len(server.ports) >= 3  # a fresh socket every ROTATE_AFTER queries


async def test_a_silent_server_is_timed_out_at_the_lifetime() -> None:
    server, port = await _server(answer=False)
    lookup = DnsPythonLookup(nameservers=[("127.0.0.1", port)], timeout=0.1, lifetime=0.3)
    try:
        observation = await lookup.query("quiet.shared.example", "TXT")
    finally:
        server.transport.close()
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
        server.transport.close()
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
        server.transport.close()
    assert {(o.outcome, o.detail) for o in observations} == {(Outcome.FAILURE, "timed out")}
    assert len(server.ports) > 2  # several rotations happened
    assert _open_descriptors() - before <= 1  # the current socket, at most
