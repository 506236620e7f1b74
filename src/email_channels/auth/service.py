"""API keys: creation for the CLI, and the authorisation of every request."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from email_channels.auth import repository
from email_channels.auth.keys import generate_key, hash_key
from email_channels.auth.models import ApiKey
from email_channels.auth.permissions import Permission
from email_channels.auth.repository import KeyGrant
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
    async with db.transaction() as session:
        return await repository.revoke_key(session, key_id, utc_now())


async def authenticate(db: Database, *, secret: str | None) -> KeyGrant:
    """The grant of a presented key: 401 when it is missing, unknown or revoked."""
    if not secret:
        raise Unauthorized("Send an API key as `Authorization: Bearer <key>`.")
    async with db.read() as connection:
        grant = await repository.find_grant(connection, hash_key(secret))
    if grant is None:
        raise Unauthorized("The API key is not valid.")
    if grant.revoked:
        raise Unauthorized("The API key has been revoked.")
    return grant


def authorise(grant: KeyGrant, *, workspace_id: str, permission: Permission) -> Principal:
    """Check a genuine key against the workspace and permission of a request (403)."""
    if grant.workspace_id != workspace_id:
        raise Forbidden("The API key belongs to another workspace.")
    if permission.value not in grant.permissions:
        raise Forbidden(f"The API key lacks the permission {permission.value}.")
    return Principal(key_id=grant.key_id, workspace_id=workspace_id)
