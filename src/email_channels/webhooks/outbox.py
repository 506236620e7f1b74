"""The event outbox: an event and its deliveries are written by the change's own transaction."""

from __future__ import annotations

import json
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
    SENDING_PAUSED = "ses_setup.sending_paused"
    SENDING_RESUMED = "ses_setup.sending_resumed"
    REPAIRED = "ses_setup.repaired"  # a managed record of a delegated setup written again


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


def _event_data(setup: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event's `data`: the workspace and the setup as the list shows it (and `extra`, what
    an event type adds: `by` and `cause` of a pause or resume)."""
    return {
        "workspace_id": setup.workspace_id,
        "ses_setup": setup_item_json(setup),
        **(extra or {}),
    }


def with_event_sql(change_sql: str, *, parameters: int) -> str:
    """`record_event` for a change that is one UPDATE, in the same statement (PostgreSQL).

    `change_sql` is an `UPDATE ... RETURNING 1` with parameters $1..$`parameters`. When it
    changes a row, the event and a pending delivery to each subscribed webhook are written by
    the same statement, so in the same transaction; `event_arguments` gives the parameters
    that follow. The statement answers the number of rows changed. (`gen_random_uuid` is
    built into PostgreSQL 13 and later.)
    """
    event_id, workspace, setup, kind, at, data = (f"${parameters + i}" for i in range(1, 7))
    return (
        f"WITH changed AS ({change_sql}),"
        " event AS (INSERT INTO events (id, workspace_id, setup_id, type, occurred_at, data)"
        f" SELECT {event_id}, {workspace}, {setup}::uuid, {kind}, {at}::timestamptz,"
        f" {data}::json FROM changed RETURNING seq),"
        " delivered AS (INSERT INTO deliveries (id, webhook_id, event_seq, event_id,"
        " event_type, setup_id, status, attempts, next_attempt_at, created_at)"
        f" SELECT gen_random_uuid(), webhooks.id, event.seq, {event_id}, {kind},"
        f" {setup}::uuid, '{DeliveryStatus.PENDING.value}', 0, {at}::timestamptz,"
        f" {at}::timestamptz FROM webhooks, event WHERE webhooks.workspace_id = {workspace}"
        f" AND webhooks.events::jsonb ? {kind})"
        " SELECT count(*) FROM changed"
    )


def event_arguments(
    *, event_type: EventType, setup: Any, occurred_at: datetime | None = None
) -> tuple[Any, ...]:
    """The parameters of `with_event_sql`'s event: what `record_event` writes."""
    return (
        new_event_id(),
        setup.workspace_id,
        setup.id,
        event_type.value,
        occurred_at or utc_now(),
        json.dumps(_event_data(setup)),  # as SQLAlchemy's JSON type writes it
    )


async def record_event(
    session: AsyncSession,
    *,
    event_type: EventType,
    setup: Any,
    occurred_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Write one event about `setup` and a pending delivery to each subscribed webhook.

    `details`: more of the event's `data` beside the setup (a repaired record).

    The webhooks are those that exist in this transaction's view: a webhook gets only the
    events that happen after it was created.
    """
    event_id = new_event_id()
    now = occurred_at or utc_now()
    seq = await session.scalar(
        insert(Event)
        .values(
            id=event_id,
            workspace_id=setup.workspace_id,
            setup_id=setup.id,
            type=event_type.value,
            occurred_at=now,
            data=_event_data(setup, extra),
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
