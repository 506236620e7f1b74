"""The webhooks API (section 8): create, read, list, delete, deliveries; rules on input."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from email_channels.auth.permissions import Permission
from tests.support.fixtures_api import Api

# No setup ever exists in this workspace, so no event can fire towards what the guard is
# tested with; and whatever a faulty guard lets through is deleted at once.
QUIET_WS = "ssrf-guard"


async def create(api: Api, headers: dict[str, str], body: Any, ws: str = "ws1") -> httpx.Response:
    response = await api.client.post(f"/v1/{ws}/webhooks", json=body, headers=headers)
    if response.status_code == 201:
        created = response.json()
        if ws == QUIET_WS:
            await api.client.delete(f"/v1/{ws}/webhooks/{created['id']}", headers=headers)
    return response


def fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "ftp://files.example.com/hook",
        "https://user:pw@127.0.0.1/hook",
        "not a url",
        "https:///no-host",
        # Special-purpose IPv6 spellings (section 13)
        "https://[64:ff9b::a9fe:a9fe]/latest",
        "https://[64:ff9b:1::808:808]/hook",
        "https://[::127.0.0.1]/hook",
        "https://[::a9fe:a9fe]/hook",
        "https://[2002:a9fe:a9fe::1]/hook",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "https://[fec0::1]/hook",
        "https://[fd00::1]/hook",
        # Control characters, spaces and hosts that do not parse
        "https://hooks.example.com/\x01",
        "https://hooks.example.com/a\r\nX-Injected: 1",
        "https://hooks .example.com/hook",
        "https://hooks.example.com/a b",
        "https://hooks..example.com/hook",
        "https://[::1/hook",
        "https://exa$mple.com/hook",
    ],
)
async def test_private_or_malformed_urls_are_refused_without_allow_private(
    api: Api, url: str
) -> None:
    headers = await api.key(QUIET_WS, [Permission.WEBHOOK_MANAGE])
    response = await create(api, headers, {"url": url}, ws=QUIET_WS)
    assert response.status_code == 422, response.text
    assert fields(response) == ["url"]


@pytest.mark.parametrize("host", ["localhost", "anything.localhost", "127.0.0.1.nip.invalid"])
async def test_a_refusal_never_names_the_address_a_host_resolved_to(api: Api, host: str) -> None:
    headers = await api.key(QUIET_WS, [Permission.WEBHOOK_MANAGE])
    response = await create(api, headers, {"url": f"https://{host}/hook"}, ws=QUIET_WS)
    assert response.status_code == 422, response.text
    assert fields(response) == ["url"]
    text = response.text.replace(host, "")
    assert "127.0.0.1" not in text
    assert "::1" not in text


async def test_create_answers_the_secret_once_and_reads_never_show_it(api: Api) -> None:
    headers = await api.key(permissions=[Permission.WEBHOOK_MANAGE])
    api.app.state.webhooks._allow_private = True  # a local URL, this test only
    response = await create(api, headers, {"url": "http://127.0.0.1:9/hook", "description": "ops"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/ws1/webhooks/{created['id']}"
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["events"] == [
        "ses_setup.created",
        "ses_setup.verified",
        "ses_setup.unverified",
        "ses_setup.ses_verified",
        "ses_setup.deleted",
        "ses_setup.expired",
        "ses_setup.sending_paused",
        "ses_setup.sending_resumed",
        "ses_setup.repaired",
    ]
    one = (await api.client.get(f"/v1/ws1/webhooks/{created['id']}", headers=headers)).json()
    assert "secret" not in one
    assert one["description"] == "ops"
    page = (await api.client.get("/v1/ws1/webhooks", headers=headers)).json()
    assert [item["id"] for item in page["items"]] == [created["id"]]
    assert "secret" not in page["items"][0]
    log = await api.client.get(f"/v1/ws1/webhooks/{created['id']}/deliveries", headers=headers)
    assert log.json() == {"items": [], "continuation_token": None}
    gone = await api.client.delete(f"/v1/ws1/webhooks/{created['id']}", headers=headers)
    assert gone.status_code == 204
    again = await api.client.get(f"/v1/ws1/webhooks/{created['id']}", headers=headers)
    assert again.status_code == 404


async def test_list_pages_newest_first_with_a_continuation_token(api: Api) -> None:
    headers = await api.key()
    api.app.state.webhooks._allow_private = True
    ids = []
    for number in range(3):
        response = await create(api, headers, {"url": f"http://127.0.0.1:9/{number}"})
        ids.append(response.json()["id"])
    first = (await api.client.get("/v1/ws1/webhooks?limit=2", headers=headers)).json()
    token = first["continuation_token"]
    second = (
        await api.client.get(
            f"/v1/ws1/webhooks?limit=2&continuation_token={token}", headers=headers
        )
    ).json()
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert seen == list(reversed(ids))
    assert second["continuation_token"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.example.com/x", "events": ["ses_setup.exploded"]}, "events"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "description": "d" * 257}, "description"),
        ({"url": "https://hooks.example.com/x", "colour": "red"}, "colour"),
        ({}, "url"),
    ],
)
async def test_invalid_bodies_are_422_on_their_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    headers = await api.key(QUIET_WS)
    response = await create(api, headers, body, ws=QUIET_WS)
    assert response.status_code == 422, response.text
    assert field in fields(response)


async def test_webhooks_need_the_webhook_manage_permission(api: Api) -> None:
    headers = await api.key(permissions=[Permission.CHANNEL_VIEW, Permission.CHANNEL_CREATE])
    assert (await api.client.get("/v1/ws1/webhooks", headers=headers)).status_code == 403
    response = await create(api, headers, {"url": "https://hooks.example.com/x"})
    assert response.status_code == 403


async def test_another_workspaces_webhook_is_a_404(api: Api) -> None:
    mine, theirs = await api.key("ws1"), await api.key("ws2")
    api.app.state.webhooks._allow_private = True
    created = (await create(api, theirs, {"url": "http://127.0.0.1:9/x"}, ws="ws2")).json()
    for path in (f"/v1/ws1/webhooks/{created['id']}", f"/v1/ws1/webhooks/{uuid.uuid4()}"):
        assert (await api.client.get(path, headers=mine)).status_code == 404
        assert (await api.client.delete(path, headers=mine)).status_code == 404
        deliveries = await api.client.get(f"{path}/deliveries", headers=mine)
        assert deliveries.status_code == 404
