"""`python -m bench.drift`: how far this machine's own speed moves from one window to another.

S6 compares two windows of the same work, the first 500 creates and the last 500, a few
seconds apart. On a shared virtual machine the same work does not always take the same CPU
time: the host's other tenants, its caches and its clock move it from one few seconds to the
next. This measures that drift with nothing of ours running: one process pinned to each CPU
does a fixed piece of work (JSON, dicts, strings) every `--interval` seconds and records the
CPU time it took; then every pair of windows `--gap` seconds apart (start to start),
`--window` seconds long, gives the later window's mean over the earlier's. Above 1.0: the
same work was slower later. Run it on an otherwise idle machine; the defaults are S6's
windows on the machines of bench/README.md (about 4.5 s each, the last starting about 13.5 s
after the first).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection

from bench.load import percentile

Sample = tuple[float, float]  # (monotonic seconds, CPU seconds the fixed work took)


# The kind of work an API process does, not a tight loop that lives in the CPU's first-level
# cache: a JSON answer of 120 records built, dumped, parsed, indexed and sorted (about 1.5 ms).
_DOCUMENT = [
    {
        "id": f"{i:08d}",
        "name": "x" * (i % 40),
        "records": [{"type": "CNAME", "value": str(j) * 10} for j in range(5)],
    }
    for i in range(120)
]


def _fixed_work() -> list[str]:
    parsed = json.loads(json.dumps(_DOCUMENT))
    by_id = {record["id"]: record for record in parsed}
    return sorted(by_id)[:3]


def _probe(cpu: int | None, seconds: float, interval: float, out: Connection) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    samples: list[Sample] = []
    end = time.monotonic() + seconds
    while (now := time.monotonic()) < end:
        before = time.thread_time()
        _fixed_work()
        samples.append((now, time.thread_time() - before))
        time.sleep(interval)
    out.send(samples)
    out.close()


def probe(cpus: Sequence[int | None], *, seconds: float, interval: float) -> list[list[Sample]]:
    """One probe process per entry of `cpus` (None: not pinned), all at once; their samples."""
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for cpu in cpus:
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_probe, args=(cpu, seconds, interval, sending))
        process.start()
        sending.close()
        pipes.append(receiving)
        processes.append(process)
    try:
        return [pipe.recv() for pipe in pipes]
    except EOFError:  # a probe died before sending (its traceback is on standard error)
        raise RuntimeError("a probe process stopped before it finished") from None
    finally:
        for process in processes:
            process.join()


def _mean_between(samples: Sequence[Sample], start: float, end: float) -> float | None:
    inside = [cost for at, cost in samples if start <= at < end]
    return sum(inside) / len(inside) if inside else None


def window_ratios(
    samples: Sequence[Sample], *, window: float, gap: float, step: float = 1.0
) -> list[float]:
    """The mean cost in each window `gap` seconds after another over that other's, every
    `step` seconds along the samples."""
    if not samples:
        return []
    first, last = samples[0][0], samples[-1][0]
    ratios: list[float] = []
    start = first
    while start + gap + window <= last:
        earlier = _mean_between(samples, start, start + window)
        later = _mean_between(samples, start + gap, start + gap + window)
        if earlier and later is not None:
            ratios.append(later / earlier)
        start += step
    return ratios


def describe(ratios: Sequence[float]) -> str:
    ordered = sorted(ratios)
    if not ordered:
        return "no pair of windows (run longer than --gap plus --window)"
    p10, p50, p90 = (percentile(ordered, q) or 0.0 for q in (0.1, 0.5, 0.9))
    above = sum(r > 1.0 for r in ordered) / len(ordered)
    well_above = sum(r > 1.05 for r in ordered) / len(ordered)
    return (
        f"{len(ordered)} pairs: p10 {p10:.3f}  p50 {p50:.3f}  p90 {p90:.3f}  "
        f"later slower: {above:.0%} of pairs, by more than 5%: {well_above:.0%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0, help="how long to probe (180)")
    parser.add_argument("--window", type=float, default=4.5, help="window length, s (4.5)")
    parser.add_argument("--gap", type=float, default=13.5, help="start to start, s (13.5)")
    parser.add_argument("--interval", type=float, default=0.05, help="between probes, s (0.05)")
    args = parser.parse_args(argv)
    if min(args.seconds, args.window, args.gap, args.interval) <= 0:
        parser.error("every duration must be above zero")
    pinnable = hasattr(os, "sched_getaffinity")
    cpus: list[int | None] = [*sorted(os.sched_getaffinity(0))] if pinnable else [None]
    print(
        f"probing {len(cpus)} CPU(s) for {args.seconds:.0f} s; windows of {args.window} s, "
        f"{args.gap} s apart",
        file=sys.stderr,
    )
    try:
        results = probe(cpus, seconds=args.seconds, interval=args.interval)
    except RuntimeError as error:
        print(f"bench.drift: {error}", file=sys.stderr)
        return 1
    for cpu, samples in zip(cpus, results, strict=True):
        costs = sorted(cost for _, cost in samples)
        median = (percentile(costs, 0.5) or 0.0) * 1e6
        name = "unpinned" if cpu is None else f"CPU {cpu}"
        ratios = window_ratios(samples, window=args.window, gap=args.gap)
        print(f"{name}: fixed work {median:.0f} us at p50; {describe(ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
