"""S7: one worker re-checking 20,000 due setups against BIND on loopback, beside its baseline.

The setups are written straight into PostgreSQL (as S1's are), verified and due, each with
its seven records published exactly in BIND's zone (bench/bind.py), so a re-check is the
steady state of a platform: every record found, nothing changes but the check's time. In
turn, each measured while the list of the API is loaded lightly (S4's list, a steady pace):
1. the baseline process (bench/recheck_baseline.py), which sends the same queries and writes
   one UPDATE per setup, then the setups are made due again;
2. the list alone (calm);
3. one `email-channels worker` until every setup is checked, the list's p99 meanwhile;
4. the setups due again, two workers.
Each run is checked in BIND's query log: every setup's record queries asked exactly once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.bind import SPF_ZONE, ZONE, Bind
from bench.exactly_once import CheckCounts, checks_per_setup, completion_rate, queries_per_setup
from bench.load import LoadResult
from bench.processes import HarnessError, run_baseline, run_load
from bench.worker_runs import WorkerSettings, workers
from email_channels.ses_setups.records import ExpectedRecord, expected_records

WORKSPACE = "bench-s7"
REGION = "us-east-1"
MAIL_FROM = "bounce"
SIGNING_ZONE = "dkim.amazonses.com"
CLAIM_BATCH = 20  # the worker's claim: the baseline keeps as many setups in flight
LIST_CONCURRENCY = 4
LIST_PACE = 0.02  # seconds between one connection's requests: at most 200 lists a second
LIST_SECONDS = 8.0
STALL_SECONDS = 60.0  # no setup checked for this long: the run failed


@dataclass(frozen=True, slots=True)
class RecheckSetup:
    domain: str
    records: list[ExpectedRecord]


def s7_setups(count: int) -> list[RecheckSetup]:
    """`count` setups in ZONE, each with its own DKIM tokens."""
    setups = []
    for index in range(count):
        domain = f"d{index}.{ZONE}"
        tokens = [secrets.token_hex(16) for _ in range(3)]
        records = expected_records(
            domain=domain,
            region=REGION,
            mail_from_subdomain=MAIL_FROM,
            dkim_tokens=tokens,
            signing_hosted_zone=SIGNING_ZONE,
        )
        setups.append(RecheckSetup(domain, records))
    return setups


def _row(setup: RecheckSetup, index: int, now: datetime) -> tuple[Any, ...]:
    results = [
        {"verified": True, "status": "verified", "found": [r.record.lower()], "reason": None}
        for r in setup.records
    ]
    tokens = [r.address.split(".", 1)[0] for r in setup.records[:3]]
    created = now - timedelta(days=30)
    return (
        uuid.uuid4(),
        WORKSPACE,
        f"s7-{index:06d}",
        setup.domain,
        REGION,
        f"{MAIL_FROM}.{setup.domain}",
        "active",
        created,
        json.dumps(tokens),
        SIGNING_ZONE,
        json.dumps(["tenant", "identity", "association"]),
        True,
        json.dumps(results),
        created,
        created,
        created,
        now - timedelta(seconds=1),  # due
        60.0,
        True,
        created,
        True,
        "SUCCESS",
        "SUCCESS",
        now + timedelta(days=1),  # SES status: not due
    )


COLUMNS = (
    "id",
    "workspace_id",
    "tenant_name",
    "domain_identity",
    "region",
    "mail_from_domain",
    "state",
    "state_changed_at",
    "dkim_tokens",
    "signing_hosted_zone",
    "provisioning_steps",
    "dns_verified",
    "dns_results",
    "dns_checked_at",
    "created_at",
    "updated_at",
    "next_check_at",
    "check_interval",
    "announced_verified",
    "verified_at",
    "ses_verified_for_sending",
    "ses_dkim_status",
    "ses_mail_from_status",
    "ses_next_at",
)


async def seed(dsn: str, setups: list[RecheckSetup]) -> None:
    """S7's setups, due now; every other setup's re-check and SES refresh a day ahead."""
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE ses_setups SET next_check_at = now() + interval '1 day',"
            " ses_next_at = now() + interval '1 day'"
        )
        await connection.copy_records_to_table(
            "ses_setups",
            records=[_row(setup, index, now) for index, setup in enumerate(setups)],
            columns=COLUMNS,
        )
        await connection.execute("ANALYZE ses_setups")
    finally:
        await connection.close()


async def _make_due(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE ses_setups SET next_check_at = now() - interval '1 second',"
            " dns_checked_at = NULL, check_claimed_until = NULL WHERE workspace_id = $1",
            WORKSPACE,
        )
        await connection.execute("VACUUM ANALYZE ses_setups")
    finally:
        await connection.close()


@dataclass(frozen=True, slots=True)
class Progress:
    checked: int  # setups whose next check moved ahead
    complete: int  # of them, checks where every lookup was answered
    verified: int
    first: float | None  # the first and last check's time (dns_checked_at), Unix seconds
    last: float | None


async def _progress(dsn: str) -> Progress:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE next_check_at > now()) AS checked,"
            " count(dns_checked_at) AS complete,"
            " count(*) FILTER (WHERE dns_verified AND dns_checked_at IS NOT NULL) AS verified,"
            " extract(epoch FROM min(dns_checked_at))::float8 AS first,"
            " extract(epoch FROM max(dns_checked_at))::float8 AS last"
            " FROM ses_setups WHERE workspace_id = $1",
            WORKSPACE,
        )
    finally:
        await connection.close()
    return Progress(**dict(row))


def _wait_checked(dsn: str, count: int, *, until: Callable[[Progress], bool]) -> Progress:
    """Poll until `until(progress)`; a HarnessError when nothing moves for STALL_SECONDS."""
    moved = time.monotonic()
    last = -1
    while True:
        progress = asyncio.run(_progress(dsn))
        if until(progress):
            return progress
        if progress.checked != last:
            last, moved = progress.checked, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            return progress  # stalled: the exactly-once check says what is missing
        time.sleep(0.2)


@dataclass(frozen=True, slots=True)
class RecheckRun:
    """One run of re-checks: its rate, what the query log and the database say."""

    checks: int
    rate: float | None  # checks a second, first to last completion
    once: CheckCounts
    queries_per_setup: float
    complete: int
    verified: int
    list_load: LoadResult | None


@dataclass(frozen=True, slots=True)
class S7Result:
    setups: int
    baseline: RecheckRun
    calm: LoadResult
    one: RecheckRun
    two: RecheckRun


def _queries(setups: list[RecheckSetup]) -> dict[str, list[tuple[str, str]]]:
    return {
        setup.domain: list(dict.fromkeys((r.address.lower(), r.type) for r in setup.records))
        for setup in setups
    }


def _list_load(url: str, *, api_key: str, server_pid: int) -> LoadResult:
    return run_load(
        url=url,
        api_key=api_key,
        client="raw",
        concurrency=LIST_CONCURRENCY,
        warmup=1.0,
        duration=LIST_SECONDS,
        server_pid=server_pid,
        pace=LIST_PACE,
    )


def _say(text: str) -> None:
    print(f"bench: {text} ...", file=sys.stderr, flush=True)


class Rechecks:
    """S7's runs against one seeded database and one BIND."""

    def __init__(
        self,
        *,
        dsn: str,
        bind: Bind,
        setups: list[RecheckSetup],
        settings: WorkerSettings,
        list_url: str,
        api_key: str,
        service_pid: int,
        log_dir: Path,
        profile_dir: Path | None,
    ) -> None:
        self._dsn = dsn
        self._bind = bind
        self._setups = setups
        self._queries = _queries(setups)
        self._settings = settings
        self._list = {"url": list_url, "api_key": api_key, "server_pid": service_pid}
        self._log_dir = log_dir
        self._profile_dir = profile_dir

    def _judged(
        self, since: int, *, rate: float | None, progress: Progress, load: LoadResult | None
    ) -> RecheckRun:
        counts = self._bind.counts(since=since)
        return RecheckRun(
            checks=progress.checked,
            rate=rate,
            once=checks_per_setup(counts, self._queries),
            queries_per_setup=queries_per_setup(counts, self._queries, shared=[(SPF_ZONE, "TXT")]),
            complete=progress.complete,
            verified=progress.verified,
            list_load=load,
        )

    def baseline(self) -> RecheckRun:
        _say(f"S7, the baseline re-checking {len(self._setups)} setups")
        since = self._bind.log_size()
        result = run_baseline(
            "bench.recheck_baseline",
            f"--dsn={self._dsn}",
            f"--port={self._bind.port}",
            f"--workspace={WORKSPACE}",
            f"--concurrency={CLAIM_BATCH}",
            label="the S7 baseline",
        )
        if result["failures"]:
            raise HarnessError(f"the S7 baseline's checks failed: {result['failure_samples']}")
        progress = asyncio.run(_progress(self._dsn))
        rate = completion_rate(result["first_done"], result["last_done"], result["checks"])
        return self._judged(since, rate=rate, progress=progress, load=None)

    def calm(self) -> LoadResult:
        _say("S7, the list alone (calm)")
        return _list_load(**self._list)

    def workers(self, count: int) -> RecheckRun:
        total = len(self._setups)
        _say(f"S7, {count} worker(s) re-checking {total} setups")
        since = self._bind.log_size()
        label = f"s7-worker-x{count}"
        with workers(
            count,
            self._settings,
            log_dir=self._log_dir,
            label=label,
            profile_dir=self._profile_dir,
        ):
            # The list is measured once the burst is under way, not during start-up.
            _wait_checked(self._dsn, total, until=lambda p: p.checked >= min(total, 200))
            load = _list_load(**self._list)
            progress = _wait_checked(self._dsn, total, until=lambda p: p.checked >= total)
            time.sleep(0.5)  # a check stored after its next due time moved: let it finish
            progress = asyncio.run(_progress(self._dsn))
        rate = completion_rate(progress.first, progress.last, progress.complete)
        return self._judged(since, rate=rate, progress=progress, load=load)

    def run(self) -> S7Result:
        baseline = self.baseline()
        asyncio.run(_make_due(self._dsn))
        calm = self.calm()
        one = self.workers(1)
        asyncio.run(_make_due(self._dsn))
        two = self.workers(2)
        # Left checked (due in a day): S8's worker has no re-checks to do.
        return S7Result(len(self._setups), baseline, calm, one, two)
