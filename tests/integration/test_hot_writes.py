"""The one-statement writes of the hot paths write what the transactions they stand for write.

On PostgreSQL a create ends its lease (setup `active`, `ses_setup.created` and its deliveries)
in one statement, and a client's check that announces nothing is stored in one statement
(db/driver.py). SQLite takes the transactions; both must leave the same rows behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from email_channels.db.clock import database_now
from email_channels.ses_setups import repository
from email_channels.ses_setups.lifecycle import SetupLifecycle
from email_channels.ses_setups.models import SesSetup
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.webhooks.models import Delivery, Event
from email_channels.webhooks.outbox import setup_item_json
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

URL = "/v1/ws1/channels/ses-setup"
VERIFIED_INTERVAL = 86400.0
MIN_INTERVAL = 60.0


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    # Webhooks on a closed loopback port: no worker runs here, so nothing is ever delivered.
    return {
        "webhook_allow_private": True,
        "check_interval_min": MIN_INTERVAL,
        "verified_check_interval": VERIFIED_INTERVAL,
    }


def _on_postgresql(api: Api) -> bool:
    return api.database.engine.dialect.name == "postgresql"


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of `repository.<name>` (the one-statement path)."""
    calls: list[int] = []
    original: Callable[..., Any] = getattr(repository, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(repository, name, counted)
    return calls


async def _webhook(api: Api, headers: dict[str, str], *, workspace: str, events: list[str]) -> str:
    response = await api.client.post(
        f"/v1/{workspace}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": events},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _row(api: Api, setup_id: str) -> SesSetup:
    async with api.database.transaction() as session:
        row = await session.get(SesSetup, uuid.UUID(setup_id))
        assert row is not None
        return row


async def test_a_create_writes_the_created_event_and_a_delivery_per_subscribed_webhook(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch, "activate_created_driver")
    headers = await api.key()
    other_headers = await api.key("ws2")
    subscribed = await _webhook(api, headers, workspace="ws1", events=["ses_setup.created"])
    await _webhook(api, headers, workspace="ws1", events=["ses_setup.verified"])
    await _webhook(api, other_headers, workspace="ws2", events=["ses_setup.created"])

    detail = await api.create_setup(
        headers, tenant_name="t-hot-create", domain_identity="hot-create.example.test"
    )

    assert len(calls) == (1 if _on_postgresql(api) else 0)
    row = await _row(api, detail["id"])
    assert row.state == "active"
    assert row.lease_token is None
    assert row.lease_expires_at is None
    assert len(row.dkim_tokens) == 3
    assert row.signing_hosted_zone
    async with api.database.transaction() as session:
        events = (await session.execute(select(Event))).scalars().all()
        deliveries = (await session.execute(select(Delivery))).scalars().all()
    assert [(e.type, e.workspace_id, str(e.setup_id)) for e in events] == [
        ("ses_setup.created", "ws1", detail["id"])
    ]
    assert events[0].id.startswith("evt_")
    assert events[0].data == {"workspace_id": "ws1", "ses_setup": setup_item_json(row)}
    assert [
        (str(d.webhook_id), d.event_seq, d.event_id, d.event_type, d.status, d.attempts)
        for d in deliveries
    ] == [(subscribed, events[0].seq, events[0].id, "ses_setup.created", "pending", 0)]
    assert str(deliveries[0].setup_id) == detail["id"]
    assert deliveries[0].next_attempt_at == events[0].occurred_at == deliveries[0].created_at


async def test_a_create_whose_lease_was_taken_writes_nothing_more(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is checked by the same statement that activates and writes the event."""
    taken = uuid.uuid4()
    original = SetupLifecycle._renew_provisioned

    async def renew_then_lose_the_lease(self: Any, setup: Any, lease: Any) -> None:
        await original(self, setup, lease)
        async with api.database.transaction() as session:
            await session.execute(
                update(SesSetup).where(SesSetup.id == setup.id).values(lease_token=taken)
            )

    monkeypatch.setattr(SetupLifecycle, "_renew_provisioned", renew_then_lose_the_lease)
    headers = await api.key()
    response = await api.client.post(
        URL,
        json={"tenant_name": "t-hot-lost", "domain_identity": "hot-lost.example.test"},
        headers=headers,
    )

    assert response.status_code == 503, response.text
    async with api.database.transaction() as session:
        row = (await session.execute(select(SesSetup))).scalars().one()
        assert (await session.execute(select(Event))).first() is None
    assert row.state == "provisioning"
    assert row.lease_token == taken


async def _seconds_until(api: Api, moment: Any) -> float:
    async with api.database.transaction() as session:
        now = await session.scalar(select(database_now()))
    assert now is not None
    return float((moment - now) / timedelta(seconds=1))


async def test_reads_store_their_check_and_announce_verified_once(
    api: Api, dns_zone: TestZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch, "store_check_driver")
    headers = await api.key()
    setup = await api.create_setup(
        headers, tenant_name=f"t-{uuid.uuid4().hex[:10]}", domain_identity=dns_zone.domain
    )
    records = [
        ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
        for r in setup["dns_records"]
    ]
    dns_zone.publish(records)
    async with api.database.transaction() as session:
        await session.execute(
            update(SesSetup).where(SesSetup.id == uuid.UUID(setup["id"])).values(failed_checks=3)
        )

    first = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    second = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()

    assert first["dns_verified"] is second["dns_verified"] is True
    # The first read announces (the transaction); the second has nothing to announce.
    assert len(calls) == (1 if _on_postgresql(api) else 0)
    row = await _row(api, setup["id"])
    assert row.dns_verified is True
    assert row.announced_verified is True
    assert row.failed_checks == 0
    assert row.check_interval == MIN_INTERVAL
    assert [r["status"] for r in row.dns_results] == ["verified"] * len(records)
    assert row.dns_checked_at is not None
    assert row.check_claimed_until is None
    assert (
        VERIFIED_INTERVAL - 60 < await _seconds_until(api, row.next_check_at) <= VERIFIED_INTERVAL
    )
    async with api.database.transaction() as session:
        types = (await session.execute(select(Event.type).order_by(Event.seq))).scalars().all()
    assert types == ["ses_setup.created", "ses_setup.verified"]

    dns_zone.unpublish(records[0])
    async with api.database.transaction() as session:
        await session.execute(
            update(SesSetup).where(SesSetup.id == uuid.UUID(setup["id"])).values(failed_checks=1)
        )
    broken = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()

    assert broken["dns_verified"] is False
    assert len(calls) == (2 if _on_postgresql(api) else 0)
    row = await _row(api, setup["id"])
    assert row.dns_verified is False
    assert row.dns_results[0]["status"] == "missing"
    assert row.failed_checks == 1  # a client's look neither counts nor resets
    assert row.announced_verified is True  # a read never announces `unverified`
    assert 0 < await _seconds_until(api, row.next_check_at) <= MIN_INTERVAL
    async with api.database.transaction() as session:
        assert len((await session.execute(select(Event))).all()) == 2
