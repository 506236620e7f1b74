"""The background worker in the test's event loop, beside the API under test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from email_channels.bootstrap import build_worker
from email_channels.worker.loop import Worker
from tests.support.fixtures_api import Api
from tests.support.sandbox import SandboxThread

# The settings of the acceptance runs (DESIGN.md section 8, issue 7).
FAST_WORKER = {
    "check_interval_min": 1.0,
    "check_interval_max": 2.0,
    "webhook_retry_scale": 0.01,
    "webhook_allow_private": True,
    "ses_status_rate": 20.0,
    "webhook_timeout": 2.0,
    "verified_check_interval": 1.0,
    "rate_limit": 0,  # tests poll the API with a deadline
}


@asynccontextmanager
async def running_worker(api: Api) -> AsyncIterator[Worker]:
    """One worker on the API's database, SES and DNS, until the block ends."""
    async with AsyncExitStack() as stack:
        service = api.app.state.ses_setups
        worker = await build_worker(
            api.settings,
            database=api.app.state.database,
            service=service,
            ses=service.ses,
            stack=stack,
        )
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=30)


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, within: float, what: str, interval: float = 0.1
) -> Any:
    """Poll `probe` until it answers something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def bind_sandbox_server(tmp_path_factory: pytest.TempPathFactory, bind_server: Any) -> Any:
    """An emulator whose GetEmailIdentity looks at the test BIND (as SES looks at DNS)."""
    state_path = tmp_path_factory.mktemp("ses-sandbox-dns") / "state.json"
    server = SandboxThread(
        state_path=str(state_path), dns_nameservers=bind_server.nameservers
    ).start()
    yield server
    server.stop()
