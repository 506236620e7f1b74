"""A lane's outcome and its next claim (on PostgreSQL one statement): what it may take next."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select

from email_channels.db.base import utc_now
from email_channels.webhooks import delivery_repository
from email_channels.webhooks.delivery_repository import ClaimedAttempt
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook
from tests.support.fixtures_api import Api

LEASE_SECONDS = 60.0


async def webhook_with_events(api: Api, setups: list[str]) -> tuple[uuid.UUID, dict[str, str]]:
    """A webhook and one due delivery per entry of `setups` (a setup's name), in that order;
    (its id, the setup name of each delivery's event id)."""
    now = utc_now()
    hook_id = uuid.uuid4()
    setup_ids = {name: uuid.uuid4() for name in setups}
    names: dict[str, str] = {}
    async with api.database.transaction() as session:
        await session.execute(
            insert(Webhook).values(
                id=hook_id,
                workspace_id="lanes",
                url="https://hooks.example.com/in",
                events=["ses_setup.created"],
                description=None,
                secret="whsec_dGVzdA==",
                created_at=now,
            )
        )
        for name in setups:
            event_id = f"evt_{uuid.uuid4().hex}"
            names[event_id] = name
            seq = await session.scalar(
                insert(Event)
                .values(
                    id=event_id,
                    workspace_id="lanes",
                    setup_id=setup_ids[name],
                    type="ses_setup.created",
                    occurred_at=now,
                    data={"setup": name},
                )
                .returning(Event.seq)
            )
            await session.execute(
                insert(Delivery).values(
                    id=uuid.uuid4(),
                    webhook_id=hook_id,
                    event_seq=seq,
                    event_id=event_id,
                    event_type="ses_setup.created",
                    setup_id=setup_ids[name],
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return hook_id, names


async def first_claim(api: Api, hook_id: uuid.UUID) -> tuple[ClaimedAttempt, uuid.UUID]:
    token = uuid.uuid4()
    claimed: dict[str, Any] = {"token": token, "limit": 1, "seconds": LEASE_SECONDS}
    driver = api.app.state.database.driver  # the app's pool: PostgreSQL only
    if driver is not None:
        rows = await delivery_repository.claim_due_driver(driver, webhook_id=hook_id, **claimed)
    else:
        async with api.database.transaction() as session:
            rows = await delivery_repository.claim_due(session, webhook_id=hook_id, **claimed)
    [row] = rows
    return row, token


async def finish_and_claim(
    api: Api, row: ClaimedAttempt, token: uuid.UUID, *, delivered: bool
) -> tuple[bool, ClaimedAttempt | None]:
    """As a lane ends an attempt: on PostgreSQL one statement, on SQLite the two the worker
    runs there (the outcome, then the webhook's claim if it was recorded)."""
    finished: dict[str, Any] = {
        "delivery_id": row.id,
        "token": token,
        "status": DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING,
        "status_code": 204 if delivered else 500,
        "error": None if delivered else "The receiver answered 500.",
        "retry_in": None if delivered else 300.0,
        "delivered_at": utc_now() if delivered else None,
    }
    following = {"token": uuid.uuid4(), "seconds": LEASE_SECONDS, "webhook_id": row.webhook_id}
    driver = api.app.state.database.driver  # the app's pool: PostgreSQL only
    if driver is not None:
        return await delivery_repository.finish_and_claim_driver(
            driver,
            **finished,
            next_token=following["token"],
            seconds=LEASE_SECONDS,
            webhook_id=row.webhook_id,
        )
    async with api.database.transaction() as session:
        recorded = await delivery_repository.finish_attempt(session, **finished)
    if not recorded:
        return False, None
    async with api.database.transaction() as session:
        rows = await delivery_repository.claim_due(session, limit=1, **following)
    return True, rows[0] if rows else None


async def test_a_delivered_attempt_hands_its_lane_the_same_setups_next_event(api: Api) -> None:
    hook, names = await webhook_with_events(api, ["a", "a", "b"])
    row, token = await first_claim(api, hook)
    assert names[row.event_id] == "a"
    recorded, following = await finish_and_claim(api, row, token, delivered=True)
    assert recorded
    # The next event of setup a, no longer blocked: the webhook's order is kept.
    assert following is not None
    assert names[following.event_id] == "a"
    assert following.event_id != row.event_id
    assert following.data == {"setup": "a"}


async def test_an_attempt_to_retry_blocks_its_setup_and_the_lane_takes_another(api: Api) -> None:
    hook, names = await webhook_with_events(api, ["a", "a", "b"])
    row, token = await first_claim(api, hook)
    recorded, following = await finish_and_claim(api, row, token, delivered=False)
    assert recorded
    # a's first event waits for its retry: a's second may not overtake it; b's may go.
    assert following is not None
    assert names[following.event_id] == "b"
    async with api.database.read() as connection:
        retried = (
            await connection.execute(
                select(Delivery.status, Delivery.attempts, Delivery.lease_token).where(
                    Delivery.id == row.id
                )
            )
        ).one()
    assert tuple(retried) == (DeliveryStatus.PENDING.value, 1, None)


async def test_a_lane_that_lost_its_claim_records_nothing_and_claims_nothing(api: Api) -> None:
    hook, _ = await webhook_with_events(api, ["a", "b"])
    row, _ = await first_claim(api, hook)
    recorded, following = await finish_and_claim(api, row, uuid.uuid4(), delivered=True)
    assert not recorded
    assert following is None
    # The delivery is still the other holder's, and the webhook still has one in flight.
    async with api.database.read() as connection:
        leased = await connection.scalar(select(Delivery.lease_token).where(Delivery.id == row.id))
    assert leased is not None


async def test_the_lane_never_takes_another_webhooks_delivery(api: Api) -> None:
    hook, _ = await webhook_with_events(api, ["a"])
    await webhook_with_events(api, ["b", "c"])
    row, token = await first_claim(api, hook)
    recorded, following = await finish_and_claim(api, row, token, delivered=True)
    assert recorded
    assert following is None
