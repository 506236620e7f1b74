"""The console under test: the app served on loopback with BIND and the SES emulator."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key, revoke_key
from email_channels.db.engine import Database, create_engine
from email_channels.db.migrate import migrate
from tests.support.fixtures_api import api_settings
from tests.support.live_server import LiveServer
from tests.support.sandbox import SandboxThread

# With CONSOLE_SCREENSHOTS=docs/console the walk-through saves a PNG of each page there.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@dataclass(frozen=True)
class ConsoleServer:
    """The served app: its URL, and the database where keys are minted."""

    url: str
    database_url: str

    def _run(self, coroutine: Any) -> Any:
        return run_async(coroutine)

    def key(
        self, workspace: str, permissions: Iterable[Permission] | None = None
    ) -> tuple[uuid.UUID, str]:
        """(key id, secret) of a new key of `workspace` (every permission unless given)."""
        granted = list(Permission) if permissions is None else list(permissions)

        async def mint() -> tuple[uuid.UUID, str]:
            database = Database(create_engine(self.database_url))
            try:
                key, secret = await create_key(
                    database, workspace_id=workspace, permissions=granted, name="console"
                )
            finally:
                await database.dispose()
            return key.id, secret

        result: tuple[uuid.UUID, str] = self._run(mint())
        return result

    def revoke(self, key_id: uuid.UUID) -> None:
        async def run() -> None:
            database = Database(create_engine(self.database_url))
            try:
                await revoke_key(database, key_id)
            finally:
                await database.dispose()

        self._run(run())

    def api(self, secret: str) -> httpx.Client:
        """An HTTP client of the JSON API with this key (for what the console does not do)."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10.0,
            trust_env=False,
        )


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to the end from synchronous test code.

    In a thread of its own: Playwright's sync API keeps an event loop marked running on the
    test's thread, where `asyncio.run` refuses to start another.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def console_server(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_server: SandboxThread,
    dns_nameservers: str,
) -> Iterator[ConsoleServer]:
    """The app on loopback, on SQLite (one backend: the API tests cover both)."""
    path: Path = tmp_path_factory.mktemp("console") / "console.db"
    url = f"sqlite+aiosqlite:///{path}"
    run_async(_migrated(url))
    settings = api_settings(
        database_url=url,
        ses_mode="aws",
        ses_endpoint_url=sandbox_server.endpoint_url,
        dns_nameservers=dns_nameservers,
        dns_authoritative_port=int(dns_nameservers.rsplit(":", 1)[1]),
        dns_timeout=1.0,
        dns_lifetime=2.0,
        upstream_timeout=5.0,
    )
    server = LiveServer(settings).start()
    try:
        yield ConsoleServer(url=server.url, database_url=url)
    finally:
        server.stop()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save a PNG of the page for docs/console when CONSOLE_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
