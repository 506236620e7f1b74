"""The emulator writes the changes of concurrent operations together, and only acknowledges
what is on disk: a failed write fails every change made on top of it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from email_channels.sandbox.account import Quotas
from email_channels.sandbox.runtime import SandboxRuntime
from email_channels.sandbox.store import StateStore


def _runtime(path: Path) -> SandboxRuntime:
    return SandboxRuntime.create(
        state_path=str(path), region="us-east-1", account_id="000000000000", quotas=Quotas()
    )


def _stored_tenants(path: Path) -> list[str]:
    store = StateStore(str(path))
    try:
        return list(store.load().tenants)
    finally:
        store.close()


def _tenants(runtime: SandboxRuntime) -> list[str]:
    return [tenant["TenantName"] for tenant in runtime.summary()["tenants"]]


class CountedWrites:
    """Wraps a store's write: counts the transactions; can hold one, or make it fail."""

    def __init__(self, store: StateStore) -> None:
        self._write = store.write
        self.transactions: list[int] = []  # rows per transaction
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.failure: Exception | None = None
        store.write = self  # type: ignore[method-assign]

    def __call__(self, rows: list[Any]) -> None:
        self.entered.set()
        self.release.wait(10)
        if self.failure is not None:
            raise self.failure
        self._write(rows)
        self.transactions.append(len(rows))


async def test_concurrent_changes_are_written_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    runtime = _runtime(path)
    writes = CountedWrites(runtime._store)
    try:
        await runtime.apply("CreateTenant", {"TenantName": "first"})
        await asyncio.gather(
            *(runtime.apply("CreateTenant", {"TenantName": f"t{i}"}) for i in range(5))
        )
    finally:
        runtime.close()
    assert writes.transactions == [1, 5]
    assert _stored_tenants(path) == ["first", "t0", "t1", "t2", "t3", "t4"]


async def test_changes_made_while_a_write_runs_wait_for_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    runtime = _runtime(path)
    writes = CountedWrites(runtime._store)
    writes.release.clear()
    try:
        first = asyncio.create_task(runtime.apply("CreateTenant", {"TenantName": "first"}))
        await asyncio.to_thread(writes.entered.wait, 10)
        later = [
            asyncio.create_task(runtime.apply("CreateTenant", {"TenantName": f"t{i}"}))
            for i in range(3)
        ]
        await asyncio.sleep(0.05)
        assert not first.done()
        assert not any(task.done() for task in later)  # not acknowledged before written
        writes.release.set()
        await asyncio.gather(first, *later)
    finally:
        runtime.close()
    assert writes.transactions == [1, 3]
    assert _stored_tenants(path) == ["first", "t0", "t1", "t2"]


async def test_a_failed_write_fails_the_changes_made_on_it_and_keeps_what_is_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    runtime = _runtime(path)
    writes = CountedWrites(runtime._store)
    try:
        await runtime.apply("CreateTenant", {"TenantName": "kept"})
        writes.release.clear()
        writes.failure = OSError("disk full")
        failing = asyncio.create_task(runtime.apply("CreateTenant", {"TenantName": "lost"}))
        await asyncio.to_thread(writes.entered.wait, 10)
        # Made on top of "lost" while its write runs: it must not outlive it.
        on_top = asyncio.create_task(runtime.apply("CreateTenant", {"TenantName": "on-top"}))
        await asyncio.sleep(0.05)
        writes.release.set()
        outcomes = await asyncio.gather(failing, on_top, return_exceptions=True)
        assert all(isinstance(outcome, OSError) for outcome in outcomes), outcomes
        assert _tenants(runtime) == ["kept"]
        writes.failure = None
        await runtime.apply("CreateTenant", {"TenantName": "lost"})  # the name is free again
        assert _tenants(runtime) == ["kept", "lost"]
    finally:
        runtime.close()
    assert _stored_tenants(path) == ["kept", "lost"]


async def test_a_reset_writes_what_came_before_it_and_nothing_after(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    runtime = _runtime(path)
    try:
        before = asyncio.create_task(runtime.apply("CreateTenant", {"TenantName": "before"}))
        await asyncio.sleep(0)
        await runtime.reset()
        await before
        await runtime.apply("CreateTenant", {"TenantName": "after"})
        assert _tenants(runtime) == ["after"]
    finally:
        runtime.close()
    assert _stored_tenants(path) == ["after"]


@pytest.mark.parametrize("tenants", [0, 3])
async def test_a_runtime_without_a_file_keeps_its_state_in_memory(tenants: int) -> None:
    runtime = SandboxRuntime.create(
        state_path=None, region="us-east-1", account_id="000000000000", quotas=Quotas()
    )
    await asyncio.gather(
        *(runtime.apply("CreateTenant", {"TenantName": f"t{i}"}) for i in range(tenants))
    )
    assert _tenants(runtime) == [f"t{i}" for i in range(tenants)]
