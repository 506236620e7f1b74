"""Rate limits per API key (DESIGN.md section 10): RATE_LIMIT per minute, RateLimit-* headers."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from email_channels.app import create_app
from tests.support.fixtures_api import IN_CI, Api, api_settings

LIMIT = 30
LIST = "/v1/ws1/channels/ses-setup"
REDIS_URL = os.environ.get("EMAIL_CHANNELS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"rate_limit": LIMIT}


def counters(response: httpx.Response) -> tuple[int, int, int]:
    """RateLimit-Limit, -Remaining, -Reset as numbers."""
    headers = response.headers
    return (
        int(headers["RateLimit-Limit"]),
        int(headers["RateLimit-Remaining"]),
        int(headers["RateLimit-Reset"]),
    )


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    limit, remaining, reset = counters(response)
    assert (limit, remaining) == (LIMIT, 0)
    assert 0 <= reset <= 60


async def test_the_31st_request_of_a_key_in_a_minute_is_429_and_headers_count_down(
    api: Api,
) -> None:
    headers = await api.key()

    for sent in range(1, LIMIT + 1):
        response = await api.client.get(LIST, headers=headers)
        assert response.status_code == 200, response.text
        limit, remaining, reset = counters(response)
        assert (limit, remaining) == (LIMIT, LIMIT - sent)
        assert 0 <= reset <= 60
        assert "Retry-After" not in response.headers

    assert_limited(await api.client.get(LIST, headers=headers))
    # Refused requests are not counted, and do not push the window further out.
    assert_limited(await api.client.get(LIST, headers=headers))


async def test_another_key_is_unaffected_by_a_limited_one(api: Api) -> None:
    busy, other = await api.key(), await api.key()
    for _ in range(LIMIT):
        await api.client.get(LIST, headers=busy)
    assert_limited(await api.client.get(LIST, headers=busy))

    response = await api.client.get(LIST, headers=other)

    assert response.status_code == 200
    assert counters(response)[:2] == (LIMIT, LIMIT - 1)


async def test_every_authenticated_answer_carries_the_headers_an_unauthenticated_one_none(
    api: Api,
) -> None:
    headers = await api.key("ws1")

    forbidden = await api.client.get("/v1/ws2/channels/ses-setup", headers=headers)
    missing = await api.client.get(f"{LIST}/{uuid.uuid4()}", headers=headers)
    anonymous = await api.client.get(LIST)
    unknown = await api.client.get(LIST, headers={"Authorization": "Bearer not-a-key"})

    assert forbidden.status_code == 403
    assert counters(forbidden)[:2] == (LIMIT, LIMIT - 1)
    assert missing.status_code == 404
    assert counters(missing)[:2] == (LIMIT, LIMIT - 2)
    for response in (anonymous, unknown):
        assert response.status_code == 401
        assert "RateLimit-Limit" not in response.headers


async def test_the_limit_is_checked_before_any_ses_work(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    for _ in range(LIMIT):
        await api.client.get(LIST, headers=headers)
    body = {"tenant_name": f"rl-{uuid.uuid4().hex[:8]}", "domain_identity": "rl.example.test"}

    response = await api.client.post(LIST, json=body, headers=headers)

    assert_limited(response)
    assert sandbox.state()["tenants"] == []


async def test_a_limit_of_zero_turns_the_limiter_off(api: Api) -> None:
    app = create_app(api.settings.model_copy(update={"rate_limit": 0}))
    headers = await api.key()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(LIST, headers=headers)
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response.headers


# -- shared storage -----------------------------------------------------------------------


@pytest.fixture
async def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError):
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await client.aclose()
    return REDIS_URL


async def test_redis_storage_shares_the_count_between_two_app_instances(
    api: Api, redis_url: str
) -> None:
    settings = api_settings(
        **{**api.settings.model_dump(), "rate_limit_storage_uri": redis_url, "rate_limit": LIMIT}
    )
    first, second = create_app(settings), create_app(settings)
    headers = await api.key()  # a new key id: nothing of an earlier run is counted against it
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        one = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a")
        two = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b")
        async with one, two:
            for sent in range(1, LIMIT + 1):
                response = await (one if sent % 2 else two).get(LIST, headers=headers)
                assert response.status_code == 200
                assert counters(response)[1] == LIMIT - sent
            assert_limited(await one.get(LIST, headers=headers))
            assert_limited(await two.get(LIST, headers=headers))
            fresh = await two.get(LIST, headers=await api.key())
            assert fresh.status_code == 200
