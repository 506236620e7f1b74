"""A short-lived per-process cache of key grants, invalidated across processes at once.

Every request presents a key; looking its grant up costs a round trip and, on the list, about
a fifth of the CPU of an answer. So a process keeps the grants it has seen for a few seconds,
on PostgreSQL only, and only while its listener connection is up:

- `keys revoke` (auth/service.py) commits the revocation together with a NOTIFY on
  CHANNEL carrying the key's hash. Every process's listener drops that grant and answers
  with a NOTIFY on ACK_CHANNEL. The revoker waits for the acknowledgement of every listener
  it saw (by application name) before it returns, and when one stays silent it waits out the
  TTL instead: an entry is never older than TTL_SECONDS, counted from before its lookup was
  sent, so once the revoker returns no process can accept the key.
- While the listener is down (not yet connected, lost, reconnecting) the cache answers
  nothing and stores nothing: every request reads the database, as without a cache.
- A lookup that started before an invalidation is not stored (the generation check), so a
  grant read just before a revocation cannot outlive the NOTIFY that followed it.

Entries are keyed by the key's hash; the grant carries its workspace, which `authorise`
checks on every request, so a cached grant never answers for another workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from email_channels.auth.repository import KeyGrant

logger = logging.getLogger(__name__)

CHANNEL = "email_channels_key_revoked"
ACK_CHANNEL = "email_channels_key_revoked_ack"
LISTENER_APPLICATION = "email-channels grant listener"
TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000  # bounds memory; past it the cache starts again empty
RECONNECT_SECONDS = 1.0


class GrantCache:
    """Grants by key hash; usable only while the revocation listener is connected."""

    def __init__(self, *, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, KeyGrant]] = {}
        self._generation = 0
        self._live = False

    @property
    def live(self) -> bool:
        """Whether the listener is connected (and the cache in use)."""
        return self._live

    @property
    def generation(self) -> int:
        """Moves on every invalidation: a lookup started in an older one is not stored."""
        return self._generation

    def get(self, key_hash: str) -> KeyGrant | None:
        """The cached grant, if the listener is up and the entry is young enough."""
        entry = self._entries.get(key_hash) if self._live else None
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key_hash]
            return None
        return entry[1]

    def get_by_key_id(self, key_id: Any) -> KeyGrant | None:
        """The cached grant of a key by its id, if any (for tests and diagnostics)."""
        for _, grant in self._entries.values():
            if grant.key_id == key_id:
                return grant
        return None

    def put(self, key_hash: str, grant: KeyGrant, *, started: float, generation: int) -> None:
        """Keep a grant looked up from `started` (monotonic) in `generation`."""
        if not self._live or generation != self._generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key_hash] = (started + self._ttl, grant)

    def invalidate(self, key_id: str) -> None:
        """Drop every entry of the key (a rare event: a scan is fine)."""
        self._generation += 1
        for key_hash, (_, grant) in list(self._entries.items()):
            if str(grant.key_id) == key_id:
                del self._entries[key_hash]

    def set_live(self, live: bool) -> None:
        """The listener came up or went down: either way, what we hold may be stale."""
        self._generation += 1
        self._entries.clear()
        self._live = live


class RevocationListener:
    """LISTENs for revocations on its own connection; reconnects while the process lives."""

    def __init__(self, cache: GrantCache, *, dsn: str) -> None:
        self._cache = cache
        self._dsn = dsn
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="grant-revocation-listener")

    async def _run(self) -> None:
        while True:
            lost = asyncio.get_running_loop().create_future()
            try:
                self._connection = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": LISTENER_APPLICATION}
                )
                self._connection.add_termination_listener(partial(_resolve, lost))
                await self._connection.add_listener(CHANNEL, self._on_revoked)
                self._cache.set_live(True)
                await lost
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("grant cache listener unavailable: %r", error)
            finally:
                self._cache.set_live(False)
                await self._close_connection()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _on_revoked(self, connection: Any, pid: int, channel: str, key_id: str) -> None:
        self._cache.invalidate(key_id)  # before the acknowledgement can leave
        asyncio.get_running_loop().create_task(self._acknowledge(connection, key_id))

    async def _acknowledge(self, connection: Any, key_id: str) -> None:
        try:
            await connection.execute(
                "SELECT pg_notify($1, pg_backend_pid()::text || ':' || $2)", ACK_CHANNEL, key_id
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("could not acknowledge a key revocation: %r", error)

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    async def close(self) -> None:
        self._cache.set_live(False)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_connection()


def _resolve(future: asyncio.Future[None], _: Any) -> None:
    if not future.done():
        future.set_result(None)
