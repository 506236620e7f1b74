"""The driver's own pool for the hottest statements on PostgreSQL.

The list and the key lookup run on every request. Through SQLAlchemy each execution pays for
a Connection object, the compiled-statement cache lookup and result processing, which the
profile in bench/README.md puts at about a third of a list's CPU. Here the same SQL runs on
asyncpg directly, as a prepared statement (asyncpg keeps one per connection and statement
text). So do the single-statement writes of the hot paths (storing a read's DNS check);
everything else, every transaction above all, stays on SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, make_url

DRIVER_NAME = "postgresql+asyncpg"


def driver_dsn(database_url: str | URL) -> str | None:
    """The plain asyncpg DSN of a PostgreSQL URL; None for any other database."""
    url = make_url(database_url)
    if url.drivername != DRIVER_NAME:
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _keep_session(_: Any) -> None:
    """Release without asyncpg's reset statement: a round trip per query saved.

    The reset (unlock advisory locks, close cursors, UNLISTEN, RESET ALL) undoes session state;
    the statements run here are single statements in autocommit that leave none.
    """


class DriverPool:
    """A small asyncpg pool; built and closed in the app's lifespan."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, *, size: int) -> DriverPool:
        """Up to `size` connections, opened as load needs them (one up front)."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_keep_session)
        return cls(pool)

    async def fetch(self, sql: str, *args: Any) -> Sequence[Any]:
        """All rows of one statement (asyncpg Records: mapping and index access)."""
        rows: Sequence[Any] = await self._pool.fetch(sql, *args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """The first row of one statement, or None."""
        return await self._pool.fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        """One statement in autocommit; its status tag (e.g. "UPDATE 1")."""
        status: str = await self._pool.execute(sql, *args)
        return status

    async def close(self) -> None:
        await self._pool.close()
