"""SQL of a setup's sending: what SES's reputation entity of its tenant last reported."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.db.clock import database_now
from email_channels.ses_setups.models import SesSetup
from email_channels.ses_setups.repository import VISIBLE_STATES


async def lock_sending(session: AsyncSession, setup_id: uuid.UUID) -> tuple[str, str | None] | None:
    """(status, paused_by) as stored, the row locked until the transaction ends (PostgreSQL;
    SQLite has one writer at a time): two readers of one change write one event."""
    row = (
        await session.execute(
            select(SesSetup.sending_status, SesSetup.sending_paused_by)
            .where(SesSetup.id == setup_id, SesSetup.state.in_(VISIBLE_STATES))
            .with_for_update()
        )
    ).first()
    return None if row is None else (str(row.sending_status), row.sending_paused_by)


async def store_sending(
    session: AsyncSession, *, setup_id: uuid.UUID, values: dict[str, Any]
) -> Any:
    """Store a read of the reputation entity, stamped with the database's clock; the row."""
    return (
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id == setup_id, SesSetup.state.in_(VISIBLE_STATES))
            .values(**values, sending_checked_at=database_now())
            .returning(SesSetup.__table__)
            .execution_options(synchronize_session=False)
        )
    ).first()
