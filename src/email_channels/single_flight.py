"""Single flight: concurrent callers with the same key share one run of the work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Per process: the first caller of a key runs the work, the others await its result."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[T]] = {}
        self._callers: dict[Hashable, int] = {}

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        self._callers[key] = self._callers.get(key, 0) + 1
        try:
            # A caller that gives up (client gone) must not cancel the others' shared work.
            return await asyncio.shield(flight)
        finally:
            self._callers[key] -= 1
            if not self._callers[key]:
                del self._callers[key]

    def callers(self, key: Hashable) -> int:
        """How many callers are waiting on the flight of `key` now."""
        return self._callers.get(key, 0)

    def _land(self, key: Hashable, flight: asyncio.Future[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    def __len__(self) -> int:
        return len(self._flights)
