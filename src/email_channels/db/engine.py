"""Engine, sessions and the two ways the service talks to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from email_channels.db.driver import DriverPool

Entry = TypeVar("Entry")


class LookupCache(Protocol[Entry]):
    """A per-process cache of rows looked up by a string key, as the database holds it.

    The auth package's grant cache is one (auth/grant_cache.py); the composition root hangs
    it on the database, so that this module needs to know no feature.
    """

    @property
    def generation(self) -> int:
        """Moves on every invalidation: a lookup started in an older one is not stored."""
        ...

    def get(self, key: str, /) -> Entry | None: ...

    def put(self, key: str, entry: Entry, /, *, started: float, generation: int) -> None: ...


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build the engine; SQLite gets foreign keys, WAL and a busy timeout."""
    url = make_url(database_url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 15}
    if url.database not in (None, "", ":memory:"):
        kwargs.update(pool_size=pool_size, max_overflow=0, pool_timeout=30)
    # A failing statement's error (and so its log line) never carries the bound parameters:
    # they hold webhook secrets, key hashes and whatever a client sent.
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if url.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

    return engine


class Database:
    """Short-lived units of work, so that no connection is held across SES or DNS calls.

    `transaction()` is the one place that commits: it commits when its block ends and rolls
    back when the block raises. `read()` is an autocommit connection for hot read paths: no
    BEGIN/COMMIT round trips on PostgreSQL.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Set by the composition root for the API on PostgreSQL: the driver's pool for the hot
        # statements, and the grant cache (auth/grant_cache.py). The CLI runs without either.
        self.driver: DriverPool | None = None
        self.grants: LookupCache[Any] | None = None
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection where each statement commits by itself: one round trip for a write
        that is a single statement (no BEGIN, no COMMIT)."""
        async with self._autocommit.connect() as connection:
            yield connection

    # Reads take the same connection: no BEGIN/COMMIT round trips around a SELECT.
    read = autocommit

    async def dispose(self) -> None:
        await self.engine.dispose()
