"""API keys: creation for the CLI, and the authorisation of every request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from email_channels.auth import repository
from email_channels.auth.keys import generate_key, hash_key
from email_channels.auth.models import ApiKey
from email_channels.auth.permissions import Permission
from email_channels.auth.repository import KeyGrant
from email_channels.auth.revocation import revoke_everywhere
from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, after authorisation."""

    key_id: uuid.UUID
    workspace_id: str


async def create_key(
    db: Database, *, workspace_id: str, permissions: Iterable[Permission], name: str
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its secret (shown once, never stored)."""
    secret = generate_key()
    key = ApiKey(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        name=name,
        key_hash=hash_key(secret),
        permissions=",".join(sorted({p.value for p in permissions})),
        created_at=utc_now(),
        revoked_at=None,
    )
    async with db.transaction() as session:
        await repository.add_key(session, key)
    return key, secret


async def list_keys(db: Database, *, workspace_id: str) -> list[ApiKey]:
    async with db.transaction() as session:
        return await repository.list_keys(session, workspace_id)


async def revoke_key(db: Database, key_id: uuid.UUID) -> bool:
    """Revoke the key; once this returns, no process of the service accepts it."""
    return await revoke_everywhere(db, key_id)


async def authenticate(db: Database, *, secret: str | None) -> KeyGrant:
    """The grant of a presented key: 401 when it is missing, unknown or revoked."""
    if not secret:
        raise Unauthorized("Send an API key as `Authorization: Bearer <key>`.")
    key_hash = hash_key(secret)
    cache = db.grants
    grant: KeyGrant | None = cache.get(key_hash) if cache is not None else None
    if grant is None:
        grant = await _look_up(db, key_hash)
    if grant is None:
        raise Unauthorized("The API key is not valid.")
    if grant.revoked:
        raise Unauthorized("The API key has been revoked.")
    return grant


async def _look_up(db: Database, key_hash: str) -> KeyGrant | None:
    cache = db.grants
    started, generation = time.monotonic(), cache.generation if cache is not None else 0
    if db.driver is not None:
        grant = await repository.find_grant_driver(db.driver, key_hash)
    else:
        async with db.read() as connection:
            grant = await repository.find_grant(connection, key_hash)
    if grant is not None and cache is not None:
        cache.put(key_hash, grant, started=started, generation=generation)
    return grant


def authorise(grant: KeyGrant, *, workspace_id: str, permission: Permission) -> Principal:
    """Check a genuine key against the workspace and permission of a request (403)."""
    if grant.workspace_id != workspace_id:
        raise Forbidden("The API key belongs to another workspace.")
    if permission.value not in grant.permissions:
        raise Forbidden(f"The API key lacks the permission {permission.value}.")
    return Principal(key_id=grant.key_id, workspace_id=workspace_id)
