"""`python -m bench`: the list endpoint under load, against raw asyncpg on the same query.

Creates a fresh PostgreSQL database, builds it with the real migrations, seeds it, serves the
real app and then the baseline (each in its own process, on a free loopback port), loads each
from a separate load generator process, prints a table, and drops the database. It exits
non-zero only when the measurement could not be made; slow numbers are numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.database import database_url, drop_database, new_database_name, prepare_database
from bench.first_check import QUERY_LOG, first_check_round_trips
from bench.load import LoadResult
from bench.processes import (
    HarnessError,
    RunningServer,
    closed_loopback_port,
    run_load,
    serving,
)
from bench.report import Measurement, Report, render_table, write_json
from bench.scenarios import DNS_DELAY, detail_latencies, pick_setups, resident_mb
from bench.suite import one_pass, s2_targets, scale, targets
from bench.targets import Target, render_targets
from bench.upstreams import delayed_dns, sandbox, seed_sandbox
from bench.worker_suite import run_worker_scenarios

LIMIT = 20


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above zero: {text}")
        return value

    return parse


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The SES setup list under load: the service against raw asyncpg.",
    )
    parser.add_argument(
        "--setups",
        type=_positive(int),
        default=1000,
        help="setups in the measured workspace (default 1000; others get half as many each)",
    )
    parser.add_argument(
        "--concurrency", type=_positive(int), default=32, help="requests in flight (default 32)"
    )
    parser.add_argument(
        "--duration", type=_positive(float), default=10.0, help="measured seconds per run (10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each run (2)"
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator client: raw HTTP/1.1 (default) or a shared httpx.AsyncClient",
    )
    parser.add_argument("--s2-requests", type=_positive(int), default=30, help="S2 GETs (30)")
    parser.add_argument("--s3-creates", type=_positive(int), default=15, help="S3 creates (15)")
    parser.add_argument(
        "--s4-duration", type=_positive(float), default=10.0, help="S4 seconds per list run (10)"
    )
    parser.add_argument(
        "--s4-concurrency", type=_positive(int), default=8, help="S4 lists in flight (8)"
    )
    parser.add_argument(
        "--s4-reads", type=_positive(int), default=200, help="S4 reads on silent DNS (200)"
    )
    parser.add_argument(
        "--s6-seed", type=_positive(int), default=10_000, help="S6 setups in the sandbox (10000)"
    )
    parser.add_argument("--s6-creates", type=_positive(int), default=2000, help="S6 creates (2000)")
    parser.add_argument(
        "--s6-concurrency", type=_positive(int), default=16, help="S6 creates in flight (16)"
    )
    parser.add_argument(
        "--s6-round",
        type=_positive(int),
        default=100,
        help="S6 creates per round, alternating full and empty sandbox (100)",
    )
    parser.add_argument("--single-pass", action="store_true", help="skip S5's second pass of S2-S4")
    parser.add_argument(
        "--only-s2",
        action="store_true",
        help="run S2 and S9 alone (the DNS check's targets), nothing else",
    )
    parser.add_argument(
        "--only-worker",
        action="store_true",
        help="run S7 and S8 alone (the worker's targets), beside the service, nothing else",
    )
    parser.add_argument(
        "--s7-setups", type=_positive(int), default=20_000, help="S7 due setups (20000)"
    )
    parser.add_argument(
        "--s8-events", type=_positive(int), default=10_000, help="S8 events (10000)"
    )
    parser.add_argument(
        "--s8-receivers", type=_positive(int), default=10, help="S8 webhooks and receivers (10)"
    )
    parser.add_argument(
        "--worker-profile",
        type=Path,
        metavar="DIR",
        help="record each S7/S8 worker with py-spy (raw folded stacks) into DIR",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the log folder (BIND's query log, ...)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.only_worker and args.only_s2:
        parser.error("--only-worker and --only-s2 each run alone: pick one")
    return args


def _list_path(workspace_id: str) -> str:
    return f"/v1/{workspace_id}/channels/ses-setup?limit={LIMIT}"


def _fetch(client: httpx.Client, url: str) -> bytes:
    response = client.get(url)
    if response.status_code != 200:
        raise HarnessError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return response.content


def _deep_token(client: httpx.Client, first_url: str, *, setups: int) -> tuple[str | None, int]:
    """The token of the page about half-way through the list, and that page's number."""
    pages = -(-setups // LIMIT)
    target = max(2, pages // 2 + 1) if pages > 1 else 1
    token: str | None = None
    for _ in range(target - 1):
        url = first_url if token is None else f"{first_url}&continuation_token={token}"
        token = json.loads(_fetch(client, url))["continuation_token"]
        if token is None:
            return None, 1
    return token, target


def _s1_load(url: str | list[str], server: RunningServer, *, api_key: str, args: Any) -> LoadResult:
    """One S1 run against `server`, with the command line's client, concurrency and times."""
    return run_load(
        url=url,
        api_key=api_key,
        client=args.client,
        concurrency=args.concurrency,
        warmup=args.warmup,
        duration=args.duration,
        server_pid=server.pid,
    )


def _measure(
    report: Report, server: RunningServer, page: str, url: str, *, api_key: str, args: Any
) -> None:
    load_before = os.getloadavg()[0]
    print(f"bench: loading {server.kind}, {page} page ...", file=sys.stderr, flush=True)
    result = _s1_load(url, server, api_key=api_key, args=args)
    report.measurements.append(
        Measurement(server=server.kind, page=page, load_before=load_before, result=result)
    )


def run(args: argparse.Namespace, *, name: str, log_dir: Path) -> tuple[Report, list[Target]]:
    """Seed; serve the service and the baseline side by side; load them in turn; then S2-S6.

    The S1 runs alternate (service, baseline; page by page) so that a change in the load of a
    shared machine falls on both sides of a ratio rather than on one.
    """
    print(f"bench: seeding {name} ...", file=sys.stderr, flush=True)
    seeded = prepare_database(name, setups=args.setups)
    dsn = database_url(name).replace("postgresql+asyncpg://", "postgresql://", 1)
    setups = asyncio.run(pick_setups(dsn, workspace_id=seeded.workspace_id, silent=args.s4_reads))
    # The emulator holds the full seed; its quota, like an SES account's raised on request, has
    # room for the run's creates on top (S3's in both passes, S6's), and no more.
    quota = args.s6_seed + args.s6_creates + 2 * args.s3_creates
    print(f"bench: seeding the sandbox with {args.s6_seed} setups ...", file=sys.stderr)
    sandbox_state = log_dir / "sandbox.sqlite3"
    seed_sandbox(sandbox_state, setups=1 if args.only_s2 else args.s6_seed)
    first = _list_path(seeded.workspace_id)
    server_lifetime = 6 * (args.warmup + args.duration) + 1800.0
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    with (
        delayed_dns(
            setups.verified_records, delay=DNS_DELAY, log_dir=log_dir, max_seconds=server_lifetime
        ) as dns_port,
        sandbox(sandbox_state, quota=quota, log_dir=log_dir) as sandbox_url,
        httpx.Client(headers=headers, timeout=10) as client,
    ):
        common: dict[str, Any] = {
            "database_url": database_url(name),
            "ses_endpoint_url": sandbox_url,
            "dns_port": dns_port,
            "max_seconds": server_lifetime,
            "log_dir": log_dir,
        }
        with serving("service", **common) as service, serving("baseline", **common) as baseline:
            token, deep_number = _deep_token(client, service.url + first, setups=args.setups)
            paths = {"first": first}
            if token is not None:
                paths["deep"] = f"{first}&continuation_token={token}"
            for page, path in paths.items():
                # Byte for byte: the same JSON, the same key order, the same number formats.
                if _fetch(client, baseline.url + path) != _fetch(client, service.url + path):
                    raise HarnessError(f"the baseline's {page} page differs from the service's")
            report = Report(
                client=args.client,
                setups=seeded.setups,
                other_setups=seeded.other_setups,
                concurrency=args.concurrency,
                warmup=args.warmup,
                duration=args.duration,
                deep_page_number=deep_number if token is not None else None,
            )
            if args.only_s2:
                print("bench: S2 alone, detail with 50 ms DNS ...", file=sys.stderr, flush=True)
                detail = detail_latencies(
                    f"{service.url}/v1/{seeded.workspace_id}/channels/ses-setup",
                    setup_id=setups.verified_id,
                    api_key=seeded.api_key,
                    requests=args.s2_requests,
                )
                rounds = first_check_round_trips(log_dir / QUERY_LOG, delay=DNS_DELAY)
                return report, s2_targets(detail, first_check_rounds=rounds)
            for page, path in paths.items():
                for server in (service, baseline):
                    _measure(
                        report, server, page, server.url + path, api_key=seeded.api_key, args=args
                    )
            if "deep" in paths:
                # S1b compares two latencies: measured in one run, under the same load at the
                # same moments, not ten seconds and another server's run apart.
                print(
                    "bench: loading service, first and deep page side by side ...", file=sys.stderr
                )
                report.side_by_side = _s1_load(
                    [service.url + paths["first"], service.url + paths["deep"]],
                    service,
                    api_key=seeded.api_key,
                    args=args,
                )
            suite: dict[str, Any] = {"setups": setups, "seeded": seeded, "args": args}
            first_pass = one_pass(service, sandbox_url=sandbox_url, **suite)
            # S6's other side: a twin of the service on the same database, against an emulator
            # that holds nothing, so that the machine's drift falls on both sides of the ratio.
            with (
                sandbox(
                    log_dir / "sandbox-empty.sqlite3",
                    quota=args.s6_creates,
                    log_dir=log_dir,
                    label="sandbox-empty",
                ) as empty_url,
                serving(
                    "service", **(common | {"ses_endpoint_url": empty_url}), label="service-empty"
                ) as twin,
            ):
                s6 = scale(service, twin, seeded=seeded, args=args)
            second_pass = None
            if not args.single_pass:
                first_pass = replace(first_pass, resident_mb=resident_mb(service.pid))
                second_pass = one_pass(service, sandbox_url=sandbox_url, **suite)
            # After S5's reading: the background work at scale, beside the same service.
            worker_rows = run_worker_scenarios(
                database_url=database_url(name),
                service=service,
                list_path=first,
                api_key=seeded.api_key,
                args=args,
                log_dir=log_dir,
                max_seconds=server_lifetime,
            )
    rounds = first_check_round_trips(log_dir / QUERY_LOG, delay=DNS_DELAY)
    rows = targets(
        report, first=first_pass, second=second_pass, s6=s6, args=args, first_check_rounds=rounds
    )
    return report, rows + worker_rows


def run_only_worker(args: argparse.Namespace, *, name: str, log_dir: Path) -> list[Target]:
    """S7 and S8 alone: the database seeded as for S1, the service for S7's list."""
    print(f"bench: seeding {name} ...", file=sys.stderr, flush=True)
    seeded = prepare_database(name, setups=args.setups)
    lifetime = 1800.0
    with (
        closed_loopback_port() as ses_port,
        serving(
            "service",
            database_url=database_url(name),
            ses_endpoint_url=f"http://127.0.0.1:{ses_port}",
            max_seconds=lifetime,
            log_dir=log_dir,
        ) as service,
    ):
        return run_worker_scenarios(
            database_url=database_url(name),
            service=service,
            list_path=_list_path(seeded.workspace_id),
            api_key=seeded.api_key,
            args=args,
            log_dir=log_dir,
            max_seconds=lifetime,
        )


def _interrupt(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    name = new_database_name()
    log_dir = Path(tempfile.mkdtemp(prefix="email-channels-bench-"))
    failed = True
    try:
        if args.only_worker:
            report, rows = None, run_only_worker(args, name=name, log_dir=log_dir)
        else:
            report, rows = run(args, name=name, log_dir=log_dir)
            print(render_table(report))
            print()
        print(render_targets(rows))
        if args.json is not None:
            write_json(report, args.json, targets=[row.as_json() for row in rows])
        broken = [row for row in rows if row.must_hold and row.met is not True]
        for row in broken:
            print(f"bench: FAILED: {row.name} {row.what}: {row.note}", file=sys.stderr)
        failed = bool(broken)
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
    except (OSError, httpx.HTTPError) as error:
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
    finally:
        try:
            asyncio.run(drop_database(name))
        except Exception as error:  # the database may be unreachable: say so, keep going
            print(f"bench: could not drop database {name}: {error}", file=sys.stderr)
            failed = True
        if failed or args.keep_logs:
            print(f"bench: server logs kept in {log_dir}", file=sys.stderr)
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
