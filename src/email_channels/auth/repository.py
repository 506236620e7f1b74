"""SQL for API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.auth.models import ApiKey
from email_channels.db.driver import DriverPool


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a presented key grants: enough to authorise one request."""

    key_id: uuid.UUID
    workspace_id: str
    permissions: frozenset[str]
    revoked: bool


_GRANT_COLUMNS = select(ApiKey.id, ApiKey.workspace_id, ApiKey.permissions, ApiKey.revoked_at)


async def find_grant(connection: AsyncConnection, key_hash: str) -> KeyGrant | None:
    """The grant of the key with this hash, in one round trip."""
    row = (await connection.execute(_GRANT_COLUMNS.where(ApiKey.key_hash == key_hash))).first()
    if row is None:
        return None
    return KeyGrant(
        key_id=row.id,
        workspace_id=row.workspace_id,
        permissions=frozenset(filter(None, row.permissions.split(","))),
        revoked=row.revoked_at is not None,
    )


_GRANT_SQL = "SELECT id, workspace_id, permissions, revoked_at FROM api_keys WHERE key_hash = $1"


async def find_grant_driver(driver: DriverPool, key_hash: str) -> KeyGrant | None:
    """`find_grant` on the driver's pool: the same statement, prepared, without SQLAlchemy."""
    row = await driver.fetchrow(_GRANT_SQL, key_hash)
    if row is None:
        return None
    return KeyGrant(
        key_id=uuid.UUID(bytes=row["id"].bytes),  # a plain UUID, as SQLAlchemy gives
        workspace_id=row["workspace_id"],
        permissions=frozenset(filter(None, row["permissions"].split(","))),
        revoked=row["revoked_at"] is not None,
    )


async def add_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def list_keys(session: AsyncSession, workspace_id: str) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.created_at)
    )
    return list(result)


async def revoke_key(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> bool:
    """Mark the key revoked (a revoked key keeps its first time); False when there is none."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    return await session.scalar(select(ApiKey.id).where(ApiKey.id == key_id)) is not None
