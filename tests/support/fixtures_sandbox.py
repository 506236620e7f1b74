"""SES emulator fixtures: one server per test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox import SandboxThread


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    """The emulator on a free loopback port, persisting to a temporary state file."""
    state_path = tmp_path_factory.mktemp("ses-sandbox") / "state.json"
    server = SandboxThread(state_path=str(state_path)).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxThread) -> SandboxThread:
    """The session's emulator with empty state and no faults."""
    sandbox_server.reset()
    return sandbox_server
