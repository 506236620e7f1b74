"""S8's baseline, as its own process: `python -m bench.delivery_baseline --dsn ...`.

The unavoidable work of S8's deliveries and nothing else: each pending delivery's body built
and signed as the worker builds and signs it (`delivery_body`, `signed_headers`), POSTed with
the same HTTP client (`ReceiverPools`: an httpx client per receiver origin, the same limits)
and the same request (`send_attempt`: streamed, at most 64 KiB read), at the same concurrency
as the worker (one attempt in flight per webhook, so one lane per webhook, each in event
order). The rows are read once, before the clock starts; nothing is written back. It prints
one JSON object: deliveries made and their completion times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import orjson

from bench.worker_runs import run_at_worker_priority
from email_channels.cli import run_loop
from email_channels.webhooks.connections import ReceiverPools
from email_channels.webhooks.delivery import delivery_body, send_attempt
from email_channels.webhooks.signing import signed_headers

ROWS = (
    "SELECT deliveries.webhook_id, webhooks.url, webhooks.secret, deliveries.event_id,"
    " events.type, events.occurred_at, events.data::text AS data"
    " FROM deliveries JOIN webhooks ON webhooks.id = deliveries.webhook_id"
    " JOIN events ON events.seq = deliveries.event_seq"
    " WHERE deliveries.status = 'pending' ORDER BY deliveries.event_seq"
)


async def run(*, dsn: str, webhook_timeout: float) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(ROWS)
    finally:
        await connection.close()
    by_webhook: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        by_webhook[row["webhook_id"]].append(row)
    pools = ReceiverPools(timeout=webhook_timeout, verify=True)
    done: list[float] = []
    failures: list[str] = []

    async def lane(queue: list[Any]) -> None:
        for row in queue:
            body = delivery_body(
                event_type=row["type"],
                occurred_at=row["occurred_at"],
                data=orjson.loads(row["data"]),
            )
            headers = signed_headers(
                secret=row["secret"],
                message_id=row["event_id"],
                timestamp=int(time.time()),
                body=body,
            )
            parts = urlsplit(row["url"])
            origin = (parts.scheme, parts.hostname or "", parts.port)
            async with pools.client(origin) as client:
                outcome = await send_attempt(
                    client,
                    row["url"],
                    body=body,
                    headers={**headers, "host": parts.netloc},
                    server_name=parts.hostname or "",
                )
            if outcome.error is None:
                done.append(time.time())
            else:
                failures.append(outcome.error)

    started = time.time()
    try:
        await asyncio.gather(*(lane(queue) for queue in by_webhook.values()))
    finally:
        await pools.close()
    finished = time.time()
    return {
        "deliveries": len(done),
        "failures": len(failures),
        "failure_samples": failures[:3],
        "lanes": len(by_webhook),
        "started": started,
        "finished": finished,
        "first_done": min(done, default=None),
        "last_done": max(done, default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery_baseline")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--timeout", type=float, default=10.0, help="WEBHOOK_TIMEOUT")
    args = parser.parse_args(argv)
    run_at_worker_priority()  # before any thread starts, as the worker does
    # On the worker's loop (uvloop where installed), as the worker runs.
    json.dump(run_loop(run(dsn=args.dsn, webhook_timeout=args.timeout)), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
