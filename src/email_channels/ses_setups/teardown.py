"""SES deletes of a teardown or a sweep: what a failed one may still remove stays reserved,
and what reconcile or the sweep deletes is logged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from email_channels.db.engine import Database
from email_channels.integrations.ses import maybe_applied
from email_channels.pacing import Pacer
from email_channels.ses_setups import inflight

logger = logging.getLogger(__name__)

# One SES delete: the (kind, name) pairs a late landing of it could remove, and the call.
Delete = tuple[Sequence[tuple[str, str]], Awaitable[None]]


class InflightDeletes:
    """Runs SES deletes; a failed one that SES may have applied reserves its names until
    INFLIGHT_HORIZON after it was sent (inflight.py)."""

    def __init__(self, *, db: Database, inflight_horizon: float) -> None:
        self._db = db
        self._horizon = inflight_horizon

    async def run(self, deletes: Sequence[Delete]) -> None:
        """Run `deletes` concurrently; once all ended, reserve, then raise the first failure."""
        if not deletes:
            return
        sent = time.monotonic()
        outcomes = await asyncio.gather(*(call for _, call in deletes), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        maybe = [
            name
            for (names, _), outcome in zip(deletes, outcomes, strict=True)
            if isinstance(outcome, Exception) and maybe_applied(outcome)
            for name in names
        ]
        # Counted from the send: the time the call took comes off the horizon.
        left = self._horizon - (time.monotonic() - sent)
        if maybe and left > 0:
            async with self._db.transaction() as session:
                await inflight.reserve(session, names=maybe, seconds=left)
            logger.warning("SES deletes may still land: %s reserved for %.0f s", maybe, left)
        if failures:
            raise failures[0]


def log_deletion(*, kind: str, name: str, region: str, tags: dict[str, str]) -> None:
    """The warning line of every SES resource that reconcile or the sweep deletes."""
    logger.warning(
        "deleted SES %s %s in %s (tags: %s)",
        kind,
        name,
        region,
        ", ".join(f"{key}={value}" for key, value in sorted(tags.items())) or "none",
    )


async def paced(read: Awaitable[Any], pace: Pacer | None) -> Any:
    """`read`, started once `pace` (if any) lets it."""
    if pace is not None:
        await pace.wait()
    return await read
