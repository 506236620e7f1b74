"""Readiness: can this process serve from its database right now?"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from email_channels.single_flight import SingleFlight

logger = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0  # seconds; a load balancer probes often and must not queue probes
KEEP_SECONDS = 1.0  # how long one answer serves the probes that follow


class DatabaseProbe:
    """`SELECT 1` through the request pool, its answer kept for a second.

    Through the pool, because the pool is what requests use: a database out of connection
    slots for new sessions still serves this process while its pool holds connections, and
    a probe must not take a slot of its own. A pooled connection that died with the server
    is dropped by the pool on the failure, so the probe after it connects afresh. Concurrent
    probes share one query (single flight), and for a second after it they share its answer:
    any number of probes cost at most one connection and one query a second.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout: float = READINESS_TIMEOUT,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._engine = engine
        self._timeout = timeout
        self._keep_seconds = keep_seconds
        self._flight: SingleFlight[bool] = SingleFlight()
        self._answer = False
        self._answered_at = float("-inf")
        self.queries = 0  # how many probes asked the database (for tests and diagnostics)

    async def ready(self) -> bool:
        """True when the database answered `SELECT 1` within the timeout, at most a second ago."""
        if time.monotonic() - self._answered_at < self._keep_seconds:
            return self._answer
        return await self._flight.run("select-1", self._query)

    async def _query(self) -> bool:
        self.queries += 1
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            answer = True
        except Exception as error:
            logger.warning("readiness: the database did not answer: %r", error)
            answer = False
        self._answer, self._answered_at = answer, time.monotonic()
        return answer
