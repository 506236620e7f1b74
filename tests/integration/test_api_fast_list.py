"""The list's fast path (ses_setups/fast_list.py) answers exactly what the route answers."""

from __future__ import annotations

import uuid

import pytest

from email_channels.auth.permissions import Permission
from email_channels.ses_setups import fast_list
from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"
# Headers that differ between any two answers, whichever path gave them.
PER_ANSWER = {"x-request-id", "ratelimit-remaining", "ratelimit-reset"}


async def _seed(api: Api, headers: dict[str, str], count: int) -> None:
    for _ in range(count):
        name = uuid.uuid4().hex[:10]
        await api.create_setup(
            headers, tenant_name=f"t-{name}", domain_identity=f"d-{name}.example.test"
        )


def _stable(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in PER_ANSWER}


async def test_fast_and_routed_answers_are_the_same_bytes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await api.key()
    await _seed(api, headers, 5)
    taken: list[str] = []
    original = fast_list.FastList._answer

    async def spy(self: fast_list.FastList, scope: dict) -> object:
        answer = await original(self, scope)
        taken.append("fast" if answer is not None else "routed")
        return answer

    monkeypatch.setattr(fast_list.FastList, "_answer", spy)

    fast = await api.client.get(URL, params={"limit": "2"}, headers=headers)
    # `limit=02` means 2 to the route; the fast path leaves such a request to it.
    routed = await api.client.get(f"{URL}?limit=02", headers=headers)
    token = fast.json()["continuation_token"]
    fast_next = await api.client.get(
        URL, params={"limit": "2", "continuation_token": token}, headers=headers
    )
    routed_next = await api.client.get(
        f"{URL}?limit=02&continuation_token={token}", headers=headers
    )

    assert taken == ["fast", "routed", "fast", "routed"]
    for one, other in ((fast, routed), (fast_next, routed_next)):
        assert one.status_code == other.status_code == 200
        assert one.content == other.content
        assert _stable(dict(one.headers)) == _stable(dict(other.headers))


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{URL}?limit=0", 422),
        (f"{URL}?continuation_token=bm90LWEtdG9rZW4", 422),
        ("/v1/ws2/channels/ses-setup", 403),
        ("/v1/bad%20id/channels/ses-setup", 422),
    ],
)
async def test_what_the_fast_path_declines_the_route_answers(
    api: Api, path: str, status: int
) -> None:
    headers = await api.key("ws1", [Permission.CHANNEL_VIEW])
    response = await api.client.get(path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_key_is_a_401_from_the_route(api: Api) -> None:
    response = await api.client.get(URL, headers={"Authorization": "Bearer ec_unknown"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
