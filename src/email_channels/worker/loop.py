"""The worker loop: runs each job again and again; knows nothing of SES, DNS or HTTP.

Each job is a plain async function answering how many pieces of work it did: when it did
some, it runs again at once (more may be due); when it did none, it waits its interval; when
it fails, it backs off (doubling, up to a cap). The work lives in the database (due times and
claims on rows), so any number of workers share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Job:
    """One kind of background work."""

    name: str
    run: Callable[[], Awaitable[int]]
    every: float  # seconds to wait when there was nothing to do


class Worker:
    """Runs jobs until `stop()`: the piece in hand finishes, then each job ends."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = list(jobs)
        self._stopping = asyncio.Event()

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The jobs this worker runs."""
        return tuple(self._jobs)

    def stop(self) -> None:
        """Ask every job to end after the piece in hand (SIGTERM)."""
        self._stopping.set()

    async def run(self) -> None:
        """Run every job concurrently until stopped."""
        async with asyncio.TaskGroup() as group:
            for job in self._jobs:
                group.create_task(self._run_job(job), name=f"worker:{job.name}")

    async def _run_job(self, job: Job) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                # Never cancelled by stop(): the piece in hand is finished, not abandoned.
                done = await job.run()
                failures = 0
                pause = 0.0 if done else job.every
            except Exception:
                failures += 1
                pause = min(job.every * 2**failures, MAX_BACKOFF_SECONDS)
                logger.exception("worker job %s failed; next try in %.1f s", job.name, pause)
            if pause > 0:
                await self._sleep(pause)
            else:
                await asyncio.sleep(0)  # let the other jobs and the API run

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
