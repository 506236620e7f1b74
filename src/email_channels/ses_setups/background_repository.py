"""SQL of the background work on setups: claims of due re-checks, SES refreshes and expiry.

Claims are one UPDATE over a `FOR UPDATE SKIP LOCKED` subquery (PostgreSQL; SQLite has one
writer at a time, and the UPDATE re-checks the claim), stamped with an expiry on the
database's clock: N workers never take the same row, and a dead worker's claim runs out.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.db.clock import database_now
from email_channels.db.driver import DriverPool
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.ses_setups.repository import (
    SETUP_COLUMNS_SQL,
    VISIBLE_STATES,
    setup_of_record,
)
from email_channels.use_cases.models import UseCase
from email_channels.webhooks.outbox import EventType


def _due(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column <= database_now())


def _free(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column < database_now())


async def _claim(
    session: AsyncSession, *, due: Any, claim: Any, limit: int, seconds: float
) -> list[SesSetup]:
    candidates = (
        select(SesSetup.id)
        .where(SesSetup.state == SetupState.ACTIVE.value, _due(due), _free(claim))
        .order_by(due)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(SesSetup)
        .where(SesSetup.id.in_(candidates), _free(claim))
        .values({claim.key: database_now(seconds)})
        .returning(SesSetup.__table__)
        .execution_options(synchronize_session=False)
    )
    return [SesSetup(**row._asdict()) for row in rows]


async def claim_due_checks(session: AsyncSession, *, limit: int, seconds: float) -> list[SesSetup]:
    """Claim up to `limit` active setups whose re-check is due."""
    return await _claim(
        session,
        due=SesSetup.next_check_at,
        claim=SesSetup.check_claimed_until,
        limit=limit,
        seconds=seconds,
    )


_CLAIM_CHECKS_SQL = (
    "UPDATE ses_setups SET check_claimed_until = clock_timestamp()"
    " + make_interval(secs => $2::float8) WHERE id IN (SELECT id FROM ses_setups"
    f" WHERE state = '{SetupState.ACTIVE.value}'"
    " AND (next_check_at IS NULL OR next_check_at <= clock_timestamp())"
    " AND (check_claimed_until IS NULL OR check_claimed_until < clock_timestamp())"
    " ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " AND (check_claimed_until IS NULL OR check_claimed_until < clock_timestamp())"
    f" RETURNING {SETUP_COLUMNS_SQL}"
)


async def claim_due_checks_driver(
    driver: DriverPool, *, limit: int, seconds: float
) -> list[SesSetup]:
    """`claim_due_checks` in one statement on the driver's pool (PostgreSQL)."""
    return [setup_of_record(row) for row in await driver.fetch(_CLAIM_CHECKS_SQL, limit, seconds)]


async def claim_due_ses_refreshes(
    session: AsyncSession, *, limit: int, seconds: float
) -> list[SesSetup]:
    """Claim up to `limit` active setups whose SES status refresh is due."""
    return await _claim(
        session,
        due=SesSetup.ses_next_at,
        claim=SesSetup.ses_claimed_until,
        limit=limit,
        seconds=seconds,
    )


async def _set(session: AsyncSession, setup_id: uuid.UUID, *where: Any, **values: Any) -> Any:
    """Update a visible setup (with extra conditions); its row after, or None."""
    return (
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id == setup_id, SesSetup.state.in_(VISIBLE_STATES), *where)
            .values(**values)
            .returning(SesSetup.__table__)
            .execution_options(synchronize_session=False)
        )
    ).first()


async def announce_verified(session: AsyncSession, setup_id: uuid.UUID) -> bool:
    """Flip `announced_verified` on; True when this transaction did (the event is ours).

    The SES status refresh is brought forward: SES notices the records too.
    """
    row = await _set(
        session,
        setup_id,
        SesSetup.announced_verified.is_(False),
        announced_verified=True,
        verified_at=func.coalesce(SesSetup.verified_at, database_now()),
        ses_next_at=database_now(),
    )
    return row is not None


async def announce_unverified(session: AsyncSession, setup_id: uuid.UUID) -> bool:
    """Flip `announced_verified` off; True when this transaction did."""
    row = await _set(
        session,
        setup_id,
        SesSetup.announced_verified.is_(True),
        announced_verified=False,
        failed_checks=0,
    )
    return row is not None


async def schedule_next_check(
    session: AsyncSession,
    *,
    setup_id: uuid.UUID,
    due_in: float,
    interval: float,
    failed_checks: str,
) -> int | None:
    """Set the next re-check, release the claim; `failed_checks`: reset, count or keep.

    Answers the consecutive failed background checks after the change (None: gone).
    """
    values: dict[str, Any] = {
        "next_check_at": database_now(due_in),
        "check_interval": interval,
        "check_claimed_until": None,
    }
    if failed_checks == "reset":
        values["failed_checks"] = 0
    elif failed_checks == "count":
        values["failed_checks"] = SesSetup.failed_checks + 1
    row = await _set(session, setup_id, **values)
    return None if row is None else int(row.failed_checks)


async def store_ses_status(
    session: AsyncSession, *, setup_id: uuid.UUID, due_in: float, **status: Any
) -> Any:
    """Store a refreshed SES status and the next refresh; the row after (None: gone)."""
    return await _set(
        session,
        setup_id,
        ses_checked_at=database_now(),
        ses_next_at=database_now(due_in),
        ses_claimed_until=None,
        **status,
    )


async def postpone_ses_refresh(
    session: AsyncSession, *, setup_id: uuid.UUID, due_in: float
) -> None:
    """SES did not answer: keep the last status, try again later."""
    await _set(session, setup_id, ses_next_at=database_now(due_in), ses_claimed_until=None)


async def claim_expired(
    session: AsyncSession, *, ttl: float, token: uuid.UUID, seconds: float
) -> tuple[SesSetup | None, bool]:
    """Mark one never-verified, unreferenced setup older than `ttl` `deleting`, under a lease.

    Answers (setup, referenced): as in `claim_delete`, the UPDATE takes the row's write lock
    before the reference check, so a use case created meanwhile is seen (the caller then
    rolls back).
    """
    referenced_by = exists().where(UseCase.ses_setup_id == SesSetup.id)
    candidate = (
        select(SesSetup.id)
        .where(
            SesSetup.state == SetupState.ACTIVE.value,
            SesSetup.verified_at.is_(None),
            SesSetup.created_at < database_now(-ttl),
            _free(SesSetup.lease_expires_at) | SesSetup.lease_token.is_(None),
            ~referenced_by,
        )
        .order_by(SesSetup.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id == candidate, SesSetup.state == SetupState.ACTIVE.value)
            .values(
                state=SetupState.DELETING.value,
                state_changed_at=database_now(),
                lease_token=token,
                lease_expires_at=database_now(seconds),
                teardown_event=EventType.EXPIRED.value,
            )
            .returning(SesSetup.__table__)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        return None, False
    setup = SesSetup(**row._asdict())
    referenced = bool(
        await session.scalar(select(exists().where(UseCase.ses_setup_id == setup.id)))
    )
    return setup, referenced


async def announce_ses_verified(session: AsyncSession, setup_id: uuid.UUID) -> bool:
    """Flip `ses_verified_for_sending` on; True when this transaction did (the event is ours)."""
    row = await _set(
        session,
        setup_id,
        SesSetup.ses_verified_for_sending.is_(False),
        ses_verified_for_sending=True,
    )
    return row is not None
