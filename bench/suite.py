"""S2-S6 against the running service, and the table of all targets (S1 included).

One pass is S2, S3 and S4 in turn; the harness runs it twice around S6 and reads the
service's resident memory after each (S5): the second pass must not make it grow.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from bench.processes import RunningServer, run_load
from bench.report import Report
from bench.scenarios import (
    DNS_DELAY,
    SES_DELAY,
    Latencies,
    ScaleResult,
    Setups,
    SlowReads,
    create_latencies,
    creates_in_rounds,
    detail_latencies,
    resident_mb,
)
from bench.targets import Target

S5_RESIDENT_MB = 120.0
S5_GROWTH_MB = 2.0


@dataclass(frozen=True, slots=True)
class Pass:
    """One pass of S2-S4 and the service's memory after it."""

    detail: Latencies
    create: Latencies
    list_p99_ms: float | None
    list_p99_with_slow_reads_ms: float | None
    slow_reads_answered: int
    slow_reads_failed: int
    slow_reads_cpu: float  # the reads' client thread: its CPU over its lifetime, 1.0 = a core
    resident_mb: float | None


def _say(text: str, service: RunningServer) -> None:
    resident = resident_mb(service.pid)
    print(f"bench: {text} ... (service: {resident or 0:.1f} MB)", file=sys.stderr, flush=True)


def one_pass(
    service: RunningServer, *, setups: Setups, sandbox_url: str, seeded: Any, args: Any
) -> Pass:
    """S2, S3 and S4 against `service`."""
    base = f"{service.url}/v1/{seeded.workspace_id}/channels/ses-setup"
    _say("S2, detail with 50 ms DNS", service)
    detail = detail_latencies(
        base, setup_id=setups.verified_id, api_key=seeded.api_key, requests=args.s2_requests
    )
    _say("S3, create with 100 ms SES", service)
    create = create_latencies(
        base, sandbox_url=sandbox_url, api_key=seeded.admin_key, creates=args.s3_creates
    )
    load: dict[str, Any] = {
        "url": f"{base}?limit=20",
        "api_key": seeded.api_key,
        "client": args.client,
        "concurrency": args.s4_concurrency,
        "warmup": 1.0,
        "duration": args.s4_duration,
        "server_pid": service.pid,
    }
    _say("S4, the list alone", service)
    alone = run_load(**load)
    _say(f"S4, the list beside {len(setups.silent_ids)} reads waiting on silent DNS", service)
    with SlowReads(base, setup_ids=setups.silent_ids, api_key=seeded.api_key) as slow:
        beside = run_load(**load)
    return Pass(
        detail=detail,
        create=create,
        list_p99_ms=alone.p99_ms,
        list_p99_with_slow_reads_ms=beside.p99_ms,
        slow_reads_answered=slow.answered,
        slow_reads_failed=slow.failed,
        slow_reads_cpu=slow.cpu_seconds / slow.seconds if slow.seconds else 0.0,
        resident_mb=resident_mb(service.pid),
    )


def scale(
    service: RunningServer, empty_service: RunningServer, *, seeded: Any, args: Any
) -> ScaleResult:
    """S6: rounds through the service on the seeded sandbox and its twin on an empty one."""
    _say(
        f"S6, {args.s6_creates} creates, {args.s6_concurrency} at a time, in rounds of"
        f" {args.s6_round} alternating with a twin on an empty sandbox",
        service,
    )
    path = f"/v1/{seeded.workspace_id}/channels/ses-setup"
    return creates_in_rounds(
        full=service.url + path,
        empty=empty_service.url + path,
        api_key=seeded.admin_key,
        creates=args.s6_creates,
        concurrency=args.s6_concurrency,
        round_size=args.s6_round,
    )


def _errors(latencies: Latencies) -> str:
    return f"{len(latencies.errors)} errors ({latencies.errors[0]})" if latencies.errors else ""


def s2_targets(detail: Latencies, *, first_check_rounds: int | None) -> list[Target]:
    """S2, and S9: the round trips of the first check (the first GET of S2's setup)."""
    return [
        Target(
            "S2",
            "detail p50, 50 ms added to each DNS answer",
            detail.p50_ms,
            1.2 * DNS_DELAY * 1000,
            "ms",
            note=_errors(detail),
        ),
        Target(
            "S9",
            "first check in an unknown zone: round trips before its records",
            None if first_check_rounds is None else float(first_check_rounds),
            3.0,
            "",
            note="counted at the DNS server",
        ),
    ]


def targets(
    report: Report,
    *,
    first: Pass,
    second: Pass | None,
    s6: ScaleResult,
    args: Any,
    first_check_rounds: int | None = None,
) -> list[Target]:
    """Every target of DESIGN.md section 6 with this run's figures."""
    rows: list[Target] = []
    for page in ("first", "deep"):
        ratios = report.ratios().get(page, {})
        rows.append(
            Target(
                "S1",
                f"list {page} page: req/s over baseline's",
                ratios.get("throughput"),
                0.8,
                "x",
                at_least=True,
            )
        )
        rows.append(
            Target(
                "S1",
                f"list {page} page: CPU/req over baseline's",
                ratios.get("cpu_per_request"),
                1.5,
                "x",
            )
        )
    first_p50, deep_p50 = report.side_by_side_p50s()
    if deep_p50 is not None:
        rows.append(
            Target(
                "S1b",
                "deep page p50 latency, beside the first page",
                deep_p50,
                first_p50 * 1.1 if first_p50 else None,
                "ms",
                note=f"limit: 1.1 x first page ({first_p50:.2f} ms)" if first_p50 else "",
            )
        )
    rows += s2_targets(first.detail, first_check_rounds=first_check_rounds)
    rows.append(
        Target(
            "S3",
            "create p50, 100 ms added to each SES call",
            first.create.p50_ms,
            2.2 * SES_DELAY * 1000,
            "ms",
            note=_errors(first.create),
        )
    )
    alone = first.list_p99_ms
    rows.append(
        Target(
            "S4",
            "list p99 beside 200 reads on silent DNS",
            first.list_p99_with_slow_reads_ms,
            alone * 1.5 if alone else None,
            "ms",
            note=(f"limit: 1.5 x p99 alone ({alone:.1f} ms); " if alone else "")
            + f"reads {first.slow_reads_answered} answered, {first.slow_reads_failed} failed,"
            f" their client {first.slow_reads_cpu:.0%} CPU",
        )
    )
    last = second or first
    rows.append(
        Target(
            "S5",
            "API process resident memory after the run",
            last.resident_mb,
            S5_RESIDENT_MB,
            "MB",
        )
    )
    if second is not None and first.resident_mb and second.resident_mb:
        rows.append(
            Target(
                "S5",
                "growth over a second identical pass",
                max(second.resident_mb - first.resident_mb, 0.0),
                S5_GROWTH_MB,
                "MB",
                note=f"{first.resident_mb:.1f} -> {second.resident_mb:.1f} MB",
            )
        )
    rows.append(
        Target(
            "S6",
            f"errors in {args.s6_creates} creates, sandbox holding {args.s6_seed}",
            float(s6.errors),
            0.0,
            "count",
            note="; ".join(s6.error_samples[:2]),
        )
    )
    rows.append(
        Target(
            "S6",
            f"create p50, sandbox of {args.s6_seed} over an empty one",
            s6.full_p50_ms,
            1.1 * s6.empty_p50_ms if s6.empty_p50_ms else None,
            "ms",
            note=(f"limit: 1.1 x empty ({s6.empty_p50_ms:.1f} ms); " if s6.empty_p50_ms else "")
            + f"{s6.seconds:.0f} s in all"
            + (f"; their client {s6.client_cpu:.0%} CPU" if s6.client_cpu is not None else "")
            + f"; p50 by round of {args.s6_round} (full, empty, ...): "
            + " ".join(f"{p50:.0f}" for p50 in s6.round_p50s_ms),
        )
    )
    return rows
