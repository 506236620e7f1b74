"""/readyz: 200 while the database answers, 503 while it cannot be reached, 200 once it is back,
all in one process (no restart)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.engine import make_url

from email_channels.app import create_app
from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from email_channels.db.engine import Database
from tests.support.fixtures_api import api_settings
from tests.support.tcp_proxy import TcpProxy

POLL_DEADLINE_SECONDS = 30.0

Outage = Callable[[], Awaitable[None]]


@asynccontextmanager
async def client_for(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on `database_url`, called in-process."""
    app = create_app(api_settings(database_url=database_url, ses_mode="aws", **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def poll_status(
    client: httpx.AsyncClient, path: str, status: int, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET `path` until it answers `status`, within the deadline (no fixed waits)."""
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while True:
        response = await client.get(path, headers=headers)
        if response.status_code == status:
            return response
        assert time.monotonic() < deadline, (path, response.status_code, response.text)


def assert_not_ready(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"]
    assert problem["detail"]


async def test_readyz_answers_ready_when_the_database_answers(database_url: str) -> None:
    async with client_for(database_url) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_needs_no_api_key(database_url: str) -> None:
    async with client_for(database_url) as client:
        response = await client.get("/readyz", headers={"Authorization": "Bearer nonsense"})

    assert response.status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_readyz_is_503_while_postgresql_is_unreachable_and_200_once_it_is_back(
    database_url: str, database: Database
) -> None:
    real = make_url(database_url)
    proxy = TcpProxy(target_host=real.host or "127.0.0.1", target_port=real.port or 5432)
    await proxy.start()
    _, secret = await create_key(
        database, workspace_id="ws1", permissions=[Permission.CHANNEL_VIEW], name="ready"
    )
    headers = {"Authorization": f"Bearer {secret}"}
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        async with client_for(proxied, rate_limit=0) as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/v1/ws1/channels/ses-setup", headers=headers)).is_success

            await proxy.stop()  # the server is gone: refused connections, cut sessions
            # An answer serves the probes of the next second; then the pool's query fails.
            assert_not_ready(await poll_status(client, "/readyz", 503))
            assert_not_ready(await client.get("/readyz"))
            # The API says so too, on the driver's hot paths as on SQLAlchemy's: a 503, never
            # a 500 (the list's key may still be in the grant cache; the detail reads a row).
            for path in ("/v1/ws1/channels/ses-setup", f"/v1/ws1/channels/ses-setup/{uuid4()}"):
                assert_not_ready(await client.get(path, headers=headers))

            await proxy.start()  # back, on the same address
            ready = await poll_status(client, "/readyz", 200)
            assert ready.json() == {"status": "ready"}
            # The request pool recovers too: its dead connections are replaced, not reused.
            await poll_status(client, "/v1/ws1/channels/ses-setup", 200, headers)
    finally:
        await proxy.stop()


async def test_readyz_is_503_while_the_sqlite_file_cannot_be_opened_and_200_once_it_can(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "not-yet"
    url = f"sqlite+aiosqlite:///{directory / 'email-channels.db'}"
    async with client_for(url) as client:
        assert_not_ready(await client.get("/readyz"))

        directory.mkdir()

        ready = await poll_status(client, "/readyz", 200)
        assert ready.json() == {"status": "ready"}
