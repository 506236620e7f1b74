"""SQL for idempotency keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
    expired_before: datetime,
    abandoned_before: datetime,
) -> None:
    """Claim the key (IntegrityError when it is taken), dropping an expired or abandoned one."""
    await session.execute(
        delete(IdempotencyKey).where(
            _this(KeyScope(record.api_key_id, record.endpoint, record.key)),
            or_(
                IdempotencyKey.created_at < expired_before,
                IdempotencyKey.response_status.is_(None)
                & (IdempotencyKey.created_at < abandoned_before),
            ),
        )
    )
    session.add(record)
    await session.flush()


async def find(session: AsyncSession, scope: KeyScope) -> IdempotencyKey | None:
    return await session.scalar(select(IdempotencyKey).where(_this(scope)))


async def complete(
    session: AsyncSession,
    scope: KeyScope,
    *,
    status: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    """Store the finished answer for replay."""
    await session.execute(
        update(IdempotencyKey)
        .where(_this(scope))
        .values(response_status=status, response_headers=headers, response_body=body)
    )


async def release(session: AsyncSession, scope: KeyScope) -> None:
    """Free the key, so that a retry really runs."""
    await session.execute(delete(IdempotencyKey).where(_this(scope)))


async def delete_expired(session: AsyncSession, *, created_before: datetime) -> int:
    """Drop every key older than `created_before`; how many went."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < created_before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
