"""The console is the API (section 13): the key's rate limit, the access line, the cookie."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from email_channels.console.session import CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE
from tests.support.fixtures_api import Api

ACCESS_LOGGER = "email_channels.access"
LIMIT = 3


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"rate_limit": LIMIT}


async def console_key(api: Api, workspace: str = "ws-console") -> tuple[str, str]:
    """(key id, secret) of a key that may view the workspace's setups."""
    key, secret = await create_key(
        api.database, workspace_id=workspace, permissions=list(Permission), name="console"
    )
    return str(key.id), secret


def signed_in(secret: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={secret}"}


async def test_console_requests_count_against_the_keys_rate_limit(api: Api) -> None:
    _, secret = await console_key(api)
    pages = [await api.client.get("/console", headers=signed_in(secret)) for _ in range(2)]
    assert [page.status_code for page in pages] == [200, 200]
    # The API's requests and the console's share one count: the key's.
    api_answer = await api.client.get(
        "/v1/ws-console/channels/ses-setup", headers={"Authorization": f"Bearer {secret}"}
    )
    assert api_answer.status_code == 200
    assert api_answer.headers["RateLimit-Remaining"] == "0"
    refused = await api.client.get("/console", headers=signed_in(secret))
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in refused.text
    assert "requests in a minute" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1


async def test_signing_in_over_the_rate_limit_is_a_429_page(api: Api) -> None:
    _, secret = await console_key(api)
    for _ in range(LIMIT):
        await api.client.get("/console", headers=signed_in(secret))
    response = await api.client.post(
        "/console/sign-in",
        data={"api_key": secret, CSRF_FIELD: "token"},
        headers={"Cookie": f"{SIGN_IN_COOKIE}=token"},
    )
    assert response.status_code == 429
    assert 'role="alert"' in response.text
    cookies = response.headers.get_list("set-cookie")
    assert not [cookie for cookie in cookies if cookie.startswith(f"{SESSION_COOKIE}=")]


async def test_the_access_line_of_a_console_request_names_the_workspace_and_key(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    key_id, secret = await console_key(api)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    response = await api.client.get("/console", headers=signed_in(secret))
    assert response.status_code == 200
    [line] = [r.msg for r in caplog.records if r.name == ACCESS_LOGGER and isinstance(r.msg, dict)]
    assert line["route"] == "/console"
    assert line["workspace_id"] == "ws-console"
    assert line["api_key_id"] == key_id
    assert secret not in str(line)


async def sign_in(client: httpx.AsyncClient, secret: str, **headers: str) -> httpx.Response:
    response = await client.post(
        "/console/sign-in",
        data={"api_key": secret, CSRF_FIELD: "token"},
        headers={"Cookie": f"{SIGN_IN_COOKIE}=token", **headers},
    )
    assert response.status_code == 303, response.text
    return response


def session_cookie(response: httpx.Response) -> str:
    [cookie] = [
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    ]
    return cookie.lower()


async def test_behind_a_listed_proxy_forwarded_https_makes_the_cookie_secure(api: Api) -> None:
    _, secret = await console_key(api)
    assert api.settings.forwarded_allow_ips == "127.0.0.1"  # the default; the client is there
    plain = await sign_in(api.client, secret)
    assert "secure" not in session_cookie(plain).split("; ")
    forwarded = await sign_in(api.client, secret, **{"X-Forwarded-Proto": "https"})
    assert "secure" in session_cookie(forwarded).split("; ")


async def test_a_forwarded_proto_from_an_unlisted_address_is_not_believed(api: Api) -> None:
    _, secret = await console_key(api)
    transport = httpx.ASGITransport(app=api.app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as stranger:
        response = await sign_in(stranger, secret, **{"X-Forwarded-Proto": "https"})
    assert "secure" not in session_cookie(response).split("; ")
