"""The fast path of the plain reads (ses_setups/fast_reads.py) answers what the routes answer."""

from __future__ import annotations

import uuid

import pytest

from email_channels.auth.permissions import Permission
from email_channels.ses_setups import fast_reads
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


def _spy(monkeypatch: pytest.MonkeyPatch, taken: list[str]) -> None:
    """Note in `taken` whether each GET was answered fast or by the route."""
    original = fast_reads.FastReads._answer

    async def spy(self: fast_reads.FastReads, scope: dict) -> object:
        answer = await original(self, scope)
        taken.append("fast" if answer is not None else "routed")
        return answer

    monkeypatch.setattr(fast_reads.FastReads, "_answer", spy)


async def test_fast_and_routed_answers_are_the_same_bytes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await api.key()
    await _seed(api, headers, 5)
    taken: list[str] = []
    _spy(monkeypatch, taken)

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


def _without_check_times(body: dict[str, object]) -> dict[str, object]:
    # Each read is a check of its own: when it looked is the one thing that may differ.
    return {
        key: value for key, value in body.items() if key not in ("dns_checked_at", "updated_at")
    }


async def test_fast_and_routed_details_are_the_same(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await api.key()
    setup = await api.create_setup(
        headers, tenant_name="t-fast-detail", domain_identity="fast-detail.example.test"
    )
    taken: list[str] = []
    _spy(monkeypatch, taken)
    url = f"{URL}/{setup['id']}"

    fast = await api.client.get(url, headers=headers)
    # A query parameter the route ignores: the fast path leaves the request to it.
    routed = await api.client.get(f"{url}?view=full", headers=headers)
    missing = f"{URL}/{uuid.uuid4()}"
    fast_404 = await api.client.get(missing, headers=headers)
    routed_404 = await api.client.get(f"{missing}?view=full", headers=headers)

    assert taken == ["fast", "routed", "fast", "routed"]
    assert fast.status_code == routed.status_code == 200
    assert _without_check_times(fast.json()) == _without_check_times(routed.json())
    assert list(fast.json()) == list(routed.json())  # the same keys in the same order
    assert _stable(dict(fast.headers)) == _stable(dict(routed.headers))
    assert fast_404.status_code == routed_404.status_code == 404
    assert fast_404.content == routed_404.content
    assert _stable(dict(fast_404.headers)) == _stable(dict(routed_404.headers))


@pytest.mark.parametrize(
    ("suffix", "status"),
    [
        ("/not-a-uuid", 422),
        (f"/{str(uuid.uuid4()).upper()}", 404),  # not canonical: the route parses it
        ("", 200),
    ],
)
async def test_details_the_fast_path_declines_are_answered_by_the_route(
    api: Api, suffix: str, status: int
) -> None:
    headers = await api.key("ws1", [Permission.CHANNEL_VIEW])
    response = await api.client.get(f"{URL}{suffix}", headers=headers)
    assert response.status_code == status


async def test_a_detail_in_another_workspace_is_a_403_and_without_a_key_a_401(api: Api) -> None:
    headers = await api.key("ws1", [Permission.CHANNEL_VIEW])
    other = await api.client.get(f"/v1/ws2/channels/ses-setup/{uuid.uuid4()}", headers=headers)
    anonymous = await api.client.get(f"{URL}/{uuid.uuid4()}")
    assert other.status_code == 403
    assert anonymous.status_code == 401
