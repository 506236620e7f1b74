"""Delivery faults: retries on the schedule, the delivery log, failed in the end; others flow.

The retry schedule is scaled down so that all nine attempts of a delivery fit in seconds.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from email_channels.webhooks.models import Delivery
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone
from tests.support.receiver import Receiver, verified_payload
from tests.support.worker import FAST_WORKER, eventually, running_worker

ATTEMPTS = 9  # the first and eight retries


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    # No rate limit: the test polls six delivery logs for a while.
    return {**FAST_WORKER, "webhook_retry_scale": 0.00005, "webhook_timeout": 0.5, "rate_limit": 0}


async def deliveries(api: Api, headers: dict[str, str], hook_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"/v1/ws1/webhooks/{hook_id}/deliveries", headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def subscribe(api: Api, headers: dict[str, str], url: str) -> dict[str, Any]:
    response = await api.client.post(
        "/v1/ws1/webhooks", json={"url": url, "events": ["ses_setup.created"]}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver(lambda path, number: 500 if number <= 3 else 200) as receiver:
        hook = await subscribe(api, headers, receiver.url())
        await api.create_setup(
            headers, tenant_name=f"r-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        async with running_worker(api):

            async def settled() -> list[dict[str, Any]] | None:
                items = await deliveries(api, headers, hook["id"])
                return items if items and items[0]["status"] != "pending" else None

            [delivery] = await eventually(settled, within=20, what="the delivery to settle")
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 4
    assert delivery["last_status_code"] == 200
    assert delivery["last_error"] is None
    assert delivery["delivered_at"] is not None
    received = receiver.on("/hook")
    assert len(received) == 4
    # Every attempt is the same message: same webhook-id, each one signed.
    assert {r.webhook_id for r in received} == {delivery["event_id"]}
    for attempt in received:
        verified_payload(hook["secret"], attempt)


FAILURES: dict[str, int | str] = {
    "/status-500": 500,
    "/status-404": 404,
    "/redirect": "redirect",
    "/garbage": "garbage",
    "/hang": "hang",
    "/close": "close",
}


def behaviour(path: str, number: int) -> int | str:
    return FAILURES.get(path, 204)


async def test_receivers_that_never_accept_end_failed_while_others_keep_getting_events(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver(behaviour) as receiver:
        bad = {path: await subscribe(api, headers, receiver.url(path)) for path in FAILURES}
        await subscribe(api, headers, receiver.url("/good"))
        async with running_worker(api):
            first = await api.create_setup(
                headers, tenant_name=f"f-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
            )
            # Meanwhile another setup's event reaches the healthy receiver.
            second = await api.create_setup(
                headers,
                tenant_name=f"g-{uuid.uuid4().hex[:8]}",
                domain_identity=f"second.{dns_zone.domain}",
            )
            await receiver.wait_for(
                lambda got: len([r for r in got if r.path == "/good"]) >= 2,
                within=10,
                what="both events at the healthy receiver",
            )

            async def all_failed() -> dict[str, list[dict[str, Any]]] | None:
                logs = {
                    path: await deliveries(api, headers, hook["id"]) for path, hook in bad.items()
                }
                done = all(
                    len(items) == 2 and all(item["status"] == "failed" for item in items)
                    for items in logs.values()
                )
                return logs if done else None

            logs = await eventually(
                all_failed, within=60, what="the bad deliveries to fail", interval=0.5
            )
    for path, items in logs.items():
        for delivery in items:
            assert delivery["attempts"] == ATTEMPTS, path
            assert delivery["next_attempt_at"] is None
            assert delivery["delivered_at"] is None
            assert delivery["last_error"], path
            failure = FAILURES[path]
            if isinstance(failure, int):
                assert delivery["last_status_code"] == failure
            elif failure == "redirect":
                assert delivery["last_status_code"] == 302
                assert "redirect" in delivery["last_error"].lower()
            else:
                assert delivery["last_status_code"] is None, path
    assert receiver.on("/elsewhere") == []  # a redirect is never followed
    good_ids = {r.json()["data"]["ses_setup"]["id"] for r in receiver.on("/good")}
    assert good_ids == {first["id"], second["id"]}


async def test_events_of_one_setup_reach_a_webhook_in_order_even_across_retries(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    # The first three attempts fail: `verified` must wait until `created` got through.
    with Receiver(lambda path, number: 500 if number <= 3 else 204) as receiver:
        response = await api.client.post(
            "/v1/ws1/webhooks", json={"url": receiver.url()}, headers=headers
        )
        assert response.status_code == 201
        setup = await api.create_setup(
            headers, tenant_name=f"o-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        dns_zone.publish_api_records(setup["dns_records"])
        url = f"/v1/ws1/channels/ses-setup/{setup['id']}"
        checked = (await api.client.post(f"{url}/verify", headers=headers)).json()
        assert checked["dns_verified"] is True  # both events are in the outbox now
        assert checked["ses_status"]["checked_at"] is None  # never refreshed by a read
        async with running_worker(api):
            received = await receiver.wait_for(
                lambda got: any(r.json()["type"] == "ses_setup.verified" for r in got),
                within=20,
                what="ses_setup.verified",
            )
    assert [r.json()["type"] for r in received] == ["ses_setup.created"] * 4 + [
        "ses_setup.verified"
    ]


async def test_deleting_a_webhook_cancels_its_pending_deliveries(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    hook = await subscribe(api, headers, "http://127.0.0.1:9/never")
    await api.create_setup(
        headers, tenant_name=f"c-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
    )
    pending = await deliveries(api, headers, hook["id"])
    assert [(d["status"], d["attempts"]) for d in pending] == [("pending", 0)]
    gone = await api.client.delete(f"/v1/ws1/webhooks/{hook['id']}", headers=headers)
    assert gone.status_code == 204
    async with api.database.read() as connection:
        left = await connection.scalar(
            select(func.count()).where(Delivery.webhook_id == uuid.UUID(hook["id"]))
        )
    assert left == 0
