"""Pacing: at most a given number of calls per second, a backlog waiting its turn."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """At most `rate` calls per second from this process: a backlog waits, it never bursts."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next call may start (each caller gets its own slot)."""
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.gap
        if start > now:
            await asyncio.sleep(start - now)
