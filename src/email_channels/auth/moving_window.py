"""The per-process moving window of `memory://`: `limits`' rule at O(1) per hit.

`limits`' memory storage keeps each key's hits in a list it prepends to (a copy of the whole
list per hit) and, on most hits, starts a task that hands a bisect to a thread: at the bench's
rates that was a tenth of a list answer's CPU, growing with the limit. Here a key's hits are a
deque of times, oldest first, trimmed as the window moves. The rule is the moving window's:
at most `limit` accepted hits in any WINDOW_SECONDS (a hit exactly a window old still counts),
`remaining` is the limit less the hits in the window, the reset is when the oldest of them
leaves it. (`limits` expires old hits lazily, in that background task, so right after a long
pause it could refuse a hit while reporting hits remaining; this window cannot.)
"""

from __future__ import annotations

import time
from collections import deque

WINDOW_SECONDS = 60
SWEEP_EVERY = 10_000  # hits between sweeps of keys that went quiet (bounds memory)


class MemoryMovingWindow:
    """At most `limit` hits per key in any WINDOW_SECONDS; one process's counts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}
        self._until_sweep = SWEEP_EVERY

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Count a hit now: (allowed, remaining, reset time as a Unix time)."""
        now = time.time()
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        cutoff = now - WINDOW_SECONDS
        while hits and hits[0] < cutoff:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        start = hits[0] if hits else now
        return allowed, max(0, self.limit - len(hits)), start + WINDOW_SECONDS

    def _sweep(self, now: float) -> None:
        self._until_sweep = SWEEP_EVERY
        cutoff = now - WINDOW_SECONDS
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] < cutoff]:
            del self._hits[key]
