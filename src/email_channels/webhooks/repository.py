"""SQL for webhook subscriptions and the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select
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


async def insert(session: AsyncSession, webhook: Webhook) -> None:
    session.add(webhook)
    await session.flush()


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
