"""SQL for SES setups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.db.base import utc_now
from email_channels.errors import Conflict
from email_channels.pagination import AnyRow, Cursor, keyset_query
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.use_cases.models import UseCase

VISIBLE_STATES = (SetupState.ACTIVE.value, SetupState.DELETING.value)

# The list reads only what a list item shows.
LIST_COLUMNS = (
    SesSetup.id,
    SesSetup.tenant_name,
    SesSetup.domain_identity,
    SesSetup.region,
    SesSetup.dns_verified,
    SesSetup.dns_checked_at,
    SesSetup.created_at,
    SesSetup.updated_at,
)


def _conflict_from(error: IntegrityError, *, tenant_name: str, domain: str) -> Conflict:
    message = str(error.orig)
    if "tenant_name" in message:
        return Conflict(f"The tenant name {tenant_name!r} is already taken.")
    if "domain_identity" in message:
        return Conflict(f"The domain {domain!r} already has an SES setup.")
    raise error


async def insert_setup(session: AsyncSession, setup: SesSetup) -> None:
    """Insert a new setup; a taken tenant name or domain is a 409 (the constraints decide)."""
    session.add(setup)
    try:
        await session.flush()
    except IntegrityError as error:
        raise _conflict_from(
            error, tenant_name=setup.tenant_name, domain=setup.domain_identity
        ) from error


async def update_setup(session: AsyncSession, setup_id: uuid.UUID, **values: Any) -> int:
    """Set columns of one setup; the number of rows changed."""
    result = await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_setup(session: AsyncSession, setup_id: uuid.UUID) -> None:
    await session.execute(delete(SesSetup).where(SesSetup.id == setup_id))


async def get_visible(
    connection: AsyncConnection, *, workspace_id: str, setup_id: uuid.UUID
) -> SesSetup | None:
    """The setup as clients may see it: created, not yet deleted."""
    row = (
        await connection.execute(
            select(SesSetup.__table__).where(
                SesSetup.id == setup_id,
                SesSetup.workspace_id == workspace_id,
                SesSetup.state.in_(VISIBLE_STATES),
            )
        )
    ).first()
    return None if row is None else SesSetup(**row._asdict())


_LIST = keyset_query(
    select(*LIST_COLUMNS).where(
        SesSetup.workspace_id == bindparam("workspace_id"), SesSetup.state.in_(VISIBLE_STATES)
    ),
    created_at=SesSetup.created_at,
    id_column=SesSetup.id,
)


async def list_page(
    connection: AsyncConnection, *, workspace_id: str, after: Cursor | None, limit: int
) -> Sequence[AnyRow]:
    """One page of a workspace's visible setups, newest first, one row more than `limit`."""
    return await _LIST.page(connection, after=after, limit=limit, workspace_id=workspace_id)


async def begin_delete(
    session: AsyncSession, *, workspace_id: str, setup_id: uuid.UUID
) -> tuple[SesSetup | None, bool]:
    """Mark the setup `deleting`; (setup, referenced). Nothing changes while referenced.

    The UPDATE comes first so that it takes the row's write lock before the reference check:
    a use case being created at the same moment either committed already (we see it) or
    waits for us and then finds the setup no longer active.
    """
    result = await session.execute(
        update(SesSetup)
        .where(
            SesSetup.id == setup_id,
            SesSetup.workspace_id == workspace_id,
            SesSetup.state.in_(VISIBLE_STATES),
        )
        .values(state=SetupState.DELETING.value, state_changed_at=utc_now())
        .returning(SesSetup.__table__)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        return None, False
    setup = SesSetup(**row._asdict())
    referenced = bool(
        await session.scalar(select(exists().where(UseCase.ses_setup_id == setup_id)))
    )
    return setup, referenced


async def store_check(
    session: AsyncSession,
    *,
    setup_id: uuid.UUID,
    dns_results: list[dict[str, Any]],
    dns_verified: bool,
    dns_checked_at: datetime | None,
    updated_at: datetime | None,
) -> None:
    """Store the outcome of a DNS check (only on visible setups)."""
    values: dict[str, Any] = {"dns_results": dns_results, "dns_verified": dns_verified}
    if dns_checked_at is not None:
        values["dns_checked_at"] = dns_checked_at
    if updated_at is not None:
        values["updated_at"] = updated_at
    await session.execute(
        update(SesSetup)
        .where(SesSetup.id == setup_id, SesSetup.state.in_(VISIBLE_STATES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def stale(
    connection: AsyncConnection, *, state: SetupState, since_before: datetime
) -> list[SesSetup]:
    """Setups in `state` since before `since_before`: left there by a crash or a lost undo."""
    rows = await connection.execute(
        select(SesSetup.__table__)
        .where(SesSetup.state == state.value, SesSetup.state_changed_at < since_before)
        .order_by(SesSetup.created_at)
    )
    return [SesSetup(**row._asdict()) for row in rows]
