"""Idempotency-Key on the two POST creates."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from email_channels.db.base import utc_now
from email_channels.idempotency.models import IdempotencyKey
from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"


def _body() -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    return {"tenant_name": f"t-{name}", "domain_identity": f"d-{name}.example.test"}


async def test_a_retry_gets_the_first_answer_again(api: Api, sandbox: Any) -> None:
    headers = {**await api.key(), "Idempotency-Key": "create-1"}
    body = _body()
    first = await api.client.post(URL, json=body, headers=headers)
    # The same request, its fields in another order.
    again = await api.client.post(URL, json=dict(reversed(list(body.items()))), headers=headers)

    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert len(sandbox.state()["tenants"]) == 1


@pytest.mark.parametrize("spelling", ["other", "upper-case domain"])
async def test_the_same_key_with_another_body_is_422(api: Api, spelling: str) -> None:
    headers = {**await api.key(), "Idempotency-Key": "create-2"}
    body = _body()
    assert (await api.client.post(URL, json=body, headers=headers)).status_code == 201
    if spelling == "other":
        second = _body()
    else:  # the same setup to the service, but not the same body
        second = {**body, "domain_identity": body["domain_identity"].upper()}
    response = await api.client.post(URL, json=second, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_the_same_key_while_the_first_runs_is_409(api: Api, sandbox: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", error_code=None, delay_seconds=1.0)
    headers = {**await api.key(), "Idempotency-Key": "create-3"}
    body = _body()
    first = asyncio.ensure_future(api.client.post(URL, json=body, headers=headers))
    deadline = time.monotonic() + 5
    while sandbox.pending_faults():  # until the first request has reached SES
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)

    second = await api.client.post(URL, json=body, headers=headers)

    assert second.status_code == 409
    assert "still running" in second.json()["detail"]
    assert (await first).status_code == 201


async def test_after_a_5xx_the_key_is_free_and_a_retry_really_runs(api: Api, sandbox: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", http_status=503, times=10)
    headers = {**await api.key(), "Idempotency-Key": "create-4"}
    body = _body()
    assert (await api.client.post(URL, json=body, headers=headers)).status_code == 502
    sandbox.clear_faults()

    retry = await api.client.post(URL, json=body, headers=headers)

    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers


async def test_a_finished_4xx_is_replayed(api: Api) -> None:
    plain = await api.key()
    body = _body()
    await api.create_setup(plain, **body)
    headers = {**plain, "Idempotency-Key": "create-5"}
    first = await api.client.post(URL, json=body, headers=headers)
    again = await api.client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"


async def test_keys_are_scoped_to_the_api_key_and_the_endpoint(api: Api) -> None:
    mine = {**await api.key(), "Idempotency-Key": "shared"}
    other = {**await api.key(), "Idempotency-Key": "shared"}
    setup = (await api.client.post(URL, json=_body(), headers=mine)).json()
    response = await api.client.post(URL, json=_body(), headers=other)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    use_case = await api.client.post(
        "/v1/ws1/use-cases", json={"name": "x", "ses_setup_id": setup["id"]}, headers=mine
    )
    assert use_case.status_code == 201
    assert "idempotent-replayed" not in use_case.headers


async def test_keys_expire_after_24_hours(api: Api) -> None:
    headers = {**await api.key(), "Idempotency-Key": "create-6"}
    first = await api.client.post(URL, json=_body(), headers=headers)
    assert first.status_code == 201
    async with api.database.transaction() as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utc_now() - timedelta(hours=25))
        )

    response = await api.client.post(URL, json=_body(), headers=headers)

    assert response.status_code == 201
    assert response.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_a_malformed_key_is_422(api: Api, key: str) -> None:
    headers = {**await api.key(), "Idempotency-Key": key}
    response = await api.client.post(URL, json=_body(), headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
