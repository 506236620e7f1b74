"""Readiness: can this process reach its database right now?"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0  # seconds; a load balancer probes often and must not queue probes


class DatabaseProbe:
    """`SELECT 1` on a fresh connection each time.

    Not through the request pool: a pooled connection that died with the server would fail the
    probe once more after the server came back, and a pool exhausted by slow requests would make
    a healthy database look down. A new connection answers exactly "is it reachable now".
    """

    def __init__(self, database_url: str, *, timeout: float = READINESS_TIMEOUT) -> None:
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self._timeout = timeout

    async def ready(self) -> bool:
        """True when the database answered `SELECT 1` within the timeout."""
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            logger.warning("readiness: the database did not answer: %r", error)
            return False
        return True

    async def close(self) -> None:
        await self._engine.dispose()
