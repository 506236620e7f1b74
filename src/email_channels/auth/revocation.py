"""Revoking a key so that no process accepts it once the revocation returns.

On PostgreSQL the revocation's transaction also NOTIFYs every grant cache (auth/grant_cache.py)
and notes which listeners are connected to this database; after the commit we wait for each
of them to acknowledge, or, if one stays silent, for the cache's TTL to run out. Without
PostgreSQL there is no cache to tell (app.py builds it only there).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text

from email_channels.auth import repository
from email_channels.auth.grant_cache import (
    ACK_CHANNEL,
    CHANNEL,
    LISTENER_APPLICATION,
    TTL_SECONDS,
)
from email_channels.db.base import utc_now
from email_channels.db.driver import driver_dsn
from email_channels.db.engine import Database

_LISTENERS = text(
    "SELECT pid FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name = :application"
)
_NOTIFY = text("SELECT pg_notify(:channel, :key_id)")


async def revoke_everywhere(db: Database, key_id: uuid.UUID) -> bool:
    """Revoke the key; return once every process refuses it. False when there is none."""
    dsn = driver_dsn(db.engine.url)
    if dsn is None:
        async with db.transaction() as session:
            return await repository.revoke_key(session, key_id, utc_now())
    acknowledged: set[int] = set()
    arrived = asyncio.Event()

    def on_ack(_: Any, __: int, ___: str, payload: str) -> None:
        backend, _, acked_key = payload.partition(":")
        if acked_key == str(key_id) and backend.isdigit():
            acknowledged.add(int(backend))
            arrived.set()

    ack_connection = await asyncpg.connect(dsn)
    try:
        await ack_connection.add_listener(ACK_CHANNEL, on_ack)
        async with db.transaction() as session:
            found = await repository.revoke_key(session, key_id, utc_now())
            if not found:
                return False
            listeners = set(
                (await session.scalars(_LISTENERS, {"application": LISTENER_APPLICATION})).all()
            )
            await session.execute(_NOTIFY, {"channel": CHANNEL, "key_id": str(key_id)})
        await _wait_for(listeners, acknowledged, arrived, deadline=time.monotonic() + TTL_SECONDS)
        return True
    finally:
        await ack_connection.close()


async def _wait_for(
    listeners: set[int], acknowledged: set[int], arrived: asyncio.Event, *, deadline: float
) -> None:
    """Until every listener acknowledged; else until no cached entry can predate the commit."""
    while not listeners <= acknowledged:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), timeout=remaining)
        except TimeoutError:
            return
