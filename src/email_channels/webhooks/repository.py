"""SQL for webhook subscriptions and the delivery log."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.pagination import AnyRow, Cursor, keyset_query
from email_channels.webhooks.models import Delivery, Webhook

WEBHOOK_COLUMNS = (
    Webhook.id,
    Webhook.url,
    Webhook.events,
    Webhook.description,
    Webhook.created_at,
)
DELIVERY_COLUMNS = (
    Delivery.id,
    Delivery.event_id,
    Delivery.event_type,
    Delivery.status,
    Delivery.attempts,
    Delivery.last_status_code,
    Delivery.last_error,
    Delivery.next_attempt_at,
    Delivery.delivered_at,
    Delivery.created_at,
)


async def insert_within_cap(session: AsyncSession, webhook: Webhook, *, cap: int) -> bool:
    """Insert `webhook` unless its workspace already has `cap` webhooks; whether it was."""
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent creates of one workspace take turns, so none counts past the other.
        lock_key = int.from_bytes(
            hashlib.blake2b(f"webhooks:{webhook.workspace_id}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        await session.execute(select(func.pg_advisory_xact_lock(lock_key)))
    # One statement: on SQLite the count and the insert happen under one write lock.
    count = (
        select(func.count())
        .select_from(Webhook)
        .where(Webhook.workspace_id == webhook.workspace_id)
        .scalar_subquery()
    )
    columns = [column for column in Webhook.__table__.columns]
    values = select(
        *(literal(getattr(webhook, column.key), type_=column.type) for column in columns)
    ).where(count < cap)
    result = await session.execute(insert(Webhook).from_select(columns, values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get(
    connection: AsyncConnection, *, workspace_id: str, webhook_id: uuid.UUID
) -> AnyRow | None:
    query = select(*WEBHOOK_COLUMNS).where(
        Webhook.id == webhook_id, Webhook.workspace_id == workspace_id
    )
    return (await connection.execute(query)).first()


async def delete_webhook(
    session: AsyncSession, *, workspace_id: str, webhook_id: uuid.UUID
) -> bool:
    """Delete a webhook and its deliveries (pending ones are cancelled with it)."""
    owned = select(Webhook.id).where(Webhook.id == webhook_id, Webhook.workspace_id == workspace_id)
    await session.execute(delete(Delivery).where(Delivery.webhook_id.in_(owned)))
    result = await session.execute(
        delete(Webhook).where(Webhook.id == webhook_id, Webhook.workspace_id == workspace_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


_WEBHOOKS = keyset_query(
    select(*WEBHOOK_COLUMNS).where(Webhook.workspace_id == bindparam("workspace_id")),
    created_at=Webhook.created_at,
    id_column=Webhook.id,
)
_DELIVERIES = keyset_query(
    select(*DELIVERY_COLUMNS).where(Delivery.webhook_id == bindparam("webhook_id")),
    created_at=Delivery.created_at,
    id_column=Delivery.id,
)


async def list_page(
    connection: AsyncConnection, *, workspace_id: str, after: Cursor | None, limit: int
) -> Sequence[AnyRow]:
    """One page of a workspace's webhooks, newest first, one row more than `limit`."""
    return await _WEBHOOKS.page(connection, after=after, limit=limit, workspace_id=workspace_id)


async def deliveries_page(
    connection: AsyncConnection, *, webhook_id: uuid.UUID, after: Cursor | None, limit: int
) -> Sequence[AnyRow]:
    """One page of a webhook's deliveries, newest first, one row more than `limit`."""
    return await _DELIVERIES.page(connection, after=after, limit=limit, webhook_id=webhook_id)
