"""One emulator instance: its state, store, faults, and the signal that it is shutting down."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from email_channels.sandbox.account import Account, JsonObject, Quotas
from email_channels.sandbox.faults import FaultBook
from email_channels.sandbox.operations import CONTROL_CHANGES, OPERATIONS, Handler
from email_channels.sandbox.service_model import SesV2Model
from email_channels.sandbox.state import SesState
from email_channels.sandbox.store import Row, StateStore, rows_for


class _Batch:
    """The rows of operations applied in memory, written together in one transaction."""

    __slots__ = ("rows", "written")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.rows: list[Row] = []
        self.written: asyncio.Future[None] = loop.create_future()


class SandboxRuntime:
    """Applies SES operations to the state and persists every change before answering.

    Each region has its own state, as in SES; `account` is the default region's.
    """

    def __init__(self, *, state_path: str | None, account: Account) -> None:
        self.account = account
        self.model = SesV2Model(tuple(OPERATIONS))
        self.faults = FaultBook()
        self._store = StateStore(state_path, default_region=account.region)
        self._states = self._store.load_regions()
        self._accounts = {account.region: account}
        # Held by a reset for its whole length: no operation changes the state meanwhile.
        # Operations take it only on their way in (their handlers never wait), so it costs
        # nothing when no reset runs.
        self._lock = asyncio.Lock()
        # One write at a time, batches in the order they were opened.
        self._write_lock = asyncio.Lock()
        self._open: _Batch | None = None  # the batch that changes join until it is written
        self._writers: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    @classmethod
    def create(
        cls, *, state_path: str | None, region: str, account_id: str, quotas: Quotas
    ) -> SandboxRuntime:
        """A runtime for one emulated account."""
        return cls(state_path=state_path, account=Account(region, account_id, quotas))

    async def apply(
        self, operation: str, request: JsonObject, *, region: str | None = None
    ) -> JsonObject:
        """Run `operation` in `region` (default: the account's); answer once its change is
        committed (what that survives: the store's docstring). A failing one leaves the
        state untouched.

        Operations change the state in place (no copy: that would cost as much as the state
        holds); its journal says which keys changed, and only those are written. Changes are
        group-committed: those made while a write is under way are written together in the
        next transaction, so concurrent operations do not queue one transaction each.
        """
        spec = OPERATIONS[operation]
        if not spec.mutates:
            region = region or self.account.region
            return spec.handler(self._state(region), request, self._account(region))
        return await self._change(spec.handler, request, region=region)

    async def control(self, change: str, request: JsonObject, *, region: str | None) -> None:
        """Apply a change of SES's own side (a control route's), persisted like an operation's."""
        await self._change(CONTROL_CHANGES[change], request, region=region)

    async def _change(
        self, handler: Handler, request: JsonObject, *, region: str | None
    ) -> JsonObject:
        region = region or self.account.region
        async with self._lock:
            state = self._state(region)
            try:
                response = handler(state, request, self._account(region))
            except BaseException:
                state.journal.undo(state)  # put back whatever it changed before it failed
                raise
            changes = state.journal.take()
            if not changes:
                return response
            batch = self._join(rows_for(state, changes, region=region))
        # Shielded: a request that goes away must not cancel the write of the others.
        await asyncio.shield(batch.written)
        return response

    def _state(self, region: str) -> SesState:
        state = self._states.get(region)
        if state is None:
            state = self._states[region] = SesState()
        return state

    def _account(self, region: str) -> Account:
        account = self._accounts.get(region)
        if account is None:
            default = self.account
            account = self._accounts[region] = Account(region, default.account_id, default.quotas)
        return account

    async def reset(self) -> None:
        """Empty the state and forget the faults."""
        async with self._lock:
            if self._open is not None:  # changes made before the reset are written first
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._open.written)
            async with self._write_lock:
                await asyncio.to_thread(self._store.clear)
            self._states = {}
        self.faults.clear()

    def summary(self, *, region: str | None = None) -> dict[str, Any]:
        """The state as `GET /_sandbox/state` shows it: every region's, or one region's."""
        states = list(self._states.values()) if region is None else [self._states.get(region)]
        held = [state for state in states if state is not None]
        return {
            "tenants": [
                {"TenantName": tenant.name, "TenantArn": tenant.arn}
                for state in held
                for tenant in state.tenants.values()
            ],
            "identities": [
                {
                    "EmailIdentity": identity.name,
                    "DkimTokens": list(identity.dkim_tokens),
                    "MailFromDomain": identity.mail_from_domain,
                }
                for state in held
                for identity in state.identities.values()
            ],
            "associations": [
                {"TenantName": association.tenant_name, "ResourceArn": association.resource_arn}
                for state in held
                for association in state.associations.values()
            ],
        }

    def regions(self) -> list[str]:
        """The regions that hold state, sorted."""
        return sorted(self._states)

    async def pause(self, seconds: float) -> None:
        """Sleep for an injected delay, cut short when the server shuts down."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    async def wait_closing(self) -> None:
        """Return once the server starts shutting down."""
        await self._closing.wait()

    def begin_shutdown(self) -> None:
        """Release hung and delayed requests so the server can stop promptly."""
        self._closing.set()

    def _join(self, rows: list[Row]) -> _Batch:
        """Add an operation's rows to the open batch, opening one (and its writer) if none is."""
        batch = self._open
        if batch is None:
            batch = self._open = _Batch(asyncio.get_running_loop())
            writer = asyncio.create_task(self._write(batch), name="sandbox-write")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        batch.rows += rows
        return batch

    async def _write(self, batch: _Batch) -> None:
        """Write `batch` in one transaction once the write before it is done."""
        async with self._write_lock:
            if self._open is batch:
                self._open = None  # from here, changes go to the next batch
            if batch.written.done():
                return  # failed with the batch before it
            try:
                await asyncio.to_thread(self._store.write, batch.rows)
            except Exception as exc:
                self._write_failed(batch, exc)
            else:
                batch.written.set_result(None)

    def _write_failed(self, batch: _Batch, exc: Exception) -> None:
        """Fail the batch, and the one open after it (made on top of it); return to what is
        stored. Synchronous, so that no operation runs on the state being replaced."""
        failed = [batch] if self._open is None else [batch, self._open]
        self._open = None
        for each in failed:
            each.written.set_exception(exc)
        self._states = self._store.load_regions()

    def close(self) -> None:
        """Close the state's database."""
        self._store.close()
