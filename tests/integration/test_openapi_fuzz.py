"""schemathesis against /openapi.json with a valid key: no server error, nothing off-schema."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from email_channels.auth.permissions import Permission
from tests.support.fixtures_api import Api, api_settings
from tests.support.live_server import LiveServer

CONFIG = """
[generation]
max-examples = {examples}

[parameters]
"path.workspace_id" = "ws1"
"""


@pytest.fixture
def live_server(api: Api) -> Iterator[LiveServer]:
    """The same configuration as `api`, served over real HTTP."""
    values: dict[str, Any] = api.settings.model_dump()
    server = LiveServer(api_settings(**values)).start()
    try:
        yield server
    finally:
        server.stop()


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    api: Api, live_server: LiveServer, tmp_path: Path
) -> None:
    headers = await api.key("ws1", list(Permission))
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(examples=25))
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/openapi.json",
        "--header",
        f"Authorization: {headers['Authorization']}",
        "--checks",
        "all",
        "--exclude-checks",
        # A valid-looking body can rightly be refused: a name already taken (409), an unknown
        # id (404/422), a bare public suffix (422). Those answers are in the schema.
        "positive_data_acceptance",
        # A webhook create resolves its URL's host with the system resolver: generated names
        # must not leave this machine. tests/integration/test_webhooks_api.py covers its input.
        "--exclude-operation-id-regex",
        "^create_webhook",
        "--workers",
        "1",
        "--seed",
        "1",
        "--no-color",
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path
    )
    async with asyncio.timeout(300):
        output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()[-8000:]
