"""The per-process grant cache: a revoked key is refused at once by every process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from email_channels.app import create_app
from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from tests.support.fixtures_api import Api
from tests.support.processes import run_cli, service_environment

LIST = "/v1/{workspace}/channels/ses-setup"
LISTENER_DEADLINE_SECONDS = 10.0


@asynccontextmanager
async def _second_instance(api: Api) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Another app on the same database, as another worker process would be."""
    app = create_app(api.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


async def _until_listening(*apps: FastAPI) -> None:
    """Poll (with a deadline) until each app's grant cache is in use."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LISTENER_DEADLINE_SECONDS
    while not all(app.state.database.grants.live for app in apps):
        assert loop.time() < deadline, "the grant cache listener did not connect"
        await asyncio.sleep(0.02)


def _requires_postgresql(api: Api) -> None:
    if api.app.state.database.grants is None:
        pytest.skip("the grant cache exists on PostgreSQL only")


async def test_a_key_revoked_by_the_cli_is_refused_at_once_by_every_instance(
    api: Api, tmp_path: Path
) -> None:
    _requires_postgresql(api)
    key, secret = await create_key(
        api.database, workspace_id="ws1", permissions=[Permission.CHANNEL_VIEW], name="k"
    )
    headers = {"Authorization": f"Bearer {secret}"}
    async with _second_instance(api) as (other_app, other):
        await _until_listening(api.app, other_app)
        for client in (api.client, other):  # both now hold the grant
            assert (
                await client.get(LIST.format(workspace="ws1"), headers=headers)
            ).status_code == 200
        for app in (api.app, other_app):
            assert app.state.database.grants.get_by_key_id(key.id) is not None

        env = service_environment(database_url=api.settings.database_url)
        status, _, err = await run_cli("keys", "revoke", str(key.id), env=env, cwd=tmp_path)
        assert status == 0, err

        for client in (api.client, other):
            response = await client.get(LIST.format(workspace="ws1"), headers=headers)
            assert response.status_code == 401
            assert "revoked" in response.json()["detail"]


async def test_a_cached_grant_never_answers_for_another_workspace(api: Api) -> None:
    headers = await api.key("ws1", [Permission.CHANNEL_VIEW])
    if api.app.state.database.grants is not None:
        await _until_listening(api.app)
    assert (await api.client.get(LIST.format(workspace="ws1"), headers=headers)).status_code == 200

    response = await api.client.get(LIST.format(workspace="ws2"), headers=headers)

    assert response.status_code == 403
    assert "another workspace" in response.json()["detail"]


async def test_a_key_revoked_after_use_is_refused_on_the_next_request(api: Api) -> None:
    # On SQLite (no cache) and PostgreSQL (cached, then invalidated) alike.
    key, secret = await create_key(
        api.database, workspace_id="ws1", permissions=[Permission.CHANNEL_VIEW], name="k"
    )
    headers = {"Authorization": f"Bearer {secret}"}
    if api.app.state.database.grants is not None:
        await _until_listening(api.app)
    assert (await api.client.get(LIST.format(workspace="ws1"), headers=headers)).status_code == 200

    env = service_environment(database_url=api.settings.database_url)
    status, _, err = await run_cli("keys", "revoke", str(key.id), env=env, cwd=Path.cwd())
    assert status == 0, err

    assert (await api.client.get(LIST.format(workspace="ws1"), headers=headers)).status_code == 401
