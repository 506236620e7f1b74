"""Databases (SQLite and PostgreSQL, through the real migrations) and the API under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from email_channels.app import create_app
from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key, revoke_key
from email_channels.config import Settings
from email_channels.db.engine import Database, create_engine
from email_channels.db.migrate import migrate
from tests.support.leaks import refuse_upstream_internals

PG_ADMIN_DSN = os.environ.get(
    "EMAIL_CHANNELS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# Children first.
TABLES = (
    "inflight_deletes",
    "deliveries",
    "events",
    "webhooks",
    "idempotency_keys",
    "use_cases",
    "ses_setups",
    "api_keys",
)

# aiobotocore reads credentials from the standard chain in `aws` mode.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


async def _postgres_available() -> bool:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database per backend for the whole session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "email-channels.db"
        url = f"sqlite+aiosqlite:///{path}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
        return
    if not await _postgres_available():
        message = f"PostgreSQL is not reachable at {PG_ADMIN_DSN}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"email_channels_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        host_part = PG_ADMIN_DSN.removeprefix("postgresql://").rsplit("/", 1)[0]
        url = f"postgresql+asyncpg://{host_part}/{name}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The session's database, emptied for this test."""
    db = Database(create_engine(database_url))
    async with db.transaction() as session:
        for table in TABLES:
            await session.execute(text(f"DELETE FROM {table}"))
    yield db
    await db.dispose()


@dataclass
class Api:
    """The API under test and a way to mint keys for it."""

    client: httpx.AsyncClient
    app: FastAPI
    database: Database
    settings: Settings

    async def key(
        self, workspace: str = "ws1", permissions: Iterable[Permission] | None = None
    ) -> dict[str, str]:
        """Headers with a new key of `workspace` (all permissions unless given)."""
        granted = list(Permission) if permissions is None else list(permissions)
        _, secret = await create_key(
            self.database, workspace_id=workspace, permissions=granted, name="test"
        )
        return {"Authorization": f"Bearer {secret}"}

    async def revoked_key(self, workspace: str = "ws1") -> dict[str, str]:
        key, secret = await create_key(
            self.database, workspace_id=workspace, permissions=list(Permission), name="old"
        )
        await revoke_key(self.database, key.id)
        return {"Authorization": f"Bearer {secret}"}

    async def create_setup(
        self, headers: dict[str, str], *, workspace: str = "ws1", **body: Any
    ) -> dict[str, Any]:
        """Create a setup that must succeed; its detail."""
        response = await self.client.post(
            f"/v1/{workspace}/channels/ses-setup", json=body, headers=headers
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def api_settings(**overrides: Any) -> Settings:
    """Settings for a test: no .env file, only what the test says."""
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    """Settings a test module can override (by redefining this fixture)."""
    return {}


@pytest.fixture
async def api(
    database: Database,
    database_url: str,
    sandbox: Any,
    dns_nameservers: str,
    api_overrides: dict[str, Any],
) -> AsyncIterator[Api]:
    """The app on the test database, the emulator over HTTP, and BIND for DNS."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "ses_mode": "aws",
        "ses_endpoint_url": sandbox.endpoint_url,
        "dns_nameservers": dns_nameservers,
        # The test BIND is also the own server of the zone the test domains live in.
        "dns_authoritative_port": int(dns_nameservers.rsplit(":", 1)[1]),
        "dns_timeout": 1.0,
        "dns_lifetime": 2.0,
        "upstream_timeout": 3.0,
        # Reconcile and the sweep pace their SES reads by it: a test's handful need no wait.
        "ses_status_rate": 100.0,
    }
    values.update(api_overrides)
    settings = api_settings(**values)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # Every answer is read for ARNs, account ids and endpoint URLs (DESIGN.md section 1).
        leak_check = refuse_upstream_internals(sandbox.endpoint_url, settings.ses_endpoint_url)
        hooks = {"response": [leak_check]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", event_hooks=hooks
        ) as client:
            yield Api(client=client, app=app, database=database, settings=settings)
