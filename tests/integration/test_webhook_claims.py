"""The fair claim of due deliveries (section 13): one per webhook, workspaces in turn."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import insert, select, update

from email_channels.db.base import utc_now
from email_channels.webhooks import delivery_repository
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook
from tests.support.fixtures_api import Api

LEASE_SECONDS = 60.0


async def due_deliveries(api: Api, *, workspace: str, webhooks: int, events: int) -> None:
    """`webhooks` webhooks in `workspace`, each with `events` due deliveries (one setup each)."""
    now = utc_now()
    async with api.database.transaction() as session:
        hook_ids = [uuid.uuid4() for _ in range(webhooks)]
        await session.execute(
            insert(Webhook),
            [
                {
                    "id": hook_id,
                    "workspace_id": workspace,
                    "url": "https://hooks.example.com/in",
                    "events": ["ses_setup.created"],
                    "description": None,
                    "secret": "whsec_dGVzdA==",
                    "created_at": now,
                }
                for hook_id in hook_ids
            ],
        )
        for _ in range(events):
            setup_id = uuid.uuid4()
            event_id = f"evt_{uuid.uuid4().hex}"
            seq = await session.scalar(
                insert(Event)
                .values(
                    id=event_id,
                    workspace_id=workspace,
                    setup_id=setup_id,
                    type="ses_setup.created",
                    occurred_at=now,
                    data={},
                )
                .returning(Event.seq)
            )
            await session.execute(
                insert(Delivery),
                [
                    {
                        "id": uuid.uuid4(),
                        "webhook_id": hook_id,
                        "event_seq": seq,
                        "event_id": event_id,
                        "event_type": "ses_setup.created",
                        "setup_id": setup_id,
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for hook_id in hook_ids
                ],
            )


async def claim(
    api: Api, limit: int, *, webhook_id: uuid.UUID | None = None
) -> list[tuple[str, uuid.UUID]]:
    """(workspace, webhook id) of each delivery one claim took, as the worker claims: on
    PostgreSQL in one statement on the driver's pool, on SQLite in a transaction."""
    claimed: dict[str, object] = {
        "token": uuid.uuid4(),
        "limit": limit,
        "seconds": LEASE_SECONDS,
        "webhook_id": webhook_id,
    }
    driver = api.app.state.database.driver  # the app's pool: PostgreSQL only
    if driver is not None:
        rows = await delivery_repository.claim_due_driver(driver, **claimed)  # type: ignore[arg-type]
    else:
        async with api.database.transaction() as session:
            rows = await delivery_repository.claim_due(session, **claimed)  # type: ignore[arg-type]
    async with api.database.read() as connection:
        hooks = await connection.execute(select(Webhook.id, Webhook.workspace_id))
        workspaces = {hook_id: workspace for hook_id, workspace in hooks}
    return [(workspaces[row.webhook_id], row.webhook_id) for row in rows]


async def test_a_claim_takes_every_workspaces_first_webhook_before_any_second(api: Api) -> None:
    # The busy workspace's events are older: a claim in event order would take only its own.
    await due_deliveries(api, workspace="busy", webhooks=3, events=4)
    await due_deliveries(api, workspace="quiet", webhooks=1, events=1)
    first = await claim(api, limit=2)
    assert Counter(workspace for workspace, _ in first) == {"busy": 1, "quiet": 1}


async def test_a_webhook_with_an_attempt_in_flight_gets_no_second_one(api: Api) -> None:
    await due_deliveries(api, workspace="busy", webhooks=3, events=4)
    first = await claim(api, limit=100)
    # One per webhook, though each has four due deliveries of four setups.
    assert len(first) == 3
    assert len({hook for _, hook in first}) == 3
    # While those three are in flight (leased), nothing more of theirs is claimed.
    assert await claim(api, limit=100) == []


async def test_a_lanes_claim_takes_its_webhooks_next_delivery_in_setup_order(api: Api) -> None:
    await due_deliveries(api, workspace="busy", webhooks=2, events=3)
    [(_, hook)] = (await claim(api, limit=100))[:1]
    # Its first attempt is in flight: the lane's own claim waits for it.
    assert await claim(api, limit=1, webhook_id=hook) == []
    async with api.database.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.webhook_id == hook, Delivery.lease_token.is_not(None))
            .values(status=DeliveryStatus.DELIVERED.value, lease_token=None, lease_expires_at=None)
        )
    following = await claim(api, limit=1, webhook_id=hook)
    assert [webhook for _, webhook in following] == [hook]
