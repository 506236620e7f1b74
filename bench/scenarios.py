"""S2-S6 of DESIGN.md section 6, each measured against the service under test.

Every scenario returns plain numbers; bench/targets.py turns them into ratios against the
limits. Loops are bounded by counts and deadlines; every address is loopback.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.clients import RawConnection, RequestFailed
from bench.load import LoadResult, percentile
from email_channels.ses_setups.records import ExpectedRecord, expected_records

T = TypeVar("T")

SES_DELAY = 0.100  # S3: added to every SES call
DNS_DELAY = 0.050  # S2: added to every DNS answer
CREATE_OPERATIONS = (
    "CreateTenant",
    "CreateEmailIdentity",
    "PutEmailIdentityMailFromAttributes",
    "CreateTenantResourceAssociation",
)
REQUEST_TIMEOUT = 30.0
SLOW_READ_SPREAD = 4.0  # seconds: the service's DNS_LIFETIME, over which S4's reads start
FAILED_READ_PAUSE = 0.1  # seconds before a slow read that failed is sent again


@dataclass(frozen=True, slots=True)
class Setups:
    """The seeded setups the scenarios read: S2's verified one, S4's slow ones."""

    verified_id: str
    verified_records: list[ExpectedRecord]
    silent_ids: list[str]


async def pick_setups(dsn: str, *, workspace_id: str, silent: int) -> Setups:
    """S2's setup (its records become the DNS zone) and `silent` others for S4."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id, domain_identity, region, mail_from_domain, dkim_tokens,"
            " signing_hosted_zone FROM ses_setups WHERE workspace_id = $1"
            " ORDER BY created_at DESC LIMIT $2",
            workspace_id,
            silent + 1,
        )
    finally:
        await connection.close()
    first = rows[0]
    tokens = first["dkim_tokens"]
    records = expected_records(
        domain=first["domain_identity"],
        region=first["region"],
        mail_from_subdomain=first["mail_from_domain"].removesuffix("." + first["domain_identity"]),
        dkim_tokens=json.loads(tokens) if isinstance(tokens, str) else tokens,
        signing_hosted_zone=first["signing_hosted_zone"] or "",
    )
    return Setups(str(first["id"]), records, [str(row["id"]) for row in rows[1:]])


@dataclass(slots=True)
class Latencies:
    """Sequential requests: their latencies and what went wrong."""

    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def p50_ms(self) -> float | None:
        return statistics.median(self.seconds) * 1000 if self.seconds else None


def detail_latencies(base: str, *, setup_id: str, api_key: str, requests: int) -> Latencies:
    """S2: GET the verified setup `requests` times, one at a time (after two unmeasured)."""
    return _run(_detail_latencies(base, setup_id=setup_id, api_key=api_key, requests=requests))


async def _detail_latencies(base: str, *, setup_id: str, api_key: str, requests: int) -> Latencies:
    result = Latencies()
    # The raw keep-alive connection of S1's generator (bench/clients.py): httpx cost about
    # 1 ms of each answer here, the harness's time, not the service's.
    connection = RawConnection(f"{base}/{setup_id}", authorization=f"Bearer {api_key}")
    try:
        for index in range(requests + 2):
            timed = await _timed(connection, result.errors, connection.get_answer())
            if timed is None:
                continue
            elapsed, status, answer = timed
            if status != 200:
                result.errors.append(f"HTTP {status}")
            elif not json.loads(answer)["dns_verified"]:
                result.errors.append("not verified")
            elif index >= 2:
                result.seconds.append(elapsed)
    finally:
        await connection.aclose()
    return result


async def _timed(
    connection: RawConnection, errors: list[str], exchange: Awaitable[tuple[int, bytes]]
) -> tuple[float, int, bytes] | None:
    """One exchange on `connection`: (seconds, status, body), or None with the error noted."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status, answer = await exchange
    except (TimeoutError, RequestFailed) as error:
        await connection.aclose()  # a late answer must not be read as the next one
        errors.append(repr(error))
        return None
    return time.perf_counter() - started, status, answer


def _delay_creates(sandbox_url: str, *, times: int) -> None:
    for operation in CREATE_OPERATIONS:
        httpx.post(
            f"{sandbox_url}/_sandbox/faults",
            json={
                "operation": operation,
                "error_code": None,
                "delay_seconds": SES_DELAY,
                "times": times,
            },
            timeout=REQUEST_TIMEOUT,
        ).raise_for_status()


def create_latencies(base: str, *, sandbox_url: str, api_key: str, creates: int) -> Latencies:
    """S3: `creates` creates one at a time, every SES call of them 100 ms late."""
    _delay_creates(sandbox_url, times=creates)
    try:
        return _run(_create_latencies(base, api_key=api_key, creates=creates))
    finally:
        httpx.delete(f"{sandbox_url}/_sandbox/faults", timeout=REQUEST_TIMEOUT)


async def _create_latencies(base: str, *, api_key: str, creates: int) -> Latencies:
    result = Latencies()
    connection = RawConnection(base, authorization=f"Bearer {api_key}")  # as S2's
    stamp = time.time_ns()
    try:
        for index in range(creates):
            body = {
                "tenant_name": f"s3-{stamp}-{index}",
                "domain_identity": f"s3-{index}.c{stamp}.bench-create.example",
            }
            exchange = connection.post_json(json.dumps(body).encode())
            timed = await _timed(connection, result.errors, exchange)
            if timed is None:
                continue
            elapsed, status, _ = timed
            if status != 201:
                result.errors.append(f"HTTP {status}")
            else:
                result.seconds.append(elapsed)
    finally:
        await connection.aclose()
    return result


class SlowReads:
    """S4's background: `count` detail reads kept in flight, each on a silent DNS server.

    Each read has its own keep-alive connection of the load generator's raw client
    (bench/clients.py), on a thread of the harness, which otherwise only waits for the load
    generator's process during S4. A shared `httpx.AsyncClient` with 200 connections cost 4.2 ms
    of CPU per read (17% of a core at S4's 40-50 reads/s) on the two cores that the service and
    the list's generator use; the raw connections cost about a tenth of that.
    """

    def __init__(self, base: str, *, setup_ids: list[str], api_key: str) -> None:
        self._base = base
        self._ids = setup_ids
        self._authorization = f"Bearer {api_key}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._measured_run, daemon=True)
        self.answered = 0
        self.failed = 0
        self.cpu_seconds = 0.0  # the reads' thread: what the client costs the machine
        self.seconds = 0.0

    def _measured_run(self) -> None:
        cpu, started = time.thread_time(), time.perf_counter()
        try:
            try:
                import uvloop
            except ImportError:
                asyncio.run(self._run())
            else:
                uvloop.run(self._run())
        finally:
            self.cpu_seconds = time.thread_time() - cpu
            self.seconds = time.perf_counter() - started

    async def _one(self, setup_id: str, *, start_after: float) -> None:
        await asyncio.sleep(start_after)
        connection = RawConnection(f"{self._base}/{setup_id}", authorization=self._authorization)
        try:
            while not self._stop.is_set():
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT):
                        status = await connection.get()
                except (TimeoutError, RequestFailed):
                    self.failed += 1
                    await connection.aclose()  # a late answer must not be read as the next one
                    await asyncio.sleep(FAILED_READ_PAUSE)  # no busy loop on a refused port
                    continue
                self.answered += status == 200
                self.failed += status != 200
        finally:
            await connection.aclose()

    async def _run(self) -> None:
        # Spread over one DNS lifetime, as reads arrive in life: started together they would
        # also end together, every lifetime, 200 answers and 200 new reads at once.
        spread = SLOW_READ_SPREAD / max(1, len(self._ids))
        await asyncio.gather(
            *(
                self._one(setup_id, start_after=index * spread)
                for index, setup_id in enumerate(self._ids)
            )
        )

    def __enter__(self) -> SlowReads:
        self._thread.start()
        time.sleep(SLOW_READ_SPREAD + 0.5)  # let them all reach the DNS wait
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT + 5)


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """S6: the creates' latencies against the full and the empty sandbox, and the failures."""

    full_p50_ms: float | None
    empty_p50_ms: float | None
    errors: int
    error_samples: list[str]
    seconds: float
    client_cpu: float | None = None  # share of a core the creates' client used
    round_p50s_ms: list[float] = field(default_factory=list)  # each round in turn, full first


async def _creates_in_rounds(
    bases: dict[str, str], *, api_key: str, creates: int, concurrency: int, round_size: int
) -> ScaleResult:
    """Rounds of `round_size` creates, `concurrency` at a time, alternating between `bases`."""
    sides = list(bases)
    latencies: dict[str, list[float]] = {side: [] for side in sides}
    round_p50s: list[float] = []
    errors: list[str] = []
    failed = 0
    stamp = time.time_ns()

    async def one_round(side: str, indexes: range) -> list[float]:
        pending = iter(indexes)
        taken: list[float] = []

        async def worker(connection: RawConnection) -> None:
            nonlocal failed
            for index in pending:
                body = {
                    "tenant_name": f"s6-{stamp}-{index}",
                    "domain_identity": f"s6-{index}.c{stamp}.bench-scale.example",
                }
                timed = await _timed(connection, errors, connection.post_json(_json(body)))
                if timed is None:
                    failed += 1
                    continue
                elapsed, status, answer = timed
                if status == 201:
                    taken.append(elapsed)
                else:
                    failed += 1
                    errors.append(f"HTTP {status}: {answer[:120].decode(errors='replace')}")

        # Fresh raw keep-alive connections (bench/clients.py: a client that costs the machine
        # little) for every round: a side's connections would sit idle through the other's round
        # and meet the server's keep-alive timeout; both sides pay the same connects.
        connections = [
            RawConnection(bases[side], authorization=f"Bearer {api_key}")
            for _ in range(concurrency)
        ]
        try:
            await asyncio.gather(*(worker(c) for c in connections))
        finally:
            for connection in connections:
                await connection.aclose()
        return taken

    cpu = time.process_time()
    started_all = time.perf_counter()
    for number, first in enumerate(range(0, creates, round_size)):
        side = sides[number % len(sides)]
        taken = await one_round(side, range(first, min(first + round_size, creates)))
        latencies[side].extend(taken)
        if (p50 := percentile(sorted(taken), 0.5)) is not None:
            round_p50s.append(p50 * 1000)
    client_cpu = time.process_time() - cpu
    seconds = time.perf_counter() - started_all
    full, empty = (percentile(sorted(latencies[side]), 0.5) for side in sides)
    return ScaleResult(
        full_p50_ms=full * 1000 if full is not None else None,
        empty_p50_ms=empty * 1000 if empty is not None else None,
        errors=failed,
        error_samples=errors[:5],
        seconds=seconds,
        client_cpu=client_cpu / seconds if seconds > 0 else None,
        round_p50s_ms=round_p50s,
    )


def _json(body: dict[str, str]) -> bytes:
    return json.dumps(body).encode()


def creates_in_rounds(
    *, full: str, empty: str, api_key: str, creates: int, concurrency: int, round_size: int
) -> ScaleResult:
    """S6: `creates` creates in alternating rounds through `full` and `empty` (full first)."""
    return _run(
        _creates_in_rounds(
            {"full": full, "empty": empty},
            api_key=api_key,
            creates=creates,
            concurrency=concurrency,
            round_size=round_size,
        )
    )


def _run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run a scenario's client on uvloop when it is installed, as the servers run."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(scenario)
    return uvloop.run(scenario)


def resident_mb(pid: int) -> float | None:
    """The process's resident set (VmRSS) in MB, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def p99(result: LoadResult) -> float | None:
    return result.p99_ms
