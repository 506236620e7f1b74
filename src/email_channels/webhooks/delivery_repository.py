"""SQL of webhook delivery: claims of due attempts and their outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from email_channels.db.clock import database_now
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook

PENDING = DeliveryStatus.PENDING.value


async def claim_due(
    session: AsyncSession,
    *,
    token: uuid.UUID,
    limit: int,
    seconds: float,
    webhook_id: uuid.UUID | None = None,
) -> list[Any]:
    """Claim up to `limit` due attempts, fairly: (delivery, webhook url and secret, event) rows.

    At most one per webhook, and none of a webhook with an attempt in flight: one webhook
    has at most one attempt running. Round robin across workspaces: every workspace's first
    due webhook comes before any workspace's second. A delivery waits while an earlier event
    of the same setup is still pending for the same webhook: events of one setup reach a
    webhook in the order they happened. `webhook_id`: that webhook's next one only.
    """
    now = database_now()
    free = or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now)
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.webhook_id == Delivery.webhook_id,
        earlier.setup_id == Delivery.setup_id,
        earlier.event_seq < Delivery.event_seq,
        earlier.status == PENDING,
    )
    busy = aliased(Delivery)
    in_flight = exists().where(busy.webhook_id == Delivery.webhook_id, busy.lease_expires_at >= now)
    due = (
        select(
            Delivery.id,
            Delivery.event_seq,
            Webhook.workspace_id,
            func.row_number()
            .over(partition_by=Delivery.webhook_id, order_by=Delivery.event_seq)
            .label("in_webhook"),
        )
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            free,
            ~blocked,
            ~in_flight,
            *([Delivery.webhook_id == webhook_id] if webhook_id is not None else []),
        )
        .subquery()
    )
    heads = (
        select(
            due.c.id,
            due.c.event_seq,
            func.row_number()
            .over(partition_by=due.c.workspace_id, order_by=due.c.event_seq)
            .label("turn"),
        )
        .where(due.c.in_webhook == 1)
        .subquery()
    )
    chosen = select(heads.c.id).order_by(heads.c.turn, heads.c.event_seq).limit(limit)
    # The window functions cannot take row locks themselves; the rows they chose do.
    candidates = (
        select(Delivery.id)
        .where(Delivery.id.in_(chosen))
        .with_for_update(skip_locked=True, of=Delivery)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(candidates), Delivery.status == PENDING, free)
        .values(lease_token=token, lease_expires_at=database_now(seconds))
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            Delivery.id,
            Delivery.webhook_id,
            Delivery.attempts,
            Delivery.event_id,
            Webhook.url,
            Webhook.secret,
            Event.type,
            Event.occurred_at,
            Event.data,
        )
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .join(Event, Event.seq == Delivery.event_seq)
        .where(Delivery.lease_token == token)
        .order_by(Delivery.event_seq)
    )
    return list(rows)


async def finish_attempt(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    token: uuid.UUID,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    delivered_at: datetime | None,
) -> bool:
    """Record one attempt and release the claim, if this worker still holds it."""
    values: dict[str, Any] = {
        "status": status.value,
        "attempts": Delivery.attempts + 1,
        "last_status_code": status_code,
        "last_error": error,
        "next_attempt_at": None if retry_in is None else database_now(retry_in),
        "delivered_at": delivered_at,
        # Delivered or failed for good: the retention purge counts from here.
        "ended_at": None if status is DeliveryStatus.PENDING else database_now(),
        "lease_token": None,
        "lease_expires_at": None,
    }
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lease_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]
