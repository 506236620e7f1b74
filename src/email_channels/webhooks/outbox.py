"""The event outbox: an event and its deliveries are written by the change's own transaction."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.db.base import utc_now
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook


class EventType(StrEnum):
    CREATED = "ses_setup.created"
    VERIFIED = "ses_setup.verified"
    UNVERIFIED = "ses_setup.unverified"
    SES_VERIFIED = "ses_setup.ses_verified"
    DELETED = "ses_setup.deleted"
    EXPIRED = "ses_setup.expired"


EVENT_TYPES = tuple(event_type.value for event_type in EventType)


def new_event_id() -> str:
    """`evt_` and 32 random hex digits: stable across retries (it is the `webhook-id`)."""
    return f"evt_{secrets.token_hex(16)}"


def setup_item_json(setup: Any) -> dict[str, Any]:
    """The SES Setup List Item of a setup row, as JSON values (the event's snapshot)."""

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "id": str(setup.id),
        "tenant_name": setup.tenant_name,
        "domain_identity": setup.domain_identity,
        "region": setup.region,
        "dns_verified": bool(setup.dns_verified),
        "dns_checked_at": when(setup.dns_checked_at),
        "created_at": when(setup.created_at),
        "updated_at": when(setup.updated_at),
    }


async def record_event(
    session: AsyncSession, *, event_type: EventType, setup: Any, occurred_at: datetime | None = None
) -> str:
    """Write one event about `setup` and a pending delivery to each subscribed webhook.

    The webhooks are those that exist in this transaction's view: a webhook gets only the
    events that happen after it was created.
    """
    event_id = new_event_id()
    now = occurred_at or utc_now()
    data = {"workspace_id": setup.workspace_id, "ses_setup": setup_item_json(setup)}
    seq = await session.scalar(
        insert(Event)
        .values(
            id=event_id,
            workspace_id=setup.workspace_id,
            setup_id=setup.id,
            type=event_type.value,
            occurred_at=now,
            data=data,
        )
        .returning(Event.seq)
    )
    hooks = await session.execute(
        select(Webhook.id, Webhook.events).where(Webhook.workspace_id == setup.workspace_id)
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "webhook_id": hook_id,
            "event_seq": seq,
            "event_id": event_id,
            "event_type": event_type.value,
            "setup_id": setup.id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for hook_id, subscribed in hooks
        if event_type.value in subscribed
    ]
    if rows:
        await session.execute(insert(Delivery), rows)
    return event_id
