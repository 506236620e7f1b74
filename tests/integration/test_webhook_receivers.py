"""Hostile receivers (section 13): endless answers, hanging receivers, many webhooks."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from email_channels import __version__
from email_channels.db.base import utc_now
from email_channels.webhooks.delivery import LANE_ATTEMPTS, Deliverer
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook
from email_channels.worker.loop import Worker
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone
from tests.support.receiver import Receiver
from tests.support.worker import FAST_WORKER, eventually, running_worker

MB = 1024 * 1024


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    # A long attempt timeout: a receiver that hangs holds its attempt for all of it, so a
    # delivery that waited for one would be late by far more than a polling interval.
    return {**FAST_WORKER, "webhook_timeout": 20.0}


def resident_bytes() -> int:
    """This process's resident set size now (not its peak, which earlier tests may set)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def subscribe(
    api: Api,
    headers: dict[str, str],
    url: str,
    *,
    workspace: str = "ws1",
    events: tuple[str, ...] = ("ses_setup.created",),
) -> dict[str, Any]:
    response = await api.client.post(
        f"/v1/{workspace}/webhooks", json={"url": url, "events": list(events)}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def delivery_log(
    api: Api, headers: dict[str, str], hook_id: str, *, workspace: str = "ws1"
) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/v1/{workspace}/webhooks/{hook_id}/deliveries", headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def delivery_interval(worker: Worker) -> float:
    """How long the worker's delivery job waits when it found nothing to claim."""
    [job] = [job for job in worker.jobs if job.name == "deliveries"]
    return job.every


async def test_an_endless_answer_is_read_no_further_than_64_kib_and_counts_as_delivered(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver(lambda path, number: "endless") as receiver:
        hook = await subscribe(api, headers, receiver.url())
        async with running_worker(api):
            baseline = resident_bytes()
            peak = baseline
            await api.create_setup(
                headers, tenant_name=f"e-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
            )

            async def settled() -> list[dict[str, Any]] | None:
                nonlocal peak
                peak = max(peak, resident_bytes())
                items = await delivery_log(api, headers, hook["id"])
                return items if items and items[0]["status"] != "pending" else None

            [delivery] = await eventually(
                settled, within=15, what="the delivery to settle", interval=0.01
            )
            peak = max(peak, resident_bytes())
    assert delivery["status"] == "delivered", delivery
    assert delivery["last_status_code"] == 200
    assert receiver.hung_up.is_set(), "the worker never closed the endless answer"
    assert peak - baseline < 64 * MB, f"grew {(peak - baseline) / MB:.0f} MB"
    [request] = receiver.on("/hook")
    assert request.headers["user-agent"] == f"email-channels/{__version__}"


async def test_hanging_receivers_of_two_workspaces_do_not_delay_a_third_workspaces_event(
    api: Api, dns_zone: TestZone
) -> None:
    cap = api.settings.webhooks_per_workspace
    crowd = {"crowd-a": await api.key("crowd-a"), "crowd-b": await api.key("crowd-b")}
    mine = await api.key("quiet-c")
    async with running_worker(api) as worker:
        with (
            Receiver(lambda path, number: "hang") as hanging,
            Receiver(lambda path, number: 204) as fast,
        ):
            for workspace, headers in crowd.items():
                for number in range(cap):
                    await subscribe(
                        api, headers, hanging.url(f"/{workspace}/{number}"), workspace=workspace
                    )
                await api.create_setup(
                    headers,
                    workspace=workspace,
                    tenant_name=f"{workspace}-{uuid.uuid4().hex[:6]}",
                    domain_identity=f"{workspace}.{dns_zone.domain}",
                )
            # Every one of the 40 attempts is in flight, hanging, before the third event.
            await hanging.wait_for(
                lambda got: len(got) >= 2 * cap, within=15, what="40 hanging attempts"
            )
            await subscribe(api, mine, fast.url(), workspace="quiet-c")
            await api.create_setup(
                mine,
                workspace="quiet-c",
                tenant_name=f"quiet-{uuid.uuid4().hex[:6]}",
                domain_identity=f"quiet.{dns_zone.domain}",
            )
            started = time.monotonic()  # the event and its delivery are stored by now
            # Claimed at the next pass, which comes within one polling interval; the bound
            # leaves two more for the claim and a loopback POST on a busy machine. Waiting
            # behind the hanging attempts would take their whole timeout (20 s).
            bound = 3 * delivery_interval(worker)
            await fast.wait_for(
                lambda got: len(got) == 1, within=bound + 5, what="the third workspace's event"
            )
            elapsed = time.monotonic() - started
            assert elapsed <= bound, f"took {elapsed:.2f} s; the polling interval allows {bound}"


async def test_one_webhook_has_at_most_one_attempt_in_flight(api: Api, dns_zone: TestZone) -> None:
    headers = await api.key()
    with Receiver(lambda path, number: "hang") as hanging:
        hook = await subscribe(api, headers, hanging.url())
        for number in range(3):
            await api.create_setup(
                headers,
                tenant_name=f"one-{number}-{uuid.uuid4().hex[:6]}",
                domain_identity=f"s{number}.{dns_zone.domain}",
            )
        async with running_worker(api) as worker:
            await hanging.wait_for(lambda got: len(got) >= 1, within=10, what="the first attempt")
            # Several more passes of the claim while the first attempt hangs.
            deadline = time.monotonic() + 4 * delivery_interval(worker)
            while time.monotonic() < deadline:
                async with api.database.read() as connection:
                    leased = (
                        await connection.execute(
                            select(Delivery.id).where(
                                Delivery.webhook_id == uuid.UUID(hook["id"]),
                                Delivery.lease_token.is_not(None),
                            )
                        )
                    ).all()
                assert len(leased) <= 1
                await asyncio.sleep(0.05)
            assert len(hanging.received) == 1


async def test_the_webhook_after_the_workspace_cap_is_a_409(api: Api) -> None:
    headers = await api.key("capped")
    api.app.state.webhooks._allow_private = True
    cap = api.settings.webhooks_per_workspace
    assert cap == 20  # the default
    for number in range(cap):
        response = await api.client.post(
            "/v1/capped/webhooks", json={"url": f"http://127.0.0.1:9/{number}"}, headers=headers
        )
        assert response.status_code == 201, response.text
    refused = await api.client.post(
        "/v1/capped/webhooks", json={"url": "http://127.0.0.1:9/one-more"}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert str(cap) in refused.json()["detail"]
    # Another workspace is not counted against this one.
    other = await api.key("uncapped")
    response = await api.client.post(
        "/v1/uncapped/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=other
    )
    assert response.status_code == 201


async def test_an_internationalised_host_is_delivered_to_its_idna_form(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        port = receiver.url().split(":")[2].split("/")[0]
        # A name under `localhost` is loopback (RFC 6761), here as for any resolver.
        hook = await subscribe(api, headers, f"http://bücher.localhost:{port}/idn")
        assert hook["url"] == f"http://bücher.localhost:{port}/idn"
        async with running_worker(api):
            await api.create_setup(
                headers, tenant_name=f"i-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
            )
            [request] = await receiver.wait_for(
                lambda got: len(got) == 1, within=10, what="the delivery to the IDN host"
            )
    assert request.path == "/idn"
    assert request.headers["host"] == f"xn--bcher-kva.localhost:{port}"
    [delivery] = await delivery_log(api, headers, hook["id"])
    assert delivery["status"] == "delivered"


async def test_a_stored_url_with_a_control_character_fails_cleanly_without_blocking_later_events(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        hook = await subscribe(
            api, headers, receiver.url(), events=("ses_setup.created", "ses_setup.deleted")
        )
        # Stored before the API refused such URLs: the attempt must fail, not raise.
        async with api.database.transaction() as session:
            await session.execute(
                update(Webhook)
                .where(Webhook.id == uuid.UUID(hook["id"]))
                .values(url=receiver.url("/bad\x01\r\nX-Injected: 1"))
            )
        setup = await api.create_setup(
            headers, tenant_name=f"c-{uuid.uuid4().hex[:8]}", domain_identity=dns_zone.domain
        )
        deleted = await api.client.delete(
            f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers
        )
        assert deleted.status_code == 204, deleted.text
        async with running_worker(api):

            async def both_failed() -> list[dict[str, Any]] | None:
                items = await delivery_log(api, headers, hook["id"])
                done = len(items) == 2 and all(item["status"] == "failed" for item in items)
                return items if done else None

            items = await eventually(both_failed, within=10, what="both deliveries to fail")
    assert receiver.received == []
    for item in items:
        assert item["attempts"] == 1  # a malformed URL is not retried
        assert "control characters" in item["last_error"]


async def due_to_one_webhook(api: Api, url: str, count: int) -> None:
    """A webhook at `url` with `count` due deliveries, each of a setup of its own."""
    now = utc_now()
    hook_id = uuid.uuid4()
    async with api.database.transaction() as session:
        await session.execute(
            insert(Webhook).values(
                id=hook_id,
                workspace_id="ws1",
                url=url,
                events=["ses_setup.created"],
                description=None,
                secret="whsec_dGVzdA==",
                created_at=now,
            )
        )
        for _ in range(count):
            event_id = f"evt_{uuid.uuid4().hex}"
            seq = await session.scalar(
                insert(Event)
                .values(
                    id=event_id,
                    workspace_id="ws1",
                    setup_id=uuid.uuid4(),
                    type="ses_setup.created",
                    occurred_at=now,
                    data={},
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
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


async def test_a_lane_that_used_its_attempts_hands_over_to_the_fair_claim_at_once(
    api: Api,
) -> None:
    """One pass of the delivery job delivers more than a lane's LANE_ATTEMPTS.

    A lane used to end after LANE_ATTEMPTS in a row and leave its webhook to the job's next
    pass (up to half a second later); before that it even claimed one more delivery on its
    way out and never attempted it, which held the webhook for the claim's whole lease.
    """
    due = 2 * LANE_ATTEMPTS + 3
    with Receiver(keep_alive=True) as receiver:
        await due_to_one_webhook(api, receiver.url(), due)
        deliverer = Deliverer(db=api.database, timeout=5.0, retry_scale=0.01, allow_private=True)
        try:
            assert await deliverer.deliver_due() == 1  # the job's one pass: one lane
            received = await receiver.wait_for(
                lambda got: len(got) >= due, within=20, what=f"{due} deliveries"
            )
        finally:
            await deliverer.close()
    assert len({r.webhook_id for r in received}) == due
