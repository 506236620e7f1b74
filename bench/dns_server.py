"""A loopback DNS server for the bench: `python -m bench.dns_server --fd N --zone FILE`.

It answers the names in its zone file (JSON: `[[name, type, value], ...]`) after `--delay`
seconds, and never answers any other name: the verified setup of S2 gets its records 50 ms
late, the setups of S4 wait on a server that says nothing. UDP only (answers are small).
The process stops by itself when its parent is gone or after `--max-seconds`.

The server must not add its own time to the delay it stands for (S2 sends seven queries at
once, and dnspython's parse and build of each answer took 0.15-0.2 ms of Python, one after the
other). The answer to a query depends only on the query's bytes after its 2-byte id, and the
service sends the same bytes for the same name and type each time: so each distinct query is
parsed and answered by dnspython once, its answer kept without the id, and every later one is
answered with its own id and the kept bytes, scheduled `--delay` after it arrived. A query that
is not answered (an unknown name, S4's black hole, or a malformed packet) is remembered as
such, so a retry costs no parse either.

It speaks for the zone of S2's setup, as the zone's own server does:
every answer has the AA flag, the zone's SOA, NS and the server's address are in the zone file
with a TTL of an hour (a check keeps them, so that steady state is one round of queries), and
an NS answer carries its glue. With `--query-log FILE` it writes the arrival time, name and
type of the first QUERIES_LOGGED queries it gets, for the round trips of S9's first check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 0  # no resolver may cache: every GET of S2 pays the delay
ZONE_TTL = 3600  # the zone's SOA, NS and server address: kept by a check, as in production
ZONE_TYPES = frozenset({dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.A})
QUERIES_LOGGED = 256
WATCH_INTERVAL = 0.5
ID_BYTES = 2  # a DNS message starts with its 16-bit id
TIMER_SLACK = 0.0015  # seconds: how late an event loop's timer may fire, and a little more
MAX_KEPT = 65_536  # distinct queries whose answer (or silence) is kept


def load_zone(path: Path) -> dict[tuple[str, int], list[str]]:
    """(lower-case name without the dot, rdtype) -> values as zone-file text."""
    zone: dict[tuple[str, int], list[str]] = defaultdict(list)
    for name, rdtype, value in json.loads(path.read_text()):
        if rdtype == "TXT":
            text = '"' + value.replace('"', '\\"') + '"'
        elif rdtype in ("SOA", "A"):  # as written in the file
            text = value
        else:  # CNAME, MX and NS name hosts: absolute, as in a zone file
            text = value if value.endswith(".") else value + "."
        zone[(name.lower().rstrip("."), dns.rdatatype.from_text(rdtype))].append(text)
    return dict(zone)


class DelayedDns(asyncio.DatagramProtocol):
    """Answers known names after a delay; drops every other query."""

    def __init__(
        self,
        zone: dict[tuple[str, int], list[str]],
        *,
        delay: float,
        query_log: Path | None = None,
    ) -> None:
        self._zone = zone
        self._delay = delay
        self._query_log = query_log.open("a", buffering=1) if query_log is not None else None
        self._logged = 0
        self._transport: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The query's bytes after its id -> the answer's after its id; None: never answered.
        self._answers: dict[bytes, bytes | None] = {}

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._query_log is not None and self._logged < QUERIES_LOGGED:
            self._log(data)
        key = data[ID_BYTES:]
        try:
            tail = self._answers[key]
        except KeyError:
            tail = self._answer_after_id(data)
            if len(self._answers) < MAX_KEPT:  # bounded, whatever arrives
                self._answers[key] = tail
        if tail is None:
            return
        assert self._loop is not None
        due = time.monotonic() + self._delay
        # Early by the loop's timer slack, then exactly on time (see `_send_at`).
        self._loop.call_later(
            self._delay - TIMER_SLACK, self._send_at, due, data[:ID_BYTES] + tail, addr
        )

    def _send_at(self, due: float, answer: bytes, addr: Any) -> None:
        """Send `answer` at `due` (time.monotonic), not a timer's rounding later.

        The event loop's timers wake up to a millisecond late (epoll waits in whole
        milliseconds, rounded up): a server that answered 50.9 ms after the query, as this
        one did at the median, added its own 0.9 ms to S2's figure. Woken early by
        TIMER_SLACK, it sleeps the rest (under a millisecond, a precise nanosleep) and sends.
        """
        remaining = due - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        self._transport.sendto(answer, addr)

    def _log(self, data: bytes) -> None:
        assert self._query_log is not None
        self._logged += 1
        try:
            question = dns.message.from_wire(data).question[0]
        except Exception:
            return
        name = question.name.to_text().lower().rstrip(".")
        kind = dns.rdatatype.to_text(question.rdtype)
        self._query_log.write(f"{time.monotonic():.6f} {name} {kind}\n")

    def _answer_after_id(self, data: bytes) -> bytes | None:
        """dnspython's answer to `data` without its id, or None for a query never answered."""
        try:
            query = dns.message.from_wire(data)
        except Exception:  # a malformed packet: nothing to answer
            return None
        if not query.question:
            return None
        question = query.question[0]
        values = self._zone.get((question.name.to_text().lower().rstrip("."), question.rdtype))
        if values is None:
            return None  # the black hole of S4
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        ttl = ZONE_TTL if question.rdtype in ZONE_TYPES else TTL
        response.answer.append(
            dns.rrset.from_text(question.name, ttl, dns.rdataclass.IN, question.rdtype, *values)
        )
        if question.rdtype == dns.rdatatype.NS:  # the glue: no round for the server's address
            for host in values:
                glue = self._zone.get((host.lower().rstrip("."), dns.rdatatype.A))
                if glue:
                    rrset = dns.rrset.from_text(host, ZONE_TTL, dns.rdataclass.IN, "A", *glue)
                    response.additional.append(rrset)
        return response.to_wire()[ID_BYTES:]


async def serve(sock: socket.socket, zone: dict[tuple[str, int], list[str]], args: Any) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: DelayedDns(zone, delay=args.delay, query_log=args.query_log), sock=sock
    )
    parent = os.getppid()
    for _ in range(int(args.max_seconds / WATCH_INTERVAL)):  # bounded: the harness's lifetime
        if os.getppid() != parent:
            return
        await asyncio.sleep(WATCH_INTERVAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dns_server")
    parser.add_argument("--fd", type=int, required=True, help="a bound loopback UDP socket")
    parser.add_argument("--zone", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--query-log", type=Path, default=None)
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    if sock.getsockname()[0] != "127.0.0.1":
        print("refusing to serve off loopback", file=sys.stderr)
        return 2
    asyncio.run(serve(sock, load_zone(args.zone), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
