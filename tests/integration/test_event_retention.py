"""Events retention: past EVENT_RETENTION after their last delivery ended (or after they
happened, when no webhook wanted them), events and their deliveries are gone after a worker
pass; recent ones and any with a delivery still owed remain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook
from tests.support.fixtures_api import Api
from tests.support.receiver import Receiver
from tests.support.worker import FAST_WORKER, eventually, running_worker

RETENTION = 3600.0
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(hours=3)  # past retention
LATELY = NOW - timedelta(minutes=10)  # within it
FAR_AHEAD = NOW + timedelta(days=1)  # a retry not due during the test

DELIVERED = DeliveryStatus.DELIVERED.value
FAILED = DeliveryStatus.FAILED.value
PENDING = DeliveryStatus.PENDING.value

# event name: when it happened, and its deliveries (status, ended at)
CASES: dict[str, tuple[datetime, list[tuple[str, datetime | None]]]] = {
    "delivered-long-ago": (LONG_AGO, [(DELIVERED, LONG_AGO)]),
    "failed-long-ago": (LONG_AGO, [(FAILED, LONG_AGO)]),
    "unwanted-long-ago": (LONG_AGO, []),
    "delivered-lately": (LONG_AGO, [(DELIVERED, LATELY)]),
    "still-pending": (LONG_AGO, [(PENDING, None)]),
    "one-of-two-pending": (LONG_AGO, [(DELIVERED, LONG_AGO), (PENDING, None)]),
    "unwanted-lately": (LATELY, []),
}
GONE = {"delivered-long-ago", "failed-long-ago", "unwanted-long-ago"}


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    # Retries scaled down so that a delivery fails for good within seconds.
    return {
        **FAST_WORKER,
        "event_retention": RETENTION,
        "webhook_retry_scale": 0.00005,
        "webhook_timeout": 0.5,
    }


async def _plant(api: Api) -> uuid.UUID:
    """A webhook and every case's event and deliveries, as the outbox and worker left them."""
    webhook = Webhook(
        id=uuid.uuid4(),
        workspace_id="ws1",
        url="https://receiver.invalid/hook",
        events=["ses_setup.created"],
        description=None,
        secret="whsec_dGVzdA==",
        created_at=LONG_AGO - timedelta(days=1),
    )
    async with api.database.transaction() as session:
        session.add(webhook)
        await session.flush()
        for name, (occurred_at, deliveries) in CASES.items():
            event = Event(
                id=f"evt_{uuid.uuid4().hex}",
                workspace_id="ws1",
                setup_id=None,
                type="ses_setup.created",
                occurred_at=occurred_at,
                data={"case": name},
            )
            session.add(event)
            await session.flush()
            for status, ended_at in deliveries:
                session.add(
                    Delivery(
                        id=uuid.uuid4(),
                        webhook_id=webhook.id,
                        event_seq=event.seq,
                        event_id=event.id,
                        event_type=event.type,
                        setup_id=None,
                        status=status,
                        attempts=1,
                        next_attempt_at=FAR_AHEAD if status == PENDING else None,
                        delivered_at=ended_at if status == DELIVERED else None,
                        ended_at=ended_at,
                        created_at=occurred_at,
                    )
                )
    return webhook.id


async def _cases_left(api: Api) -> dict[str, int]:
    """The cases whose event remains, with how many deliveries each still has."""
    async with api.database.transaction() as session:
        events = (await session.execute(select(Event.seq, Event.data))).all()
        deliveries = list(await session.scalars(select(Delivery.event_seq)))
    return {data["case"]: deliveries.count(seq) for seq, data in events}


async def test_events_past_retention_are_gone_after_a_worker_pass_and_recent_ones_remain(
    api: Api,
) -> None:
    await _plant(api)
    assert set(await _cases_left(api)) == set(CASES)

    async with running_worker(api):

        async def purged() -> bool:
            return not GONE & set(await _cases_left(api))

        await eventually(purged, within=20, what="the purge of events past retention")

    assert await _cases_left(api) == {
        "delivered-lately": 1,
        "still-pending": 1,
        "one-of-two-pending": 2,  # a pending delivery keeps its event and its siblings
        "unwanted-lately": 0,
    }


async def test_a_delivery_records_when_it_ended_delivered_or_failed(api: Api) -> None:
    headers = await api.key()
    with Receiver(lambda path, number: 200 if path == "/ok" else 500) as receiver:
        for path in ("/ok", "/broken"):
            response = await api.client.post(
                "/v1/ws1/webhooks",
                json={"url": receiver.url(path), "events": ["ses_setup.created"]},
                headers=headers,
            )
            assert response.status_code == 201, response.text
        name = uuid.uuid4().hex[:10]
        await api.create_setup(
            headers, tenant_name=f"t-{name}", domain_identity=f"d-{name}.example.test"
        )

        async def ended() -> list[Any] | None:
            async with api.database.transaction() as session:
                rows = (await session.execute(select(Delivery.status, Delivery.ended_at))).all()
            return rows if rows and all(row.status != PENDING for row in rows) else None

        async with running_worker(api):
            rows = await eventually(ended, within=30, what="both deliveries to end")

    assert sorted(row.status for row in rows) == [DELIVERED, FAILED]
    assert all(row.ended_at is not None for row in rows)
