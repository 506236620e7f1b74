"""One emulator instance: its state, store, faults, and the signal that it is shutting down."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from email_channels.sandbox.account import Account, JsonObject, Quotas
from email_channels.sandbox.faults import FaultBook
from email_channels.sandbox.operations import OPERATIONS
from email_channels.sandbox.service_model import SesV2Model
from email_channels.sandbox.state import SesState
from email_channels.sandbox.store import StateStore, rows_for


class SandboxRuntime:
    """Applies SES operations to the state and persists every change before answering."""

    def __init__(self, *, state_path: str | None, account: Account) -> None:
        self.account = account
        self.model = SesV2Model(tuple(OPERATIONS))
        self.faults = FaultBook()
        self._store = StateStore(state_path)
        self._state = self._store.load()
        # Saving awaits a worker thread; the lock keeps snapshots from being written out of order.
        self._lock = asyncio.Lock()
        self._closing = asyncio.Event()

    @classmethod
    def create(
        cls, *, state_path: str | None, region: str, account_id: str, quotas: Quotas
    ) -> SandboxRuntime:
        """A runtime for one emulated account."""
        return cls(state_path=state_path, account=Account(region, account_id, quotas))

    async def apply(self, operation: str, request: JsonObject) -> JsonObject:
        """Run `operation`; a failing one leaves the state untouched.

        Operations change the state in place (no copy: that would cost as much as the state
        holds); its journal says which keys changed, and only those are written.
        """
        spec = OPERATIONS[operation]
        if not spec.mutates:
            return spec.handler(self._state, request, self.account)
        async with self._lock:
            state = self._state
            try:
                response = spec.handler(state, request, self.account)
            except BaseException:
                self._recover()
                raise
            await self._commit(state)
            return response

    async def reset(self) -> None:
        """Empty the state and forget the faults."""
        async with self._lock:
            await asyncio.to_thread(self._store.clear)
            self._state = SesState()
        self.faults.clear()

    def summary(self) -> dict[str, Any]:
        """The state as `GET /_sandbox/state` shows it."""
        state = self._state
        return {
            "tenants": [
                {"TenantName": tenant.name, "TenantArn": tenant.arn}
                for tenant in state.tenants.values()
            ],
            "identities": [
                {
                    "EmailIdentity": identity.name,
                    "DkimTokens": list(identity.dkim_tokens),
                    "MailFromDomain": identity.mail_from_domain,
                }
                for identity in state.identities.values()
            ],
            "associations": [
                {"TenantName": association.tenant_name, "ResourceArn": association.resource_arn}
                for association in state.associations.values()
            ],
        }

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

    async def _commit(self, state: SesState) -> None:
        """Write what the operation changed (a few rows); on failure, return to what is stored."""
        changes = state.journal.take()
        if not changes:
            return
        try:
            await asyncio.to_thread(self._store.write, rows_for(state, changes))
        except Exception:
            self._state = await asyncio.to_thread(self._store.load)
            raise

    def _recover(self) -> None:
        """A handler failed: put back whatever it changed before it did."""
        self._state.journal.undo(self._state)

    def close(self) -> None:
        """Close the state's database."""
        self._store.close()
