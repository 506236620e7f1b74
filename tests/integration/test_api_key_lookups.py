"""Unauthenticated requests cost one key lookup, on every route: the fast reads included."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from email_channels.auth import repository
from email_channels.auth.permissions import Permission
from tests.support.fixtures_api import Api

SETUP = f"/v1/ws1/channels/ses-setup/{uuid.uuid4()}"
ROUTES = [
    ("GET", "/v1/ws1/channels/ses-setup"),  # the fast list
    ("GET", "/v1/ws1/channels/ses-setup?limit=5"),
    ("GET", SETUP),  # the fast detail
    ("GET", f"{SETUP}/zone"),
    ("POST", f"{SETUP}/verify"),
    ("DELETE", SETUP),
    ("POST", "/v1/ws1/channels/ses-setup"),
    ("GET", "/v1/ws1/use-cases"),
    ("GET", "/v1/ws1/webhooks"),
]


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key lookup the repository makes, by either path (SQLAlchemy or the driver)."""
    seen: list[str] = []
    for name in ("find_grant", "find_grant_driver"):
        original = getattr(repository, name)

        async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(args[-1])
            return await _original(*args, **kwargs)

        monkeypatch.setattr(repository, name, counted)
    return seen


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_bad_key_costs_one_lookup_and_is_a_401(
    api: Api, lookups: list[str], method: str, path: str
) -> None:
    body = {"json": {}} if method == "POST" else {}
    headers = {"Authorization": "Bearer not-a-key-of-ours"}

    response = await api.client.request(method, path, headers=headers, **body)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert len(lookups) == 1, lookups


@pytest.mark.parametrize("path", ["/v1/ws1/channels/ses-setup", SETUP])
async def test_a_revoked_key_or_another_workspace_costs_at_most_one_lookup_on_fast_reads(
    api: Api, lookups: list[str], path: str
) -> None:
    revoked = await api.revoked_key()
    lookups.clear()
    assert (await api.client.get(path, headers=revoked)).status_code == 401
    assert len(lookups) == 1, lookups

    foreign = await api.key("ws2", [Permission.CHANNEL_VIEW])
    lookups.clear()
    response = await api.client.get(path, headers=foreign)
    assert response.status_code == 403, response.text
    assert len(lookups) <= 1, lookups  # none when a grant cache still holds the key
