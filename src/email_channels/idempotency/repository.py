"""SQL for idempotency keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.db.clock import database_now
from email_channels.idempotency.models import IdempotencyKey


@dataclass(frozen=True, slots=True)
class KeyScope:
    """One idempotency key: scoped to the API key and the endpoint."""

    api_key_id: uuid.UUID
    endpoint: str
    key: str


def _this(scope: KeyScope) -> ColumnElement[bool]:
    return (
        (IdempotencyKey.api_key_id == scope.api_key_id)
        & (IdempotencyKey.endpoint == scope.endpoint)
        & (IdempotencyKey.key == scope.key)
    )


async def insert_running(
    session: AsyncSession,
    record: IdempotencyKey,
    *,
    kept_for: timedelta,
    abandoned_after: timedelta,
) -> None:
    """Claim the key (IntegrityError when it is taken), dropping an expired or abandoned one.

    Times are the database's: several hosts agree on when a key expires or was abandoned.
    """
    await session.execute(
        delete(IdempotencyKey).where(
            _this(KeyScope(record.api_key_id, record.endpoint, record.key)),
            or_(
                IdempotencyKey.created_at < database_now(-kept_for.total_seconds()),
                IdempotencyKey.response_status.is_(None)
                & (IdempotencyKey.created_at < database_now(-abandoned_after.total_seconds())),
            ),
        )
    )
    record.created_at = database_now()
    session.add(record)
    await session.flush()


async def find(session: AsyncSession, scope: KeyScope) -> IdempotencyKey | None:
    return await session.scalar(select(IdempotencyKey).where(_this(scope)))


async def complete(
    session: AsyncSession,
    scope: KeyScope,
    *,
    token: uuid.UUID,
    status: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    """Store the finished answer for replay, if `token` still holds the key."""
    await session.execute(
        update(IdempotencyKey)
        .where(_this(scope), IdempotencyKey.token == token)
        .values(response_status=status, response_headers=headers, response_body=body)
    )


async def release(session: AsyncSession, scope: KeyScope, *, token: uuid.UUID) -> None:
    """Free the key, so that a retry really runs (only the holder's own claim)."""
    await session.execute(delete(IdempotencyKey).where(_this(scope), IdempotencyKey.token == token))


async def delete_expired(session: AsyncSession, *, kept_for: timedelta) -> int:
    """Drop every key older than `kept_for`; how many went."""
    result = await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < database_now(-kept_for.total_seconds())
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
