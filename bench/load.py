"""The load generator, run as its own process: `python -m bench.load URL [URL ...] [options]`.

A fixed number of workers, each on its own keep-alive connection, send the same GET back to
back: a closed loop, so the server's speed sets the rate. With several URLs the workers take
them in turn (worker i asks URL i mod n), and the result also has each URL's p50: pages
measured side by side, under the same load at the same moments (bench/clients.py says why the
default client is a lean HTTP/1.1 one and not a shared httpx.AsyncClient). Requests
started during the warm-up are not counted; requests started in the measured window are,
including the few that finish just after it. It prints one JSON object (`LoadResult`) on
standard output. The API key comes from the environment (`BENCH_API_KEY`), not the argv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.clients import (
    LoadClient,
    RawConnection,
    RequestFailed,
    SharedHttpx,
    shared_httpx_client,
)

API_KEY_VARIABLE = "BENCH_API_KEY"
REQUEST_TIMEOUT = 10.0  # seconds for one request; a slower answer counts as an error


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one load run saw in its measured window."""

    requests: int  # answered 200 in the window
    errors: int  # any other status, or a transport error
    seconds: float
    requests_per_second: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    client_cpu: float | None  # share of one core used by this process in the window
    server_cpu: float | None  # share of one core used by the server process in the window
    error_samples: list[str] = field(default_factory=list)
    p50_ms_by_url: list[float | None] = field(default_factory=list)  # in the order given


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when it is empty."""
    if not sorted_values:
        return None
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name may hold spaces: the fields we want follow its closing ")".
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _share(before: float | None, after: float | None, seconds: float) -> float | None:
    if before is None or after is None or seconds <= 0:
        return None
    return (after - before) / seconds


async def generate_load(
    *,
    urls: list[str],
    api_key: str,
    client_kind: str,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    server_pid: int | None,
    pace: float = 0.0,
) -> LoadResult:
    """Run the closed loop; bounded by `warmup + duration` and by `max_requests`.

    `pace`: the least seconds between the starts of one worker's requests (0: back to back),
    for a steady light load beside other work (S7) rather than all the server can take.
    """
    by_url: list[list[float]] = [[] for _ in urls]
    errors: list[str] = []
    issued = 0
    authorization = f"Bearer {api_key}"
    async with AsyncExitStack() as stack:
        if client_kind == "httpx":
            shared = await stack.enter_async_context(
                shared_httpx_client(
                    concurrency=concurrency, authorization=authorization, timeout=REQUEST_TIMEOUT
                )
            )
        started = time.perf_counter()
        window_start = started + warmup
        window_end = window_start + duration

        async def worker(url: str, latencies: list[float]) -> None:
            nonlocal issued
            client: LoadClient = (
                SharedHttpx(shared, url)
                if client_kind == "httpx"
                else RawConnection(url, authorization=authorization)
            )
            try:
                while issued < max_requests:
                    sent = time.perf_counter()
                    if sent >= window_end:
                        return
                    issued += 1
                    failure = await _one_request(client)
                    if sent < window_start:
                        continue
                    if failure is None:
                        latencies.append(time.perf_counter() - sent)
                    else:
                        errors.append(failure)
                    if pace > 0:
                        await asyncio.sleep(max(0.0, sent + pace - time.perf_counter()))
            finally:
                await client.aclose()

        async def sample_cpu() -> tuple[float | None, float | None, float | None, float | None]:
            await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
            client_before, server_before = time.process_time(), _server_cpu(server_pid)
            await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
            return client_before, time.process_time(), server_before, _server_cpu(server_pid)

        sampler = asyncio.create_task(sample_cpu())
        await asyncio.wait_for(
            asyncio.gather(
                *(worker(urls[i % len(urls)], by_url[i % len(urls)]) for i in range(concurrency))
            ),
            timeout=warmup + duration + REQUEST_TIMEOUT + 5.0,
        )
        client_before, client_after, server_before, server_after = await sampler

    seconds = duration
    latencies = sorted(latency for some in by_url for latency in some)
    return LoadResult(
        requests=len(latencies),
        errors=len(errors),
        seconds=seconds,
        requests_per_second=len(latencies) / seconds,
        p50_ms=_ms(percentile(latencies, 0.50)),
        p95_ms=_ms(percentile(latencies, 0.95)),
        p99_ms=_ms(percentile(latencies, 0.99)),
        client_cpu=_share(client_before, client_after, seconds),
        server_cpu=_share(server_before, server_after, seconds),
        error_samples=sorted(set(errors))[:5],
        p50_ms_by_url=[_ms(percentile(sorted(some), 0.50)) for some in by_url],
    )


async def _one_request(client: LoadClient) -> str | None:
    """None when the answer is a 200; else what went wrong."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status = await client.get()
    except TimeoutError:
        await client.aclose()  # the answer may still come: this connection is done
        return f"no answer within {REQUEST_TIMEOUT:g} s"
    except RequestFailed as error:
        return str(error)
    return None if status == 200 else f"HTTP {status}"


def _server_cpu(pid: int | None) -> float | None:
    return None if pid is None else process_cpu_seconds(pid)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _run(coroutine: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    """Run on uvloop when it is installed (as uvicorn does): less client overhead per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("urls", nargs="+", metavar="URL")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=5_000_000)
    parser.add_argument("--server-pid", type=int, default=None)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between a worker's starts")
    args = parser.parse_args(argv)
    api_key = os.environ.get(API_KEY_VARIABLE)
    if not api_key:
        print(f"{API_KEY_VARIABLE} is not set", file=sys.stderr)
        return 2
    result = _run(
        generate_load(
            urls=args.urls,
            api_key=api_key,
            client_kind=args.client,
            concurrency=args.concurrency,
            warmup=args.warmup,
            duration=args.duration,
            max_requests=args.max_requests,
            server_pid=args.server_pid,
            pace=args.pace,
        )
    )
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
