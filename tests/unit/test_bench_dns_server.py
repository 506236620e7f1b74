"""The bench's DNS server: answers from kept bytes are dnspython's answers, byte for byte."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
from bench.dns_server import TTL, DelayedDns, load_zone

RECORDS = [
    ["tok1._domainkey.example.com", "CNAME", "tok1.dkim.amazonses.com"],
    ["bounce.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com"],
    ["bounce.example.com", "TXT", "v=spf1 include:amazonses.com ~all"],
]
DELAY = 0.05


class Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes, Any]] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append((asyncio.get_running_loop().time(), data, addr))


@pytest.fixture
def zone(tmp_path: Path) -> dict[tuple[str, int], list[str]]:
    path = tmp_path / "zone.json"
    path.write_text(json.dumps(RECORDS))
    return load_zone(path)


def _query(name: str, rdtype: str, query_id: int, *, edns: int = -1) -> bytes:
    """The query as the service sends it: dnspython's, with the resolver's EDNS (none unless
    the system's resolver configuration asks for it)."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.use_edns(edns, 0, 1232)
    request = dns.message.make_query(dns.name.from_text(name), rdtype)
    request.use_edns(
        resolver.edns, resolver.ednsflags, resolver.payload, options=resolver.ednsoptions
    )
    request.id = query_id
    return request.to_wire()


def _dnspython_answer(wire: bytes, values: list[str]) -> bytes:
    """What the server answered before it kept answers: built by dnspython every time."""
    query = dns.message.from_wire(wire)
    question = query.question[0]
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA  # it speaks for the zone, as its own server
    response.answer.append(
        dns.rrset.from_text(question.name, TTL, dns.rdataclass.IN, question.rdtype, *values)
    )
    return response.to_wire()


@pytest.mark.parametrize("edns", [-1, 0], ids=["plain", "edns"])
async def test_every_answer_is_dnspythons_for_its_own_id_after_the_delay(
    zone: dict[tuple[str, int], list[str]], edns: int
) -> None:
    server, transport = DelayedDns(zone, delay=DELAY), Transport()
    server.connection_made(transport)
    loop = asyncio.get_running_loop()
    expected = []
    received = []
    for query_id in (1, 0xBEEF, 1, 65535):  # the same query bytes again, other ids
        for name, rdtype, value in RECORDS:
            wire = _query(name, rdtype, query_id, edns=edns)
            text = f'"{value}"' if rdtype == "TXT" else value + "."
            expected.append(_dnspython_answer(wire, [text]))
            received.append(loop.time())
            server.datagram_received(wire, ("127.0.0.1", 5353))
    assert transport.sent == []  # nothing before the delay
    await asyncio.sleep(DELAY + 0.05)

    assert [data for _, data, _ in transport.sent] == expected
    assert {addr for _, _, addr in transport.sent} == {("127.0.0.1", 5353)}
    for (sent_at, data, _), at in zip(transport.sent, received, strict=True):
        assert sent_at - at >= DELAY
        answer = dns.message.from_wire(data)
        assert answer.edns == edns
        assert answer.answer[0].ttl == TTL


async def test_unknown_names_and_garbage_are_never_answered(
    zone: dict[tuple[str, int], list[str]],
) -> None:
    server, transport = DelayedDns(zone, delay=0.0), Transport()
    server.connection_made(transport)
    for _ in range(2):  # the second time from what the server kept
        server.datagram_received(_query("silent.example.com", "TXT", 7), ("127.0.0.1", 1))
        server.datagram_received(_query("bounce.example.com", "CNAME", 7), ("127.0.0.1", 1))
        server.datagram_received(b"\x00", ("127.0.0.1", 1))
        server.datagram_received(b"\x00\x07garbage", ("127.0.0.1", 1))
    await asyncio.sleep(0.02)
    assert transport.sent == []
