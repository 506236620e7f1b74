"""/readyz uses the pool: any number of probes cost at most one connection, and a database out
of connection slots for new sessions still reads ready while the pool serves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from email_channels.app import create_app
from email_channels.observability.readiness import DatabaseProbe
from tests.support.fixtures_api import PG_ADMIN_DSN, api_settings

POLL_DEADLINE_SECONDS = 30.0


@asynccontextmanager
async def serving(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on `database_url`, started, with its grant listener connected."""
    app = create_app(api_settings(database_url=database_url, ses_mode="aws", rate_limit=0))
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + POLL_DEADLINE_SECONDS
        while not app.state.database.grants.live:  # its connection opens in the background
            assert time.monotonic() < deadline, "the grant listener never connected"
            await asyncio.sleep(0.05)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_fifty_concurrent_probes_add_at_most_one_connection_and_survive_a_full_database(
    database_url: str,
) -> None:
    name = make_url(database_url).database
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(PG_ADMIN_DSN)

    async def connections() -> int:
        count = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        )
        return int(count)

    try:
        async with serving(database_url) as (app, client):
            probe = app.state.readiness
            assert isinstance(probe, DatabaseProbe)
            before = await connections()

            answers = await asyncio.gather(*(client.get("/readyz") for _ in range(50)))

            assert [answer.status_code for answer in answers] == [200] * 50
            assert await connections() - before <= 1
            assert probe.queries == 1  # one query for all fifty

            # No slot for a new session (superusers too): only the pool's connections serve.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            with pytest.raises(asyncpg.PostgresError):
                await asyncpg.connect(dsn)
            asked = probe.queries
            deadline = time.monotonic() + POLL_DEADLINE_SECONDS
            while probe.queries < asked + 2:  # two more queries: past the kept answer
                response = await client.get("/readyz")
                assert response.status_code == 200, response.text
                assert response.json() == {"status": "ready"}
                assert time.monotonic() < deadline, "readyz never asked the database again"
                await asyncio.sleep(0.1)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
