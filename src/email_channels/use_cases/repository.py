"""SQL for use cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.pagination import AnyRow, Cursor, keyset_query
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.use_cases.models import UseCase

COLUMNS = (UseCase.id, UseCase.name, UseCase.ses_setup_id, UseCase.created_at)


async def insert_for_active_setup(
    session: AsyncSession,
    *,
    use_case_id: uuid.UUID,
    workspace_id: str,
    name: str,
    ses_setup_id: uuid.UUID,
    created_at: datetime,
) -> bool:
    """Insert the use case if its setup is active in the workspace, in one statement.

    On PostgreSQL `FOR SHARE` makes a concurrent delete of the setup wait for this insert
    (or this insert wait for it, and then find the setup no longer active).
    """
    source = (
        select(
            literal(use_case_id, UseCase.id.type),
            literal(workspace_id, UseCase.workspace_id.type),
            literal(name, UseCase.name.type),
            SesSetup.id,
            literal(created_at, UseCase.created_at.type),
        )
        .where(
            SesSetup.id == ses_setup_id,
            SesSetup.workspace_id == workspace_id,
            SesSetup.state == SetupState.ACTIVE.value,
        )
        .with_for_update(read=True, of=SesSetup)
    )
    result = await session.execute(
        insert(UseCase).from_select(
            ["id", "workspace_id", "name", "ses_setup_id", "created_at"], source
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get(
    connection: AsyncConnection, *, workspace_id: str, use_case_id: uuid.UUID
) -> AnyRow | None:
    query = select(*COLUMNS).where(UseCase.id == use_case_id, UseCase.workspace_id == workspace_id)
    return (await connection.execute(query)).first()


_LIST = keyset_query(
    select(*COLUMNS).where(UseCase.workspace_id == bindparam("workspace_id")),
    created_at=UseCase.created_at,
    id_column=UseCase.id,
)


async def list_page(
    connection: AsyncConnection, *, workspace_id: str, after: Cursor | None, limit: int
) -> Sequence[AnyRow]:
    """One page of a workspace's use cases, newest first, one row more than `limit`."""
    return await _LIST.page(connection, after=after, limit=limit, workspace_id=workspace_id)


async def list_for_setup(
    connection: AsyncConnection, *, workspace_id: str, ses_setup_id: uuid.UUID, limit: int
) -> Sequence[AnyRow]:
    """The newest `limit` use cases that reference one setup (the index on the reference)."""
    query = (
        select(*COLUMNS)
        .where(UseCase.ses_setup_id == ses_setup_id, UseCase.workspace_id == workspace_id)
        .order_by(UseCase.created_at.desc(), UseCase.id.desc())
        .limit(limit)
    )
    return (await connection.execute(query)).all()


async def delete_use_case(
    session: AsyncSession, *, workspace_id: str, use_case_id: uuid.UUID
) -> bool:
    result = await session.execute(
        delete(UseCase).where(UseCase.id == use_case_id, UseCase.workspace_id == workspace_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
