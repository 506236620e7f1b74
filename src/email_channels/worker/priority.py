"""The worker's CPU priority: background work yields the CPU to the API beside it.

A worker re-checking thousands of due setups, or delivering a burst of events, keeps a core
busy for minutes. On a host it shares with API processes and their database, a normal
priority makes the API's requests wait behind it: the scheduler lets a busy process finish
its time slice before a request that just woke up gets the core (bench/README.md, S7: the
list's p99 doubled during a burst). Linux's `SCHED_IDLE` policy says what the worker is:
work for the cycles nobody else wants. Any other process that wakes takes the core at
once; with the host otherwise idle the worker runs as fast as before. Set on the process's
main thread before it starts any other, so every thread it starts inherits it.
"""

from __future__ import annotations

import os

from email_channels.config import WorkerCpuPriority


def lower_cpu_priority(priority: WorkerCpuPriority) -> str:
    """Apply `priority` to the calling thread (and the threads it starts); what was done."""
    if priority is WorkerCpuPriority.NORMAL:
        return "normal CPU priority (WORKER_CPU_PRIORITY=normal)"
    set_policy = getattr(os, "sched_setscheduler", None)
    idle = getattr(os, "SCHED_IDLE", None)
    if set_policy is None or idle is None:
        return "normal CPU priority: this platform has no SCHED_IDLE"
    try:
        set_policy(0, idle, os.sched_param(0))
    except OSError as error:  # a sandbox that forbids it: run as before, and say so
        return f"normal CPU priority: SCHED_IDLE was refused ({error.strerror})"
    return "idle CPU priority (SCHED_IDLE): the API and anything else on this host go first"
