"""The worker's re-checks stored in groups: one statement for the checks that finish together.

A re-check that announces nothing is one UPDATE (`repository.store_check_driver`). The worker
finishes its claimed checks within milliseconds of each other, and one UPDATE each means as
many short transactions, commits and busy PostgreSQL backends at once as the driver's pool
has connections: bursts that the API's requests on the same database wait behind (S7 in
bench/README.md). Here the stores go in groups, as a database's group commit does: the first
store starts a statement at once; the stores that arrive while it runs wait for it and go
together in the next one (`repository.store_checks_driver`), so there is at most one such
statement in flight per process and nobody waits for a timer.

A store answers what `store_check_driver` answers: True when stored, False when the check must
take the long way (its setup is no longer visible, or the check announces after all); an
error of the statement reaches every check of its group, which the re-check job logs (each
claim runs out and its setup is checked again).
"""

from __future__ import annotations

import asyncio
import uuid

from email_channels.db.driver import DriverPool
from email_channels.ses_setups import repository
from email_channels.ses_setups.repository import CheckToStore

MOST_PER_STATEMENT = 200  # ten claims of the worker: a bound on one statement's arrays

_Waiting = tuple[CheckToStore, "asyncio.Future[bool]"]


class CheckStores:
    """Group commit of the background checks' stores, for one process."""

    def __init__(self, driver: DriverPool, *, most: int = MOST_PER_STATEMENT) -> None:
        self._driver = driver
        self._most = most
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        self.statements = 0  # statements run (the tests count them)

    async def store(self, check: CheckToStore) -> bool:
        """Store `check` in the next statement; False when it must take the long way."""
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((check, stored))
        if self._flusher is None or self._flusher.done():  # done: cancelled before it ran
            self._flusher = asyncio.create_task(self._flush())
        # A caller that gives up does not take the statement with it: the others wait on it.
        return await asyncio.shield(stored)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                await self._run(group)
        finally:
            self._flusher = None
            for _, stored in self._waiting:  # only when this task itself was cancelled
                if not stored.done():
                    stored.cancel()
            self._waiting = []

    async def _run(self, group: list[_Waiting]) -> None:
        try:
            self.statements += 1
            done: set[uuid.UUID] = await repository.store_checks_driver(
                self._driver, [check for check, _ in group]
            )
        except asyncio.CancelledError:
            for _, stored in group:
                stored.cancel()
            raise
        except Exception as error:  # the statement failed: each check of the group hears it
            for _, stored in group:
                if not stored.done():
                    stored.set_exception(error)
                    stored.exception()  # a caller that gave up leaves no "never retrieved"
            return
        for check, stored in group:
            if not stored.done():
                stored.set_result(check.setup_id in done)
