"""S7 and S8's side of the worker: the production command in processes of its own.

`email-channels worker` (the CLI, so bootstrap's `open_worker` builds it as in production),
configured through its environment: the bench database, BIND for DNS, loopback receivers
allowed. SES points at a closed loopback port: nothing in S7 or S8 is due at SES (the harness
moves every setup's SES refresh a day ahead), and the reconcile job's first sweep fails fast
and backs off. Expiry is off (UNVERIFIED_TTL=0): S1's seeded setups are up to a year old and
many never verified, and their teardowns are not what S7 measures. With `profile_dir`, py-spy
records each worker while it runs (raw folded stacks, `py-spy record -f raw`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import REPOSITORY, HarnessError, child_environment, stop_process
from email_channels.config import Settings, WorkerCpuPriority
from email_channels.worker.priority import lower_cpu_priority

CLI = REPOSITORY / ".venv" / "bin" / "email-channels"
PY_SPY_RATE = 250  # samples a second
# The workers run at the production default (WORKER_CPU_PRIORITY), and so do the baselines
# they are measured against (`run_at_worker_priority`): like the event loop, the CPU priority
# is the worker's deployment, not its work.
WORKER_PRIORITY: WorkerCpuPriority = Settings.model_fields["worker_cpu_priority"].default


def run_at_worker_priority() -> str:
    """A baseline process takes the workers' CPU priority; what was done."""
    return lower_cpu_priority(WORKER_PRIORITY)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    database_url: str
    dns_port: int
    ses_port: int  # closed: nothing is due at SES

    def environment(self) -> dict[str, str]:
        return child_environment(
            EMAIL_CHANNELS_DATABASE_URL=self.database_url,
            EMAIL_CHANNELS_SES_MODE="aws",
            EMAIL_CHANNELS_SES_ENDPOINT_URL=f"http://127.0.0.1:{self.ses_port}",
            EMAIL_CHANNELS_DNS_NAMESERVERS=f"127.0.0.1:{self.dns_port}",
            EMAIL_CHANNELS_DNS_AUTHORITATIVE_PORT=str(self.dns_port),
            EMAIL_CHANNELS_WEBHOOK_ALLOW_PRIVATE="true",
            EMAIL_CHANNELS_UNVERIFIED_TTL="0",
            EMAIL_CHANNELS_WORKER_CPU_PRIORITY=WORKER_PRIORITY.value,
        )


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(REPOSITORY / ".venv" / "bin" / "py-spy")
    if not Path(found).exists():
        raise HarnessError("py-spy is not installed (.venv/bin/pip install py-spy)")
    return found


@contextmanager
def workers(
    count: int,
    settings: WorkerSettings,
    *,
    log_dir: Path,
    label: str,
    profile_dir: Path | None = None,
) -> Iterator[list[int]]:
    """`count` worker processes until the block ends (SIGTERM, then SIGKILL); their pids."""
    processes: list[subprocess.Popen[bytes]] = []
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(count):
            with (log_dir / f"{label}-{number}.log").open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        [str(CLI), "worker"],
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        env=settings.environment(),
                        cwd=log_dir,
                    )
                )
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
            for number, process in enumerate(processes):
                profile = profile_dir / f"{label}-{number}.txt"
                profilers.append(
                    subprocess.Popen(
                        [
                            _py_spy(),
                            "record",
                            "--pid",
                            str(process.pid),
                            "--rate",
                            str(PY_SPY_RATE),
                            "--format",
                            "raw",
                            "--output",
                            str(profile),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        yield [process.pid for process in processes]
        for process in processes:
            if process.poll() is not None:
                raise HarnessError(f"a worker exited with {process.returncode} (see {log_dir})")
    finally:
        for profiler in profilers:  # SIGINT: py-spy writes its file and exits
            if profiler.poll() is None:
                os.kill(profiler.pid, signal.SIGINT)
        for process in processes:
            stop_process(process)
        for profiler in profilers:
            stop_process(profiler, deadline=20.0)
