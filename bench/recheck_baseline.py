"""S7's baseline, as its own process: `python -m bench.recheck_baseline --dsn ... --port ...`.

The unavoidable work of re-checking S7's setups and nothing else: for each setup the same
DNS queries the worker sends (the domain's SOA to the resolver, then the seven records to
the zone's server, without recursion: two rounds), each answer parsed by dnspython, then one
UPDATE that stores the results and the next due time. The same number of setups in flight
as the worker (its claim batch), one UDP socket for every query, the UPDATE prepared once per
connection of a pool of the worker's size, on the loop the worker runs on (uvloop). What
it leaves out is the worker's own machinery: claims, the verdict rules, SQLAlchemy, events.
It prints one JSON object: checks done and their completion times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import dns.flags
import dns.message
import dns.rdatatype

from bench.bind import HOST
from bench.worker_runs import run_at_worker_priority
from email_channels.cli import run_loop
from email_channels.ses_setups.records import expected_records

UPDATE = (
    "UPDATE ses_setups SET dns_results = $2::json, dns_verified = $3,"
    " dns_checked_at = now(), next_check_at = now() + interval '1 day',"
    " check_claimed_until = NULL WHERE id = $1"
)
ATTEMPT_SECONDS = 2.0


class Socket(asyncio.DatagramProtocol):
    """One UDP socket; answers matched to their waiters by query id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        waiter = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    async def ask(self, queries: list[tuple[str, str, bool]], port: int) -> list[Any]:
        """Send every (name, type, recursion) at once; their parsed answers, in order."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiters = []
        for name, rdtype, recursion in queries:
            message = dns.message.make_query(name, rdtype)
            if not recursion:
                message.flags &= ~dns.flags.RD
            query_id = secrets.randbelow(65536)
            while query_id in self.waiting:
                query_id = secrets.randbelow(65536)
            message.id = query_id
            waiter: asyncio.Future[bytes] = loop.create_future()
            self.waiting[query_id] = waiter
            waiters.append(waiter)
            self.transport.sendto(message.to_wire(), (HOST, port))
        async with asyncio.timeout(ATTEMPT_SECONDS):
            answers = await asyncio.gather(*waiters)
        return [dns.message.from_wire(wire) for wire in answers]


def _values(answer: Any, rdtype: str) -> list[str]:
    kind = dns.rdatatype.from_text(rdtype)
    return sorted(
        rdata.to_text().rstrip(".").lower()
        for rrset in answer.answer
        if rrset.rdtype == kind
        for rdata in rrset
    )


async def check_one(setup: Any, *, udp: Socket, port: int, pool: Any) -> None:
    """The queries of one setup's check, in the worker's two rounds; then its UPDATE."""
    expected = expected_records(
        domain=setup["domain_identity"],
        region=setup["region"],
        mail_from_subdomain=setup["mail_from_domain"].split(".", 1)[0],
        dkim_tokens=json.loads(setup["dkim_tokens"]),
        signing_hosted_zone=setup["signing_hosted_zone"],
    )
    await udp.ask([(setup["domain_identity"], "SOA", True)], port)
    primaries = list(dict.fromkeys((r.address, r.type) for r in expected))
    answers = await udp.ask([(name, rdtype, False) for name, rdtype in primaries], port)
    found = {
        query: _values(answer, query[1]) for query, answer in zip(primaries, answers, strict=True)
    }
    results = []
    for record in expected:
        values = found[(record.address, record.type)]
        verified = bool(values)
        results.append(
            {
                "verified": verified,
                "status": "verified" if verified else "missing",
                "found": values,
                "reason": None,
            }
        )
    verified = all(result["verified"] for result in results)
    await pool.execute(UPDATE, setup["id"], json.dumps(results), verified)


async def run(
    *, dsn: str, port: int, workspace: str, concurrency: int, pool_size: int
) -> dict[str, Any]:
    # The worker's pool size; asyncpg prepares the UPDATE once per connection and keeps it.
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        setups = await pool.fetch(
            "SELECT id, domain_identity, region, mail_from_domain, dkim_tokens::text,"
            " signing_hosted_zone FROM ses_setups WHERE workspace_id = $1 ORDER BY next_check_at",
            workspace,
        )
        loop = asyncio.get_running_loop()
        _, udp = await loop.create_datagram_endpoint(Socket, local_addr=(HOST, 0))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for setup in setups:
            queue.put_nowait(setup)
        done: list[float] = []
        failures: list[str] = []

        async def lane() -> None:
            while not queue.empty():
                setup = queue.get_nowait()
                try:
                    await check_one(setup, udp=udp, port=port, pool=pool)
                    done.append(time.time())
                except Exception as error:
                    failures.append(f"{setup['domain_identity']}: {error!r}")

        started = time.time()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        finished = time.time()
    finally:
        await pool.close()
    return {
        "checks": len(done),
        "failures": len(failures),
        "failure_samples": failures[:3],
        "started": started,
        "finished": finished,
        "first_done": min(done, default=None),
        "last_done": max(done, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recheck_baseline")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True, help="BIND's port on 127.0.0.1")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args(argv)
    run_at_worker_priority()  # before any thread starts, as the worker does
    result = run_loop(  # the worker's loop (uvloop where installed), as the worker runs
        run(
            dsn=args.dsn,
            port=args.port,
            workspace=args.workspace,
            concurrency=args.concurrency,
            pool_size=args.pool_size,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
