"""Assembling the worker from settings: its jobs and what they need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from email_channels.config import Settings
from email_channels.db.engine import Database
from email_channels.idempotency.service import Idempotency
from email_channels.integrations.ses import SesRegions
from email_channels.ses_setups.background import SetupJobs
from email_channels.ses_setups.service import SesSetupService
from email_channels.webhooks.delivery import Deliverer
from email_channels.webhooks.retention import EventRetention
from email_channels.worker.loop import Job, Worker

RECONCILE_EVERY = 600.0
PURGE_EVERY = 900.0
EXPIRE_EVERY = 60.0


def reconcile_grace(settings: Settings) -> float:
    """Reconcile's grace period: that of the `reconcile` command's default."""
    return max(300.0, 6 * settings.upstream_timeout)


async def build_worker(
    settings: Settings,
    *,
    database: Database,
    service: SesSetupService,
    ses: SesRegions,
    stack: AsyncExitStack,
) -> Worker:
    """The worker with every job of section 8; what it opens is closed by `stack`."""
    # How often an idle job looks for due work: a fraction of the shortest interval.
    poll = min(1.0, settings.check_interval_min / 2)
    setups = SetupJobs(
        db=database,
        service=service,
        ses=ses,
        ses_status_rate=settings.ses_status_rate,
        unverified_ttl=settings.unverified_ttl,
        reconcile_older_than=reconcile_grace(settings),
        # A check takes at most DNS_LIFETIME; a claim that outlives it is a dead worker's.
        claim_seconds=3 * settings.dns_lifetime + 5,
    )
    deliverer = Deliverer(
        db=database,
        timeout=settings.webhook_timeout,
        retry_scale=settings.webhook_retry_scale,
        allow_private=settings.webhook_allow_private,
    )
    stack.push_async_callback(deliverer.close)
    idempotency = Idempotency(database)
    retention = EventRetention(db=database, retention=settings.event_retention)
    return Worker(
        [
            Job("recheck", setups.recheck_due, every=poll),
            Job("ses-status", setups.refresh_ses_status, every=poll),
            Job("deliveries", deliverer.deliver_due, every=min(poll, 0.5)),
            Job(
                "expiry",
                setups.expire_unverified,
                every=min(EXPIRE_EVERY, max(poll, settings.unverified_ttl / 10)),
            ),
            Job("reconcile", setups.reconcile, every=RECONCILE_EVERY),
            Job("purge-idempotency", _zero(idempotency.purge_expired), every=PURGE_EVERY),
            Job("purge-events", retention.purge, every=PURGE_EVERY),
        ]
    )


def _zero(purge: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """A job that never asks to run again at once (a purge does all it can in one go)."""

    async def run() -> int:
        await purge()
        return 0

    return run
