"""The per-process moving window of `memory://`: `limits`' rule at O(1) per hit.

`limits`' memory storage keeps each key's hits in a list it prepends to (a copy of the whole
list per hit) and, on most hits, starts a task that hands a bisect to a thread: at the bench's
rates that was a tenth of a list answer's CPU, growing with the limit. Here a key's hits are a
queue of times, oldest first, trimmed as the window moves. The rule is the moving window's:
at most `limit` accepted hits in any WINDOW_SECONDS (a hit exactly a window old still counts),
`remaining` is the limit less the hits in the window, the reset is when the oldest of them
leaves it. (`limits` expires old hits lazily, in that background task, so right after a long
pause it could refuse a hit while reporting hits remaining; this window cannot.)
"""

from __future__ import annotations

import time
from array import array

WINDOW_SECONDS = 60
SWEEP_EVERY = 10_000  # hits between sweeps of keys that went quiet (bounds memory)
_SMALLEST = 16  # slots of a queue of times


class _Times:
    """A key's hit times, oldest first: a ring of C doubles, not one float object per hit.

    At the bench's rates a key holds about 100,000 hits (a minute of them). As a deque of
    floats that was 32 bytes a hit, in small objects that the allocator spread over its
    arenas; later bursts' arenas then stayed pinned by those few floats (bench/README.md,
    S5). Here a hit is 8 bytes in one buffer that grows and shrinks by halves.
    """

    __slots__ = ("_count", "_ring", "_start")

    def __init__(self) -> None:
        self._ring = array("d", bytes(8 * _SMALLEST))
        self._start = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def oldest(self) -> float:
        return self._ring[self._start]

    def newest(self) -> float:
        return self._ring[(self._start + self._count - 1) % len(self._ring)]

    def append(self, moment: float) -> None:
        if self._count == len(self._ring):
            self._resize(2 * len(self._ring))
        self._ring[(self._start + self._count) % len(self._ring)] = moment
        self._count += 1

    def drop_before(self, cutoff: float) -> None:
        """Forget the hits older than `cutoff`."""
        ring, size = self._ring, len(self._ring)
        while self._count and ring[self._start] < cutoff:
            self._start = (self._start + 1) % size
            self._count -= 1
        if size > _SMALLEST and self._count <= size // 4:
            self._resize(size // 2)

    def _resize(self, size: int) -> None:
        ring, start, count = self._ring, self._start, self._count
        ordered = (ring[start:] + ring[:start])[:count] if count else array("d")
        self._ring = ordered + array("d", bytes(8 * (size - count)))
        self._start = 0


class MemoryMovingWindow:
    """At most `limit` hits per key in any WINDOW_SECONDS; one process's counts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._hits: dict[str, _Times] = {}
        self._until_sweep = SWEEP_EVERY

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Count a hit now: (allowed, remaining, reset time as a Unix time)."""
        now = time.time()
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = _Times()
        hits.drop_before(now - WINDOW_SECONDS)
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        start = hits.oldest() if hits else now
        return allowed, max(0, self.limit - len(hits)), start + WINDOW_SECONDS

    def _sweep(self, now: float) -> None:
        self._until_sweep = SWEEP_EVERY
        cutoff = now - WINDOW_SECONDS
        for key in [key for key, hits in self._hits.items() if not hits or hits.newest() < cutoff]:
            del self._hits[key]
